using System.Text.Json;
using System.Text.Json.Serialization;
using Notistream.LoadGen.Verification;

namespace Notistream.LoadGen.Reporting;

/// <summary>
/// One figure of a case. <see cref="Better"/> is "higher" or "lower"; "context" for a figure a comparison
/// shows beside the others without a ratio; "none" for one only the run's own table shows.
/// </summary>
public sealed record Metric(string Name, double? Value, string Unit, string Better)
{
    public static Metric Higher(string name, double? value, string unit) => new(name, value, unit, "higher");

    public static Metric Lower(string name, double? value, string unit) => new(name, value, unit, "lower");

    public static Metric Info(string name, double? value, string unit) => new(name, value, unit, "none");

    public static Metric Context(string name, double? value, string unit) => new(name, value, unit, "context");
}

/// <summary>
/// One case of a scenario (e.g. fan-out to 50 subscribers). A case whose delivery check failed, or that
/// hit any other problem, is not <see cref="Valid"/>: its figures are not a result.
/// </summary>
public sealed record ScenarioResult(string Scenario, string Case, DeliveryReport Delivery, IReadOnlyList<Metric> Metrics, IReadOnlyList<string> Problems)
{
    public bool Valid => Delivery.Clean && Problems.Count == 0;
}

/// <summary>Everything one run of the load generator measured against one server.</summary>
public sealed record RunReport(string Target, string Server, DateTimeOffset Started, string Options, IReadOnlyList<ScenarioResult> Results)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public bool Valid => Results.All(r => r.Valid);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RunReport FromJson(string json) =>
        JsonSerializer.Deserialize<RunReport>(json, Json) ?? throw new InvalidDataException("empty report");
}
