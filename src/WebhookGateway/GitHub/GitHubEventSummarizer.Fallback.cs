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
                return Push(who, root);
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
        var verb = action == "closed" && Bool(subject, "merged") ? "merged" : action ?? "sent";
        var text = $"{who} {verb} {noun}";
        if (number is { } n)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" #{n}");
        }

        if (!string.IsNullOrWhiteSpace(title))
        {
            text += $": {title}";
        }

        return text;
    }

    private static string Push(string who, JsonElement root)
    {
        var gitRef = String(root, "ref");
        var name = SummaryText.RefName(gitRef);
        var kind = SummaryText.IsTag(gitRef) ? "tag" : "branch";
        if (Bool(root, "deleted"))
        {
            return $"{who} deleted {kind} {name}";
        }

        var verb = Bool(root, "forced") ? "force-pushed" : "pushed";
        var commits = Property(root, "commits") is { ValueKind: JsonValueKind.Array } list ? list.GetArrayLength() : 0;
        var text = commits > 0 ? $"{who} {verb} {SummaryText.Count(commits, "commit")} to {name}" : $"{who} {verb} {kind} {name}";
        var head = Property(root, "head_commit");
        return String(head, "id") is { } id ? $"{text}: {SummaryText.ShortSha(id)} {SummaryText.FirstLine(String(head, "message"))}" : text;
    }

    private static JsonElement Property(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static string? String(JsonElement element, string name)
        => Property(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static bool Bool(JsonElement element, string name) => Property(element, name).ValueKind == JsonValueKind.True;

    private static long? Number(JsonElement element, string name)
        => Property(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out var n) ? n : null;
}
