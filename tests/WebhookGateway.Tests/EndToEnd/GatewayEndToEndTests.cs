using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;
using static Notistream.Gateway.Tests.Infrastructure.GitHubDeliveries;

namespace Notistream.Gateway.Tests.EndToEnd;

/// <summary>
/// HTTP in, RESP out, over real sockets: the gateway's real StackExchange.Redis connection to a
/// real pub/sub server, and a raw-socket subscriber that sees the bytes the server pushes. Run
/// against redis-server and against our own server: any Redis must work as the back end.
/// </summary>
public abstract class GatewayEndToEndTests
{
    private const string Password = "correct horse battery staple";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected abstract Task<IPubSubServer> StartServerAsync(int port = 0, string? password = null);

    /// <summary>A server started with these redis-server arguments (e.g. <c>--user</c> lines).</summary>
    private protected abstract Task<IPubSubServer> StartServerWithArgsAsync(params string[] args);

    /// <summary>Our server keeps channel history and knows NOTI.PUBLISH; Redis knows neither.</summary>
    private protected abstract bool KeepsHistory { get; }

    [Fact]
    public async Task A_publish_answers_with_the_id_its_message_is_kept_under_or_a_made_up_one_without_history()
    {
        await using var server = await StartServerAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port);
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, null, "alerts");

        using var response = await gateway.Client.PostAsync("/alerts", new StringContent("disk full"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(("alerts", 1L), (answer.GetProperty("channel").GetString(), answer.GetProperty("receivers").GetInt64()));
        Assert.Equal("disk full", await subscriber.NextTextAsync("alerts"));
        await using var reader = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout();
        if (KeepsHistory)
        {
            var id = answer.GetProperty("id").GetString()!;
            var entry = Assert.Single(await reader.GetDatabase().StreamRangeAsync("alerts", id, id).WithTimeout());
            Assert.Equal("disk full", entry["message"].ToString());
        }
        else
        {
            // No history: an id of ntfy's kind, made up for the answer.
            Assert.Matches("^[A-Za-z0-9]{12}$", answer.GetProperty("id").GetString());
            Assert.Equal(StackExchange.Redis.RedisType.None, await reader.GetDatabase().KeyTypeAsync("alerts").WithTimeout());

            // Still PUBLISH after the first answer: the server is asked once per connection.
            using var second = await gateway.Client.PostAsync("/alerts", new StringContent("again"), Ct);
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.Equal("again", await subscriber.NextTextAsync("alerts"));
            Assert.Single(gateway.Logs.Entries, e => e.EventId.Id == 3003);
        }
    }

    [Fact]
    public async Task Form_post_like_curl_reaches_a_subscriber_exactly_once()
    {
        await using var server = await StartServerAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port);
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, null, "channel1");

        // curl -d "message=hello&channel=channel1" http://host:8080/
        using var content = new StringContent("message=hello&channel=channel1", Encoding.ASCII, "application/x-www-form-urlencoded");
        using var response = await gateway.Client.PostAsync("/", content, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("channel1", answer.GetProperty("channel").GetString());
        Assert.Equal(1, answer.GetProperty("receivers").GetInt64());
        Assert.Equal("hello", await subscriber.NextTextAsync("channel1"));

        // Exactly once: the next thing the subscriber sees is the next publish, not a copy.
        using var next = await gateway.Client.PostAsync("/channel1", new StringContent("sentinel"), Ct);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal("sentinel", await subscriber.NextTextAsync("channel1"));
    }

    [Fact]
    public async Task Raw_body_arrives_byte_for_byte_and_receivers_counts_subscribers()
    {
        await using var server = await StartServerAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port);
        await gateway.WaitUntilReadyAsync();
        await using var first = await RespSubscriber.SubscribeAsync(server.Port, null, "ci/builds");
        await using var second = await RespSubscriber.SubscribeAsync(server.Port, null, "ci/builds");
        byte[] payload = [.. "line one\r\nline two\n"u8, 0, 0xFF, 0xC3, .. "$5\r\n*1\r\n"u8];

        using var response = await gateway.Client.PostAsync("/ci/builds", new ByteArrayContent(payload), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("receivers").GetInt64());
        foreach (var subscriber in new[] { first, second })
        {
            var (channel, received) = await subscriber.NextMessageAsync();
            Assert.Equal("ci/builds", channel);
            Assert.Equal(payload, received);
        }
    }

    [Fact]
    public async Task Signed_github_fixtures_arrive_as_one_line_summaries_on_owner_repo()
    {
        await using var server = await StartServerAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port, "--github-secret", Secret);
        await gateway.WaitUntilReadyAsync();
        var expected = Expected.Select(row => row.Data).ToList();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, null, [.. expected.Select(e => e.Item2).Distinct()]);

        foreach (var (file, channel, summary) in expected)
        {
            var body = Fixture(file);
            using var response = await gateway.Client.SendAsync(Json(EventOf(file), body, Sign(body)), Ct);

            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal(summary, await subscriber.NextTextAsync(channel));
        }
    }

    [Fact]
    public async Task Unsigned_github_delivery_is_401_and_nothing_reaches_subscribers()
    {
        await using var server = await StartServerAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port, "--github-secret", Secret);
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, null, "Codertocat/Hello-World");
        var body = Fixture("issues.opened.json");

        using var unsigned = await gateway.Client.SendAsync(Json("issues", body, null), Ct);
        using var forged = await gateway.Client.SendAsync(Json("issues", body, Sign(body, "guess")), Ct);
        using var signed = await gateway.Client.SendAsync(Json("issues", body, Sign(body)), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Created, signed.StatusCode);
        // The first message on the channel is the signed delivery's: the refused ones published nothing.
        Assert.Equal("Codertocat opened issue #1: Spelling error in the README file", await subscriber.NextTextAsync("Codertocat/Hello-World"));
    }

    [Fact]
    public async Task Server_stopped_gives_503_and_restarted_publishing_resumes_without_restarting_the_gateway()
    {
        var server = await StartServerAsync();
        var port = server.Port;
        await using var gateway = await GatewayHost.StartConnectedAsync(port);
        await gateway.WaitUntilReadyAsync();
        using (var before = await gateway.Client.PostAsync("/c", new StringContent("before"), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await server.DisposeAsync();

        // Whether or not the client has noticed yet, a publish now is never a 2xx.
        using (var racing = await gateway.Client.PostAsync("/c", new StringContent("while stopping"), Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, racing.StatusCode);
        }

        await gateway.WaitUntilReadyAsync(ready: false);
        using (var down = await gateway.Client.PostAsync("/", PublishEndpointTestsForm("c", "while down"), Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            Assert.True(down.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        }

        await using var restarted = await StartServerAsync(port);
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(port, null, "c");
        using var after = await gateway.Client.PostAsync("/c", new StringContent("after"), Ct);

        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("after", await subscriber.NextTextAsync("c"));
    }

    [Fact]
    public async Task Password_protected_server_takes_publishes_with_the_password_and_readyz_fails_without_it()
    {
        await using var server = await StartServerAsync(password: Password);
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port, "--server-password", Password);
        await using var wrong = await GatewayHost.StartConnectedAsync(server.Port, "--server-password", "nope", "--ConnectTimeoutMilliseconds", "1000");
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, Password, "secure");

        using var response = await gateway.Client.PostAsync("/secure", new StringContent("m"), Ct);
        using var refused = await wrong.Client.PostAsync("/secure", new StringContent("never"), Ct);
        using var notReady = await wrong.Client.GetAsync("/readyz", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(refused.IsSuccessStatusCode, $"a gateway with the wrong password answered {refused.StatusCode}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Equal("m", await subscriber.NextTextAsync("secure"));
    }

    [Fact]
    public async Task An_acl_user_publishes_to_its_channels_and_gets_403_for_others()
    {
        await using var server = await StartServerWithArgsAsync(
            "--requirepass", Password, "--user", "gateway", "on", ">gwpw", "resetchannels", "&alerts:*", "+publish", "+ping", "+@connection");
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port, "--server-user", "gateway", "--server-password", "gwpw");
        await using var wrong = await GatewayHost.StartConnectedAsync(server.Port, "--server-user", "gateway", "--server-password", "nope", "--ConnectTimeoutMilliseconds", "1000");
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, Password, "alerts:disk", "private");

        using var published = await gateway.Client.PostAsync("/alerts:disk", new StringContent("full"), Ct);
        using var forbidden = await gateway.Client.PostAsync("/", PublishEndpointTestsForm("private", "secret"), Ct);
        using var notReady = await wrong.Client.GetAsync("/readyz", Ct);

        Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        var problem = await forbidden.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains("may not publish to 'private'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("NOPERM", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);

        // Only the allowed message reached the subscriber: the next one it sees is the sentinel.
        Assert.Equal("full", await subscriber.NextTextAsync("alerts:disk"));
        using var sentinel = await gateway.Client.PostAsync("/alerts:disk", new StringContent("sentinel"), Ct);
        Assert.Equal("sentinel", await subscriber.NextTextAsync("alerts:disk"));
    }

    [Fact]
    public async Task Each_publish_is_logged_with_channel_bytes_receivers_and_source_but_not_the_body()
    {
        await using var server = await StartServerAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port);
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, null, "logged");
        const string Body = "private message body";

        using var response = await gateway.Client.PostAsync("/", PublishEndpointTestsForm("logged", Body), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var entry = Assert.Single(gateway.Logs.Entries, e => e.EventId.Id == 3000);
        Assert.Equal(LogLevel.Information, entry.Level);
        Assert.Equal("logged", entry.Values["Channel"]);
        Assert.Equal(Encoding.UTF8.GetByteCount(Body), entry.Values["Bytes"]);
        Assert.Equal(1L, entry.Values["Receivers"]);
        Assert.Equal("form", entry.Values["Source"]);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains(Body, StringComparison.Ordinal));
    }

    private static FormUrlEncodedContent PublishEndpointTestsForm(string channel, string message)
        => Endpoints.PublishEndpointTests.Form(("channel", channel), ("message", message));
}

public sealed class RedisServerEndToEndTests : GatewayEndToEndTests
{
    private protected override bool KeepsHistory => false;

    private protected override async Task<IPubSubServer> StartServerAsync(int port = 0, string? password = null)
        => await RedisServer.StartAsync(port, password);

    private protected override async Task<IPubSubServer> StartServerWithArgsAsync(params string[] args)
        => new RedisServer(await RedisServerProcess.StartAsync(args));
}

public sealed class NotistreamServerEndToEndTests : GatewayEndToEndTests
{
    private protected override bool KeepsHistory => true;

    private protected override async Task<IPubSubServer> StartServerAsync(int port = 0, string? password = null)
        => await OurServer.StartAsync(port, password);

    private protected override async Task<IPubSubServer> StartServerWithArgsAsync(params string[] args)
        => new OurServer(await NotistreamServer.StartAsync(args).WithTimeout());
}
