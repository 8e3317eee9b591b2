using System.Text.Json;
using Octokit.Webhooks;
using Octokit.Webhooks.Events;

namespace Notistream.Gateway.GitHub;

/// <summary>A notification made from a GitHub delivery: <see cref="Text"/> goes to <see cref="Channel"/>.</summary>
internal sealed record GitHubSummary(string Channel, string Text);

/// <summary>Either a summary, or why the delivery is acknowledged without one; <see cref="FallbackCause"/> says Octokit's model refused the payload.</summary>
internal readonly record struct SummaryResult(GitHubSummary? Summary, string? IgnoredReason, Exception? FallbackCause);

/// <summary>
/// Turns a verified GitHub delivery into a one-line summary on channel <c>owner/repo</c> (or the
/// organization's login for organization-level events). Octokit's typed events give the
/// summary; a payload Octokit's strict model refuses (older shapes, fields it marks required)
/// is summarised from the raw JSON instead, so a well-formed delivery never fails.
/// Stateless and thread-safe.
/// </summary>
internal sealed partial class GitHubEventSummarizer
{
    private readonly OctokitEventReader _reader = new();

    public SummaryResult Summarize(string eventName, string? delivery, string json, JsonElement root)
    {
        var action = String(root, "action");
        if (GitHubEvents.WhyNotPublished(eventName, action) is { } reason)
        {
            return new SummaryResult(null, reason, null);
        }

        if (ChannelOf(root) is not { } channel)
        {
            return new SummaryResult(null, "the payload names no repository or organization to use as the channel", null);
        }

        string? text;
        Exception? cause = null;
        try
        {
            var webhookEvent = _reader.Read(new WebhookHeaders { Event = eventName, Delivery = delivery }, json);
            text = Typed(webhookEvent, channel);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or FormatException or ArgumentException or NullReferenceException)
        {
            cause = ex;
            text = null;
        }

        text ??= Fallback(eventName, action, channel, root);
        return new SummaryResult(new GitHubSummary(channel, SummaryText.Finish(text)), null, cause);
    }

    /// <summary><c>repository.full_name</c>, else <c>organization.login</c>.</summary>
    internal static string? ChannelOf(JsonElement root)
        => NonEmpty(String(Property(root, "repository"), "full_name"))
        ?? NonEmpty(String(Property(root, "organization"), "login"));

    private static string? Typed(WebhookEvent webhookEvent, string channel) => webhookEvent switch
    {
        PushEvent e => Push(e),
        PingEvent e => $"GitHub webhook {e.HookId} is set up for {(e.Repository is null ? "organization " : "")}{channel}: {e.Zen}",
        IssuesEvent e => $"{Who(e)} {e.Action} issue #{e.Issue.Number}: {e.Issue.Title}",
        IssueCommentEvent e => $"{Who(e)} commented on {(e.Issue.PullRequest is null ? "issue" : "pull request")} #{e.Issue.Number} ({e.Issue.Title}): {SummaryText.Excerpt(e.Comment.Body)}",
        PullRequestEvent e => PullRequest(e),
        ReleaseEvent e => Release(e),
        WorkflowRunEvent e => WorkflowRun(e),
        StarEvent e => $"{Who(e)} starred {channel} ({SummaryText.Count(e.Repository?.StargazersCount ?? 0, "star")})",
        _ => null,
    };

    private static string Who(WebhookEvent e) => NonEmpty(e.Sender?.Login) ?? "someone";

    private static string Push(PushEvent e)
    {
        var who = NonEmpty(e.Sender?.Login) ?? NonEmpty(e.Pusher?.Name) ?? "someone";
        var name = SummaryText.RefName(e.Ref);
        var kind = SummaryText.IsTag(e.Ref) ? "tag" : "branch";
        var commits = (e.Commits ?? []).Select(c => ((string?)c.Id, (string?)c.Message)).ToList();
        var head = SummaryText.ShortSha(e.After);
        if (e.Deleted)
        {
            return $"{who} deleted {kind} {name}";
        }

        if (kind == "tag")
        {
            return e.Created ? $"{who} created tag {name} at {head}" : $"{who} moved tag {name} to {head}";
        }

        if (e.Created)
        {
            var from = NonEmpty(e.BaseRef) is { } baseRef ? $" from {SummaryText.RefName(baseRef)}" : "";
            return commits.Count == 0
                ? $"{who} created branch {name}{from} at {head}"
                : $"{who} created branch {name}{from} with {SummaryText.Count(commits.Count, "commit")}: {SummaryText.CommitList(commits)}";
        }

        var verb = e.Forced ? "force-pushed" : "pushed";
        return commits.Count == 0
            ? $"{who} {verb} {name} to {head}"
            : $"{who} {verb} {SummaryText.Count(commits.Count, "commit")} to {name}: {SummaryText.CommitList(commits)}";
    }

    private static string PullRequest(PullRequestEvent e)
    {
        var pr = e.PullRequest;
        var number = e.Number != 0 ? e.Number : pr.Number;
        var who = Who(e);
        return e.Action switch
        {
            "opened" => $"{who} opened {(pr.Draft ? "draft " : "")}pull request #{number}: {pr.Title} ({pr.Head?.Ref} → {pr.Base?.Ref})",
            "closed" when pr.Merged == true || pr.MergedAt is not null =>
                $"{NonEmpty(pr.MergedBy?.Login) ?? who} merged pull request #{number} into {pr.Base?.Ref}: {pr.Title}",
            "closed" => $"{who} closed pull request #{number} without merging: {pr.Title}",
            "ready_for_review" => $"{who} marked pull request #{number} ready for review: {pr.Title}",
            _ => $"{who} {e.Action} pull request #{number}: {pr.Title}",
        };
    }

    private static string Release(ReleaseEvent e)
    {
        var release = e.Release;
        var tag = NonEmpty(release.TagName) ?? "?";
        var label = NonEmpty(release.Name) is { } name && name != tag ? $"{name} ({tag})" : tag;
        return $"{Who(e)} published {(release.Prerelease ? "pre-release" : "release")} {label}";
    }

    private static string WorkflowRun(WorkflowRunEvent e)
    {
        var run = e.WorkflowRun;
        var name = NonEmpty(run.Name) ?? NonEmpty(e.Workflow?.Name);
        var title = name is null ? $"Workflow run #{run.RunNumber}" : $"Workflow {name} run #{run.RunNumber}";
        var outcome = Conclusion(run.Conclusion?.StringValue);
        var branch = NonEmpty(run.HeadBranch) is { } b ? $" on {b}" : "";
        var subject = NonEmpty(run.DisplayTitle) is { } d ? $": {SummaryText.FirstLine(d)}" : "";
        return $"{title} {outcome}{branch}{subject}";
    }

    internal static string Conclusion(string? conclusion) => conclusion switch
    {
        "success" => "succeeded",
        "failure" => "failed",
        "cancelled" => "was cancelled",
        "timed_out" => "timed out",
        "skipped" => "was skipped",
        "action_required" => "needs action",
        null or "" => "completed",
        _ => $"completed ({conclusion})",
    };

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private sealed class OctokitEventReader : WebhookEventProcessor
    {
        public WebhookEvent Read(WebhookHeaders headers, string body) => DeserializeWebhookEvent(headers, body);
    }
}
