using System.Globalization;
using System.Text.Json;

namespace Notistream.Gateway.GitHub;

/// <summary>
/// The summary when Octokit's model refuses a payload: read from the raw JSON, every field
/// optional. Less detailed than the typed summary, never an error.
/// </summary>
internal sealed partial class GitHubEventSummarizer
{
    internal static string Fallback(string eventName, string? action, string channel, JsonElement root)
    {
        var who = String(Property(root, "sender"), "login") ?? String(Property(root, "pusher"), "name") ?? "someone";
        switch (eventName)
        {
            case "push":
                var gitRef = String(root, "ref");
                var verb = Bool(root, "deleted") ? "deleted" : Bool(root, "forced") ? "force-pushed" : "pushed to";
                return $"{who} {verb} {(SummaryText.IsTag(gitRef) ? "tag" : "branch")} {SummaryText.RefName(gitRef)} in {channel}";
            case "ping":
                return $"GitHub webhook is set up for {channel}: {String(root, "zen")}";
        }

        var (noun, subjectProperty) = eventName switch
        {
            "issues" => ("issue", "issue"),
            "issue_comment" => ("a comment on issue", "issue"),
            "pull_request" => ("pull request", "pull_request"),
            "release" => ("release", "release"),
            "workflow_run" => ("workflow run", "workflow_run"),
            _ => (eventName.Replace('_', ' '), eventName),
        };
        var subject = Property(root, subjectProperty);
        var number = Number(subject, "number") ?? Number(root, "number");
        var title = String(subject, "title") ?? String(subject, "name") ?? String(subject, "tag_name");
        var text = $"{who} {action ?? "sent"} {noun}";
        if (number is { } n)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" #{n}");
        }

        if (!string.IsNullOrWhiteSpace(title))
        {
            text += $": {title}";
        }

        return $"{text} ({channel})";
    }

    private static JsonElement Property(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static string? String(JsonElement element, string name)
        => Property(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static bool Bool(JsonElement element, string name) => Property(element, name).ValueKind == JsonValueKind.True;

    private static long? Number(JsonElement element, string name)
        => Property(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out var n) ? n : null;
}
