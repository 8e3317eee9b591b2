namespace Notistream.Gateway.GitHub;

/// <summary>
/// Which deliveries become a notification. One human event, one notification: GitHub sends
/// <c>release</c> as created + published + released, a new branch as <c>create</c> and <c>push</c>,
/// so only one of each is published. Everything else is acknowledged (202) and logged.
/// </summary>
internal static class GitHubEvents
{
    private static readonly Dictionary<string, string[]?> _published = new(StringComparer.Ordinal)
    {
        // null: the event has no action, every delivery is published.
        ["push"] = null,
        ["ping"] = null,
        ["issues"] = ["opened", "closed", "reopened"],
        ["issue_comment"] = ["created"],
        ["pull_request"] = ["opened", "closed", "reopened", "ready_for_review"],
        ["release"] = ["published"],
        ["workflow_run"] = ["completed"],
        ["star"] = ["created"],
    };

    /// <summary>Null when the delivery is published; otherwise why not, for the log and the 202 body.</summary>
    public static string? WhyNotPublished(string eventName, string? action)
    {
        if (!_published.TryGetValue(eventName, out var actions))
        {
            return $"event '{eventName}' is not turned into notifications";
        }

        if (actions is null || (action is not null && actions.Contains(action, StringComparer.Ordinal)))
        {
            return null;
        }

        return action is null
            ? $"event '{eventName}' has no action"
            : $"action '{action}' of event '{eventName}' is not turned into notifications";
    }
}
