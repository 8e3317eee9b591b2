using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Notistream.Gateway.Tests.Infrastructure;

/// <summary>
/// GitHub deliveries as GitHub sends them: a fixture's bytes unchanged, <c>X-GitHub-Event</c>,
/// <c>X-GitHub-Delivery</c>, and <c>X-Hub-Signature-256</c> computed here, independently of the gateway's code.
/// </summary>
internal static class GitHubDeliveries
{
    public const string Secret = "It's a Secret to Everybody";

    public static byte[] Fixture(string file) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "GitHub", file));

    /// <summary><c>push.commits.json</c> → <c>push</c>: fixtures are named after the X-GitHub-Event header.</summary>
    public static string EventOf(string file) => file[..file.IndexOf('.', StringComparison.Ordinal)];

    public static string Sign(byte[] body, string secret = Secret)
        => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public static HttpRequestMessage Json(string eventName, byte[] body, string? signature, string? delivery = null)
        => Request(eventName, body, "application/json", signature, delivery);

    /// <summary>The form shape: one field <c>payload</c> holding the URL-encoded JSON; the signature covers the form body.</summary>
    public static HttpRequestMessage Form(string eventName, byte[] json, string? secret = Secret, string? delivery = null)
    {
        var body = Encoding.ASCII.GetBytes("payload=" + Uri.EscapeDataString(Encoding.UTF8.GetString(json)));
        return Request(eventName, body, "application/x-www-form-urlencoded", secret is null ? null : Sign(body, secret), delivery);
    }

    public static HttpRequestMessage Request(string? eventName, byte[] body, string? contentType, string? signature, string? delivery = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/github") { Content = new ByteArrayContent(body) };
        if (contentType is not null)
        {
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        if (eventName is not null)
        {
            request.Headers.Add("X-GitHub-Event", eventName);
        }

        request.Headers.Add("X-GitHub-Delivery", delivery ?? Guid.NewGuid().ToString());
        request.Headers.UserAgent.ParseAdd("GitHub-Hookshot/87e258b");
        if (signature is not null)
        {
            request.Headers.Add("X-Hub-Signature-256", signature);
        }

        return request;
    }

    /// <summary>Every fixture: the event header, the channel and the summary it must publish.</summary>
    public static TheoryData<string, string, string> Expected => new()
    {
        { "push.commits.json", "ailisp/gcbapp-buildconfig-example",
            "ailisp pushed 5 commits to master: a216838 Merge pull request #3 from byao1276/byao1276-patch-1; 7b5a809 hehe; 7d1b24d Update README.md; … (+2 more)" },
        { "push.branch-create.json", "Codertocat/Hello-World", "Codertocat created branch master with 1 commit: 6113728 Initial commit" },
        { "push.branch-create-empty.json", "bradrydzewski/drone-test-go", "bradrydzewski created branch feature-branch from master at d2b75aa" },
        { "push.branch-delete.json", "bradrydzewski/drone-test-go", "bradrydzewski deleted branch feature-branch" },
        { "push.tag.json", "bradrydzewski/drone-test-go", "bradrydzewski created tag v0.0.1 at d2b75aa" },
        { "push.tag-delete.json", "Codertocat/Hello-World", "Codertocat deleted tag simple-tag" },
        { "push.forced.json", "sbansal1999/zulip", "sbansal1999 force-pushed 1 commit to temp: 971d76c log: Add important.txt which is useful for logging errors." },
        { "push.organization.json", "Codertocat/Hello-World", "Codertocat deleted tag simple-tag" },
        { "ping.repo.json", "Octocoders/Hello-World", "GitHub webhook 109948940 is set up for Octocoders/Hello-World: Anything added dilutes everything else." },
        { "ping.organization.json", "Octocoders", "GitHub webhook 109948940 is set up for organization Octocoders: Anything added dilutes everything else." },
        { "issues.opened.json", "Codertocat/Hello-World", "Codertocat opened issue #1: Spelling error in the README file" },
        { "issues.opened-organization.json", "Codertocat/Hello-World", "Codertocat opened issue #1: Spelling error in the README file" },
        { "issue_comment.created.json", "Codertocat/Hello-World",
            "Codertocat commented on issue #1 (Spelling error in the README file): You are totally right! I'll get this fixed right away." },
        { "issue_comment.created-organization.json", "Codertocat/Hello-World",
            "Codertocat commented on issue #1 (Spelling error in the README file): You are totally right! I'll get this fixed right away." },
        { "pull_request.opened.json", "Codertocat/Hello-World", "Codertocat opened pull request #2: Update the README with new information. (changes → master)" },
        { "pull_request.closed-merged.json", "ailisp/gcbapp-buildconfig-example", "ailisp merged pull request #3 into master: Byao1276 patch 1" },
        { "pull_request.closed-unmerged.json", "Codertocat/Hello-World", "Codertocat closed pull request #2 without merging: Update the README with new information." },
        { "release.published.json", "Codertocat/Hello-World", "Codertocat published release 0.0.1" },
        { "workflow_run.completed.json", "octo-org/octo-repo", "Workflow test run #163 succeeded on master: ci(action): update actions/setup-node digest to 8c91899" },
        { "star.created.json", "Codertocat/Hello-World", "Codertocat starred Codertocat/Hello-World (1 star)" },
    };
}
