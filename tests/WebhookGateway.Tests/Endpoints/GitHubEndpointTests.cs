using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.Tests.Infrastructure;
using static Notistream.Gateway.Tests.Endpoints.PublishEndpointTests;
using static Notistream.Gateway.Tests.Infrastructure.GitHubDeliveries;

namespace Notistream.Gateway.Tests.Endpoints;

/// <summary><c>POST /github</c> through the real pipeline: every fixture, every refusal, the Octokit failings worked around.</summary>
public sealed class GitHubEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<GatewayHost> StartAsync(RecordingPublisher publisher, params string[] args)
        => GatewayHost.StartAsync(publisher, ["--github-secret", Secret, .. args]);

    [Theory]
    [MemberData(nameof(Expected), MemberType = typeof(GitHubDeliveries))]
    public async Task Every_fixture_signed_as_json_is_published_as_its_summary(string file, string channel, string summary)
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Published(4) };
        await using var gateway = await StartAsync(publisher);
        var body = Fixture(file);

        using var response = await gateway.Client.SendAsync(Json(EventOf(file), body, Sign(body)), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(channel, answer.GetProperty("channel").GetString());
        Assert.Equal(summary, answer.GetProperty("summary").GetString());
        Assert.Equal(4, answer.GetProperty("receivers").GetInt64());
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("id").ValueKind); // the recording publisher keeps no history
        var attempt = Assert.Single(publisher.Attempts);
        Assert.Equal((channel, summary, "github:" + EventOf(file)), (attempt.Channel, Encoding.UTF8.GetString(attempt.Message), attempt.Source));
        // Every fixture goes through Octokit's typed model: no fallback was needed.
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.EventId.Id == 3033);
    }

    [Theory]
    [MemberData(nameof(Expected), MemberType = typeof(GitHubDeliveries))]
    public async Task Every_fixture_delivered_form_encoded_is_published_as_its_summary(string file, string channel, string summary)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);

        using var response = await gateway.Client.SendAsync(Form(EventOf(file), Fixture(file)), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var attempt = Assert.Single(publisher.Attempts);
        Assert.Equal((channel, summary), (attempt.Channel, Encoding.UTF8.GetString(attempt.Message)));
    }

    [Fact]
    public async Task Missing_signature_is_401_and_publishes_nothing()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);

        using var json = await gateway.Client.SendAsync(Json("push", Fixture("push.commits.json"), signature: null), Ct);
        using var form = await gateway.Client.SendAsync(Form("push", Fixture("push.commits.json"), secret: null), Ct);

        await AssertProblem(json, HttpStatusCode.Unauthorized, "X-Hub-Signature-256 header is missing");
        await AssertProblem(form, HttpStatusCode.Unauthorized, "X-Hub-Signature-256 header is missing");
        Assert.Empty(publisher.Attempts);
    }

    [Theory]
    [InlineData("wrong secret")]
    [InlineData("tampered body")]
    [InlineData("sha1 header")]
    [InlineData("truncated")]
    [InlineData("not hex")]
    [InlineData("no prefix")]
    public async Task Wrong_signature_is_401_and_publishes_nothing(string how)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);
        var body = Fixture("push.commits.json");
        var good = Sign(body);
        var (sent, signature) = how switch
        {
            "wrong secret" => (body, Sign(body, "another secret")),
            "tampered body" => (Tamper(body), good),
            "sha1 header" => (body, "sha1=" + good[7..47]),
            "truncated" => (body, good[..^2]),
            "not hex" => (body, good[..^2] + "zz"),
            _ => (body, good[7..]),
        };

        using var response = await gateway.Client.SendAsync(Json("push", sent, signature), Ct);

        await AssertProblem(response, HttpStatusCode.Unauthorized, "signature does not match");
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Signature_hex_in_upper_case_is_accepted()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);
        var body = Fixture("ping.repo.json");

        using var response = await gateway.Client.SendAsync(Json("ping", body, "sha256=" + Sign(body)[7..].ToUpperInvariant()), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Without_a_configured_secret_every_delivery_is_refused_and_start_up_says_so()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);
        var body = Fixture("ping.repo.json");

        using var signed = await gateway.Client.SendAsync(Json("ping", body, Sign(body)), Ct);
        using var unsigned = await gateway.Client.SendAsync(Json("ping", body, signature: null), Ct);

        await AssertProblem(signed, HttpStatusCode.Forbidden, "GITHUB_WEBHOOK_SECRET is not set");
        await AssertProblem(unsigned, HttpStatusCode.Forbidden, "GITHUB_WEBHOOK_SECRET is not set");
        Assert.Empty(publisher.Attempts);
        Assert.Contains(gateway.Logs.Entries, e => e.EventId.Id == 3020 && e.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task Unknown_event_and_unpublished_actions_get_202_and_a_log_line_without_publishing()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);
        var unknownEvent = """{"action":"done","sender":{"login":"a"},"repository":{"full_name":"o/r"}}"""u8.ToArray();
        var labeled = SetAction(Fixture("issues.opened.json"), "labeled");
        var unknownAction = SetAction(Fixture("issues.opened.json"), "teleported");

        using var first = await gateway.Client.SendAsync(Json("space_invasion", unknownEvent, Sign(unknownEvent)), Ct);
        using var second = await gateway.Client.SendAsync(Json("issues", labeled, Sign(labeled)), Ct);
        using var third = await gateway.Client.SendAsync(Json("issues", unknownAction, Sign(unknownAction)), Ct);

        foreach (var response in new[] { first, second, third })
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.False((await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("published").GetBoolean());
        }

        Assert.Empty(publisher.Attempts);
        Assert.Equal(3, gateway.Logs.Entries.Count(e => e.EventId.Id == 3032));
    }

    [Theory]
    [InlineData("issues", "issues.opened.json", "Codertocat/Hello-World", "Codertocat opened issue #1: Spelling error in the README file")]
    [InlineData("push", "push.commits.json", "ailisp/gcbapp-buildconfig-example",
        "ailisp pushed 5 commits to master: a216838 Merge pull request #3 from byao1276/byao1276-patch-1")]
    [InlineData("pull_request", "pull_request.closed-merged.json", "ailisp/gcbapp-buildconfig-example", "ailisp merged pull request #3: Byao1276 patch 1")]
    public async Task Older_payload_shape_that_octokit_refuses_is_still_published_with_a_fallback_summary(string eventName, string file, string channel, string summary)
    {
        // Payloads from before GitHub added node_id: Octokit's strict model refuses them, and its
        // MapGitHubWebhooks answers 500.
        var json = JsonNode.Parse(Fixture(file))!;
        json["repository"]!.AsObject().Remove("node_id");
        var body = Encoding.UTF8.GetBytes(json.ToJsonString());
        Assert.Contains("node_id", Assert.ThrowsAny<JsonException>(() => new ProbeProcessor().Probe(eventName, Encoding.UTF8.GetString(body))).Message, StringComparison.Ordinal);
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);

        using var response = await gateway.Client.SendAsync(Json(eventName, body, Sign(body)), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var attempt = Assert.Single(publisher.Attempts);
        Assert.Equal((channel, summary), (attempt.Channel, Encoding.UTF8.GetString(attempt.Message)));
        Assert.Contains(gateway.Logs.Entries, e => e.EventId.Id == 3033);
    }

    [Fact]
    public async Task Redelivery_of_a_published_delivery_is_200_and_not_published_twice()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);
        var body = Fixture("star.created.json");

        using var first = await gateway.Client.SendAsync(Json("star", body, Sign(body), delivery: "d-1"), Ct);
        using var again = await gateway.Client.SendAsync(Json("star", body, Sign(body), delivery: "d-1"), Ct);
        using var other = await gateway.Client.SendAsync(Json("star", body, Sign(body), delivery: "d-2"), Ct);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        Assert.Equal(2, publisher.Attempts.Count);
    }

    [Fact]
    public async Task Delivery_that_failed_to_publish_is_published_when_github_redelivers_it()
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Unavailable("not connected to the pub/sub server") };
        await using var gateway = await StartAsync(publisher);
        var body = Fixture("release.published.json");

        using var failed = await gateway.Client.SendAsync(Json("release", body, Sign(body), delivery: "d-9"), Ct);
        publisher.Outcome = () => PublishOutcome.Published(1);
        using var redelivered = await gateway.Client.SendAsync(Json("release", body, Sign(body), delivery: "d-9"), Ct);

        await AssertProblem(failed, HttpStatusCode.ServiceUnavailable, "not published");
        Assert.NotNull(failed.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Created, redelivered.StatusCode);
        Assert.Equal(2, publisher.Attempts.Count);
    }

    [Fact]
    public async Task Malformed_deliveries_are_400_and_other_content_types_415_after_the_signature_check()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);
        var notJson = "{\"zen\": "u8.ToArray();
        var array = "[1,2]"u8.ToArray();
        var noPayload = "other=1"u8.ToArray();
        var xml = "<ping/>"u8.ToArray();

        using var noEvent = await gateway.Client.SendAsync(Request(null, Fixture("ping.repo.json"), "application/json", Sign(Fixture("ping.repo.json"))), Ct);
        using var badJson = await gateway.Client.SendAsync(Json("ping", notJson, Sign(notJson)), Ct);
        using var notObject = await gateway.Client.SendAsync(Json("ping", array, Sign(array)), Ct);
        using var formWithoutPayload = await gateway.Client.SendAsync(Request("ping", noPayload, "application/x-www-form-urlencoded", Sign(noPayload)), Ct);
        using var xmlSigned = await gateway.Client.SendAsync(Request("ping", xml, "application/xml", Sign(xml)), Ct);
        using var xmlUnsigned = await gateway.Client.SendAsync(Request("ping", xml, "application/xml", null), Ct);

        await AssertProblem(noEvent, HttpStatusCode.BadRequest, "X-GitHub-Event header is missing");
        await AssertProblem(badJson, HttpStatusCode.BadRequest, "not valid JSON");
        await AssertProblem(notObject, HttpStatusCode.BadRequest, "not a JSON object");
        await AssertProblem(formWithoutPayload, HttpStatusCode.BadRequest, "'payload' field");
        await AssertProblem(xmlSigned, HttpStatusCode.UnsupportedMediaType, "application/json or application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.Unauthorized, xmlUnsigned.StatusCode);
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Delivery_over_the_size_limit_is_413()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher, "--MaxGitHubBodyBytes", "4096");
        var body = Fixture("push.commits.json");
        Assert.True(body.Length > 4096);

        using var response = await gateway.Client.SendAsync(Json("push", body, Sign(body)), Ct);

        await AssertProblem(response, HttpStatusCode.RequestEntityTooLarge, "4096 bytes");
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Github_endpoint_does_not_need_the_publish_token()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher, "--token", "t0ken");
        var body = Fixture("ping.repo.json");

        using var response = await gateway.Client.SendAsync(Json("ping", body, Sign(body)), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private static byte[] Tamper(byte[] body)
    {
        var copy = (byte[])body.Clone();
        var at = Array.IndexOf(copy, (byte)'m');
        copy[at] = (byte)'M';
        return copy;
    }

    private static byte[] SetAction(byte[] body, string action)
    {
        var json = JsonNode.Parse(body)!;
        json["action"] = action;
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>Octokit's own deserializer, to show the fallback test's payload really is one Octokit refuses.</summary>
    private sealed class ProbeProcessor : Octokit.Webhooks.WebhookEventProcessor
    {
        public Octokit.Webhooks.WebhookEvent Probe(string eventName, string json)
            => DeserializeWebhookEvent(new Octokit.Webhooks.WebhookHeaders { Event = eventName }, json);
    }
}
