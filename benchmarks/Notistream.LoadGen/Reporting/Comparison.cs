using System.Globalization;
using System.Text;

namespace Notistream.LoadGen.Reporting;

/// <summary>
/// Medians of repeated runs against a baseline server and a candidate, side by side, as a markdown table
/// with the ratio candidate/baseline and which one is better (higher or lower, as the metric says),
/// then each server's lowest and highest run, so a median that sits between two modes shows as one.
/// Runs in which a case lost messages do not count for that case.
/// </summary>
public static class Comparison
{
    /// <param name="names">The columns' names (e.g. single-node and cross-node runs of one server); by default each side's server.</param>
    public static string Format(IReadOnlyList<RunReport> baseline, IReadOnlyList<RunReport> candidate, (string Baseline, string Candidate)? names = null)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(candidate);
        var baseName = names?.Baseline ?? Name(baseline, "baseline");
        var candName = names?.Candidate ?? Name(candidate, "candidate");
        var keys = candidate.Concat(baseline)
            .SelectMany(r => r.Results)
            .SelectMany(r => r.Metrics.Where(m => m.Better != "none").Select(m => (r.Case, m.Name, m.Unit, m.Better)))
            .Distinct()
            .ToList();

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"| case | metric | unit | {baseName} | {candName} | {candName} / {baseName} | | {baseName} runs | {candName} runs |").AppendLine();
        text.AppendLine("| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: |");
        foreach (var (caseName, metric, unit, better) in keys)
        {
            var b = Median(baseline, caseName, metric, out var bNote, out var bRange);
            var c = Median(candidate, caseName, metric, out var cNote, out var cRange);
            var ratio = b is > 0 && c is { } cv ? cv / b : (double?)null;
            var directed = better is "higher" or "lower";
            var verdict = ratio is null || !directed ? "" : Verdict(ratio.Value, better);
            var ratioText = !directed ? "" : ratio is null ? "n/a" : ratio.Value.ToString("F2", CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture,
                $"| {caseName} | {metric} | {unit} | {TableWriter.Number(b)}{bNote} | {TableWriter.Number(c)}{cNote} | {ratioText} | {verdict} | {bRange} | {cRange} |")
                .AppendLine();
        }

        return text.ToString();
    }

    /// <summary>True when every case of every run is valid.</summary>
    public static bool AllValid(IEnumerable<RunReport> reports) => reports.All(r => r.Valid);

    private static string Name(IReadOnlyList<RunReport> runs, string fallback) =>
        runs.Select(r => r.Server.Split(' ')[0]).FirstOrDefault() ?? fallback;

    private static string Verdict(double ratio, string better)
    {
        var gain = better == "lower" ? 1 / ratio : ratio;
        return gain switch
        {
            >= 1.02 => $"better {gain.ToString("F2", CultureInfo.InvariantCulture)}x",
            <= 0.98 => $"worse {(1 / gain).ToString("F2", CultureInfo.InvariantCulture)}x",
            _ => "same",
        };
    }

    /// <summary>The median of the valid runs; <paramref name="range"/> is "lowest–highest" (one value for one run).</summary>
    private static double? Median(IReadOnlyList<RunReport> runs, string caseName, string metric, out string note, out string range)
    {
        var cases = runs.SelectMany(r => r.Results).Where(r => r.Case == caseName).ToList();
        var values = cases.Where(r => r.Valid)
            .Select(r => r.Metrics.FirstOrDefault(m => m.Name == metric)?.Value)
            .OfType<double>()
            .Order()
            .ToList();
        var invalid = cases.Count(r => !r.Valid);
        note = invalid == 0 ? "" : values.Count == 0 ? " INVALID" : $" ({invalid} of {cases.Count} runs INVALID)";
        if (values.Count == 0)
        {
            range = "";
            return null;
        }

        var (low, high) = (TableWriter.Number(values[0]), TableWriter.Number(values[^1]));
        range = low == high ? low : $"{low}–{high}";

        var mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }
}
