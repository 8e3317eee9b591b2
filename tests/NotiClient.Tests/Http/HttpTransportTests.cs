using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Notistream.Client.Cli;
using Notistream.Client.Config;
using Notistream.Client.Notifications;
using Notistream.Client.Resume;
using Notistream.Client.Subscriptions;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Client.Tests.Integration;
using Notistream.Client.Tests.Resume;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Http;

/// <summary>
/// <c>notistream --url</c>: the client over HTTP to the webhook gateway's <c>/json</c> stream, against this
/// build's server and gateway (its own process), and against a stub HTTP server for what a real gateway
/// does not do on demand (go silent, refuse with Retry-After, send an absurd line).
/// </summary>
public sealed class HttpTransportTests : IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _home = new();

    public void Dispose() => _home.Dispose();

    private Dictionary<string, string?> Environment => new()
    {
        ["XDG_STATE_HOME"] = _home.File("state"),
        ["XDG_CONFIG_HOME"] = _home.File("config"),
        ["HOME"] = _home.Path,
        ["NOTISTREAM_HOST"] = null,
        ["NOTISTREAM_PORT"] = null,
        ["NOTISTREAM_URL"] = null,
        ["NOTISTREAM_PASSWORD"] = null,
    };

    private ChildProcess StartClient(TestGateway gateway, string channels, params string[] extra) =>
        ChildProcess.StartClient(["--url", gateway.Url, "--channels", channels, "--print", "--json", .. extra], Environment);

    private static ClientConfig Config(string url, params string[] channels) => new()
    {
        Url = new Uri(url),
        Channels = channels.Select(c => new ChannelSpec(c)).ToList(),
        Connection = SubscriptionTests.Fast,
    };

    private static async Task StopAsync(ChildProcess client)
    {
        client.Terminate();
        Assert.True(await client.WaitForExitAsync() == 0, client.AllOutput);
    }

    private static List<JsonElement> Lines(ChildProcess client) =>
        client.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();

    private static List<(string Id, string Channel, string? Pattern, string Message)> Messages(ChildProcess client) =>
        Lines(client).Where(l => l.GetProperty("event").GetString() == "message")
            .Select(m => (m.GetProperty("id").GetString()!, m.GetProperty("channel").GetString()!, m.GetProperty("pattern").GetString(), m.GetProperty("message").GetString()!))
            .ToList();

    private static Task WaitForMessagesAsync(ChildProcess client, int count) =>
        TaskTimeoutExtensions.WaitUntil(() =>
        {
            Assert.False(client.HasExited, client.AllOutput);
            return client.StandardOutput.AsSpan().Count("\"event\":\"message\"") >= count;
        }, $"{count} messages from the client:\n{client.StandardError}", Long);

    /// <summary>Every message once, in the order published (ids strictly increasing), each pattern match named.</summary>
    private static void AssertDeliveredExactly(IReadOnlyList<(string Channel, string Message)> sent, IReadOnlyList<string> ids, ChildProcess client)
    {
        var printed = Messages(client);
        Assert.Equal(ids, printed.Select(p => p.Id));
        Assert.Equal(sent, printed.Select(p => (p.Channel, p.Message)));
        Assert.All(printed, p => Assert.Equal(p.Channel.StartsWith("team/", StringComparison.Ordinal) ? "team/*" : null, p.Pattern));
    }

    private static readonly string[] Names = ["alerts", "builds", "team/web", "team/api"];

    private static List<(string Channel, string Message)> Batch(int count, string prefix) =>
        Enumerable.Range(0, count).Select(i => (Names[i % Names.Length], $"{prefix}{i}")).ToList();

    [Fact]
    public async Task A_message_published_through_the_gateway_arrives_over_the_url_with_its_title_and_priority()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(server.Port);
        var target = new RecordingTarget();
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        using var worker = new SubscriptionWorker(Config(gateway.Url, "backups", "owner/*"), target, observer);
        var running = worker.RunAsync(stop.Token);
        await TaskTimeoutExtensions.WaitUntil(() => observer.Count("connected") == 1, $"connected; events: {string.Join(" | ", observer.Events)}");

        using var http = new HttpClient();
        using var publish = new HttpRequestMessage(HttpMethod.Post, $"{gateway.Url}/backups") { Content = new StringContent("nightly backup of /home failed") };
        publish.Headers.Add("Title", "Backup failed");
        publish.Headers.Add("Priority", "urgent");
        publish.Headers.Add("Tags", "warning");
        using var answer = await http.SendAsync(publish).WithTimeout();
        Assert.True(answer.IsSuccessStatusCode, $"{answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
        var id = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        using (var plain = await http.PostAsync($"{gateway.Url}/", new FormUrlEncodedContent(new Dictionary<string, string> { ["channel"] = "owner/repo", ["message"] = "pushed" })).WithTimeout())
        {
            Assert.True(plain.IsSuccessStatusCode);
        }

        await TaskTimeoutExtensions.WaitUntil(() => target.Messages.Count >= 2, $"two messages; got {target.Messages.Count}; events: {string.Join(" | ", observer.Events)}\n{gateway.AllOutput}");
        await stop.CancelAsync();
        await running.WithTimeout();

        var backup = target.Messages[0];
        Assert.Equal(("backups", null, id), (backup.Channel, backup.Pattern, backup.Id?.ToString()));
        var shown = MessageRenderer.Render(backup);
        Assert.Equal("⚠️ Backup failed", shown.Title); // the warning tag as ntfy shows it
        Assert.Contains("nightly backup of /home failed", shown.Body, StringComparison.Ordinal);
        Assert.Equal(Urgency.Critical, shown.Urgency);

        var pushed = target.Messages[1];
        Assert.Equal(("owner/repo", "owner/*", "pushed"), (pushed.Channel, pushed.Pattern, pushed.Payload));
        Assert.Equal("owner/repo", MessageRenderer.Render(pushed).Title);
    }

    [Fact]
    public async Task Stopped_while_200_messages_go_to_two_channels_and_a_pattern_it_prints_each_once_in_order_when_restarted()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 1000 24h");
        await using var gateway = await TestGateway.StartAsync(server.Port);
        const string Channels = "alerts,builds,team/*";
        await using (var first = StartClient(gateway, Channels))
        {
            await first.WaitForOutputAsync("connected to http://127.0.0.1:");
            await StopAsync(first);
        }

        var away = Batch(200, "m");
        var ids = await ResumeEndToEndTests.PublishAsync(server.Port, away);
        await using (var client = StartClient(gateway, Channels))
        {
            await WaitForMessagesAsync(client, away.Count);
            await client.WaitForOutputAsync("caught up: 200 message(s) published while away");
            await StopAsync(client);
            AssertDeliveredExactly(away, ids, client);
        }

        // The cursor saved on the way out: the next run prints only what came after.
        var later = Batch(3, "later");
        var laterIds = await ResumeEndToEndTests.PublishAsync(server.Port, later);
        await using var again = StartClient(gateway, Channels);
        await WaitForMessagesAsync(again, 3);
        await StopAsync(again);
        AssertDeliveredExactly(later, laterIds, again);
    }

    [Fact]
    public async Task Messages_published_while_the_gateway_is_down_arrive_once_when_it_is_back()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 1000 24h");
        await using var gateway = await TestGateway.StartAsync(server.Port);
        const string Channels = "alerts,team/*";
        await using var client = StartClient(gateway, Channels);
        await client.WaitForOutputAsync("connected to http://127.0.0.1:");

        var before = new List<(string, string)> { ("alerts", "before"), ("team/web", "before2") };
        var ids = await ResumeEndToEndTests.PublishAsync(server.Port, before);
        await WaitForMessagesAsync(client, 2);

        await gateway.StopAsync();
        await client.WaitForOutputAsync($"connection to {gateway.Url} lost");
        var during = Enumerable.Range(0, 50).Select(i => (i % 2 == 0 ? "alerts" : "team/api", $"d{i}")).ToList();
        ids.AddRange(await ResumeEndToEndTests.PublishAsync(server.Port, during));
        await gateway.RestartAsync();

        await client.WaitForOutputAsync($"reconnected to {gateway.Url}", Long);
        await WaitForMessagesAsync(client, 52);
        await StopAsync(client);
        AssertDeliveredExactly([.. before, .. during], ids, client);
    }

    [Fact]
    public async Task History_shorter_than_the_time_away_is_one_gap_line_with_its_count()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 100 24h");
        await using var gateway = await TestGateway.StartAsync(server.Port);
        await using (var first = StartClient(gateway, "alerts"))
        {
            await first.WaitForOutputAsync("connected to http://127.0.0.1:");
            await StopAsync(first);
        }

        await ResumeEndToEndTests.PublishAsync(server.Port, Enumerable.Range(0, 200).Select(i => ("alerts", $"a{i}")).ToList());
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout();
        var kept = await redis.GetDatabase().StreamRangeAsync("alerts").WithTimeout();
        Assert.InRange(kept.Length, 100, 199);

        await using var client = StartClient(gateway, "alerts");
        await WaitForMessagesAsync(client, kept.Length);
        await client.WaitForOutputAsync("caught up:");
        await StopAsync(client);
        var lines = Lines(client);
        var gap = lines[0];
        Assert.Equal("gap", gap.GetProperty("event").GetString());
        Assert.Equal("alerts", gap.GetProperty("channel").GetString());
        Assert.Equal(200 - kept.Length, gap.GetProperty("missed").GetInt64());
        Assert.Single(lines, l => l.GetProperty("event").GetString() == "gap");
        Assert.Equal(kept.Select(e => e.Id.ToString()), Messages(client).Select(m => m.Id));
    }

    [Fact]
    public async Task Since_a_duration_over_the_url_brings_what_was_published_in_that_window()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 1000 24h");
        await using var gateway = await TestGateway.StartAsync(server.Port);
        var sent = new List<(string, string)> { ("alerts", "one"), ("team/web", "two"), ("alerts", "three") };
        var ids = await ResumeEndToEndTests.PublishAsync(server.Port, sent);

        await using var client = StartClient(gateway, "alerts,team/*", "--since", "30m");
        await WaitForMessagesAsync(client, 3);
        await client.WaitForOutputAsync("caught up:");
        await StopAsync(client);
        // Everything published in the window (the test's server started without a log, so a cursor from before
        // its start is also told of a gap of unknown size).
        AssertDeliveredExactly(sent, ids, client);
    }

    [Fact]
    public async Task A_cursor_above_the_servers_last_id_gets_the_gap_notice_and_then_new_messages()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 1000 24h");
        await using var gateway = await TestGateway.StartAsync(server.Port);
        await ResumeEndToEndTests.PublishAsync(server.Port, [("alerts", "old")]);
        var target = new RecordingTarget();
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        // A cursor from a replaced server, or from before its clock was reset: above any id this one gave.
        using var worker = new SubscriptionWorker(Config(gateway.Url, "alerts"), target, observer, resume: new ResumePosition("99999999999999-0"));
        var running = worker.RunAsync(stop.Token);
        await TaskTimeoutExtensions.WaitUntil(() => target.All.Any(m => m.Kind == IncomingKind.Gap), $"a gap; events: {string.Join(" | ", observer.Events)}");

        var ids = await ResumeEndToEndTests.PublishAsync(server.Port, [("alerts", "new")]);
        await TaskTimeoutExtensions.WaitUntil(() => target.Messages.Count == 1, $"the new message; events: {string.Join(" | ", observer.Events)}");
        await stop.CancelAsync();
        await running.WithTimeout();

        var gap = target.All.First(m => m.Kind == IncomingKind.Gap);
        Assert.Equal(("alerts", (long?)null), (gap.Channel, gap.Missed));
        Assert.Equal((ids[0], "new"), (target.Messages[0].Id.ToString(), target.Messages[0].Payload));
    }

    [Fact]
    public async Task A_gateway_with_a_token_refuses_the_client_without_it_and_serves_it_with_it()
    {
        const string Token = "s3cret-read-token";
        await using var server = await NotistreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(server.Port, "--token", Token);

        await using (var without = StartClient(gateway, "alerts"))
        {
            await without.WaitForOutputAsync("the gateway requires a token");
            await StopAsync(without);
            Assert.DoesNotContain("connected to", without.StandardError, StringComparison.Ordinal);
        }

        await using (var wrong = StartClient(gateway, "alerts", "--password", "not-the-token"))
        {
            await wrong.WaitForOutputAsync("the gateway refused the token");
            await StopAsync(wrong);
        }

        await using var client = StartClient(gateway, "alerts", "--password", Token);
        await client.WaitForOutputAsync("connected to http://127.0.0.1:");
        await ResumeEndToEndTests.PublishAsync(server.Port, [("alerts", "with the token")]);
        await WaitForMessagesAsync(client, 1);
        await StopAsync(client);
        Assert.Equal("with the token", Assert.Single(Messages(client)).Message);
    }

    [Fact]
    public async Task Send_with_a_url_publishes_through_the_gateway_with_the_token()
    {
        const string Token = "a-publish-token";
        await using var server = await NotistreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(server.Port, "--token", Token);
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout();
        var received = new ConcurrentQueue<string>();
        await redis.GetSubscriber().SubscribeAsync(StackExchange.Redis.RedisChannel.Literal("octo/hello"), (_, m) => received.Enqueue(m!)).WithTimeout();

        var (refused, refusal) = await RunCliAsync("send", "octo/hello", "no token", "--url", gateway.Url);
        Assert.Equal(ExitCodes.Failed, refused);
        Assert.Contains("the gateway requires a publish token", refusal, StringComparison.Ordinal);

        var (code, output) = await RunCliAsync("send", "octo/hello", "deployed", "--url", gateway.Url, "--password", Token);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains($"sent to octo/hello on {gateway.Url}: 1 subscriber(s) received it", output, StringComparison.Ordinal);
        await TaskTimeoutExtensions.WaitUntil(() => received.Contains("deployed"), "the message at the server");
        Assert.DoesNotContain("no token", received);
    }

    [Theory]
    [InlineData("ftp://example.net", "--url: 'ftp://example.net' is not an http:// or https:// URL")]
    [InlineData("example.net:8080", "is not an http:// or https:// URL")]
    [InlineData("https://example.net/?since=all", "without a user, ?query or #fragment")]
    public async Task A_bad_url_is_refused_with_what_is_wrong(string url, string expected)
    {
        var (code, error) = await RunCliAsync("--url", url, "--channels", "alerts", "--print");
        Assert.NotEqual(ExitCodes.Ok, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--host", "127.0.0.1")]
    [InlineData("--port", "6380")]
    public async Task Url_with_host_or_port_is_an_error(string option, string value)
    {
        var (code, error) = await RunCliAsync("--url", "http://127.0.0.1:8080", option, value, "--channels", "alerts", "--print");
        Assert.Equal(ExitCodes.ConfigurationError, code);
        Assert.Contains("--url cannot be used with --host or --port", error, StringComparison.Ordinal);
    }

    private async Task<(int Code, string Error)> RunCliAsync(params string[] args)
    {
        using var output = new LockedStringWriter();
        using var error = new LockedStringWriter();
        var console = new ClientConsole(new StringReader(string.Empty), output, error, IsInteractive: false, IsOutputTerminal: false, ReadSecret: null);
        var variables = new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = _home.Path, ["HOME"] = _home.Path };
        var context = new CliContext(console, TestHosts.Fake(HostPlatform.Linux, variables)) { StateFolder = _home.File("state") };
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var code = await CliApp.RunAsync(args, context, stop.Token).WithTimeout();
        return (code, error.ToString() + output);
    }

    [Fact]
    public async Task A_stream_that_goes_silent_is_dead_after_twice_the_keepalive_and_the_client_resumes_from_its_cursor()
    {
        await using var stub = StubGateway.Start(request => request.Number == 1
            ? StubAnswer.Stream(
                """{"id":"o1","time":1,"event":"open","topic":"alerts","last":"1000-0","keepalive":0.25}""",
                """{"id":"1000-0","time":1,"event":"message","topic":"alerts","message":"one","channel":"alerts"}""")
            : StubAnswer.Stream("""{"id":"o2","time":1,"event":"open","topic":"alerts","last":"1000-0","keepalive":30}"""));
        var target = new RecordingTarget();
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        using var worker = new SubscriptionWorker(Config(stub.Url, "alerts"), target, observer, resume: new ResumePosition("999-0"));
        var running = worker.RunAsync(stop.Token);

        await TaskTimeoutExtensions.WaitUntil(() => stub.Requests.Count >= 2, $"a second request; events: {string.Join(" | ", observer.Events)}");
        await stop.CancelAsync();
        await running.WithTimeout();

        Assert.Equal("lost: no keepalive from the gateway within 0.5 s", observer.Events.First(e => e.StartsWith("lost", StringComparison.Ordinal)));
        Assert.Equal("/alerts/json?since=999-0&catchup=1", stub.Requests[0].Target);
        Assert.Equal("/alerts/json?since=1000-0&catchup=1", stub.Requests[1].Target);
        Assert.Equal("one", Assert.Single(target.Messages).Payload);
        // The first session's catch-up ended at the open event's last id.
        Assert.Contains(target.All, m => m.Kind == IncomingKind.CaughtUp);
        Assert.True(Assert.Single(target.Messages).CatchUp);
    }

    [Fact]
    public async Task Retry_after_on_503_is_waited_for_and_the_token_is_sent_as_bearer()
    {
        await using var stub = StubGateway.Start(request => request.Number == 1
            ? StubAnswer.Error("503 Service Unavailable", "Retry-After: 1", """{"code":50301,"http":503,"error":"not connected to server"}""")
            : StubAnswer.Stream("""{"id":"o","time":1,"event":"open","topic":"a,b%2Fc"}"""));
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        var config = Config(stub.Url + "/prefix/", "a", "b/c") with { Password = "t0ken" };
        using var worker = new SubscriptionWorker(config, new RecordingTarget(), observer);
        var running = worker.RunAsync(stop.Token);

        await TaskTimeoutExtensions.WaitUntil(() => observer.Count("connected") == 1, $"connected; events: {string.Join(" | ", observer.Events)}");
        await stop.CancelAsync();
        await running.WithTimeout();

        Assert.Equal("failed: the gateway is busy or not ready (HTTP 503): not connected to server", observer.Events[1]);
        var (first, second) = (stub.Requests[0], stub.Requests[1]);
        // Fast's backoff is at most 50 ms here: only Retry-After makes it wait a second.
        Assert.True(second.At - first.At >= TimeSpan.FromMilliseconds(950), $"the second request came {(second.At - first.At).TotalMilliseconds} ms after the first");
        Assert.Equal("/prefix/a,b%2Fc/json?since=none&catchup=1", first.Target);
        Assert.Equal("Bearer t0ken", first.Headers["authorization"]);
    }

    [Fact]
    public async Task A_line_over_the_bound_is_skipped_and_the_stream_goes_on()
    {
        var huge = "{\"event\":\"message\",\"message\":\"" + new string('x', HttpTransport.MaxLineBytes + 10) + "\"}";
        await using var stub = StubGateway.Start(_ => StubAnswer.Stream(
            """{"id":"o","time":1,"event":"open","topic":"alerts","last":"5-0"}""",
            huge,
            """{"id":"6-0","time":1,"event":"message","topic":"alerts","message":"after","channel":"alerts"}"""));
        var target = new RecordingTarget();
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        using var worker = new SubscriptionWorker(Config(stub.Url, "alerts"), target, observer);
        var running = worker.RunAsync(stop.Token);

        await TaskTimeoutExtensions.WaitUntil(() => target.Messages.Count == 1, $"the message after the long line; events: {string.Join(" | ", observer.Events)}");
        await stop.CancelAsync();
        await running.WithTimeout();

        Assert.Equal("after", target.Messages[0].Payload);
        Assert.Contains(observer.Events, e => e.StartsWith("skipped a line of", StringComparison.Ordinal));
        Assert.DoesNotContain(observer.Events, e => e.StartsWith("lost", StringComparison.Ordinal));
        // Nothing is skipped silently: the line named no channel, so each name followed is told of a gap of unknown size.
        var gap = Assert.Single(target.All, m => m.Kind == IncomingKind.Gap);
        Assert.Equal(("alerts", (long?)null), (gap.Channel, gap.Missed));
        Assert.True(target.All.ToList().IndexOf(gap) < target.All.ToList().FindIndex(m => m.Kind == IncomingKind.Message));
    }

    [Fact]
    public async Task A_line_over_the_bound_is_a_gap_on_its_channel_when_its_start_names_it()
    {
        var huge = "{\"id\":\"6-0\",\"time\":1,\"event\":\"message\",\"topic\":\"builds\",\"message\":\"" + new string('x', HttpTransport.MaxLineBytes + 10) + "\"}";
        await using var stub = StubGateway.Start(_ => StubAnswer.Stream(
            """{"id":"o","time":1,"event":"open","topic":"alerts,builds","last":"5-0"}""",
            huge,
            """{"id":"7-0","time":1,"event":"message","topic":"alerts","message":"after","channel":"alerts"}"""));
        var target = new RecordingTarget();
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        using var worker = new SubscriptionWorker(Config(stub.Url, "alerts", "builds"), target, observer);
        var running = worker.RunAsync(stop.Token);

        await TaskTimeoutExtensions.WaitUntil(() => target.Messages.Count == 1, $"the message after the long line; events: {string.Join(" | ", observer.Events)}");
        await stop.CancelAsync();
        await running.WithTimeout();

        var gap = Assert.Single(target.All, m => m.Kind == IncomingKind.Gap);
        Assert.Equal(("builds", (long?)null), (gap.Channel, gap.Missed));
    }

    [Fact]
    public async Task An_event_that_cannot_be_read_is_skipped_said_and_a_gap_and_the_stream_goes_on()
    {
        await using var stub = StubGateway.Start(_ => StubAnswer.Stream(
            """{"id":"o","time":1,"event":"open","topic":"alerts,builds","last":"5-0"}""",
            """{"id":"SLiKI64DOt","time":1,"event":"message","topic":"alerts","message":"an ntfy id","channel":"alerts"}""",
            """{"id":"6-0","time":1,"event":"message","topic":"builds","message":"%%%","encoding":"base64","channel":"builds"}""",
            """{"id":"6-1","time":1,"event":"mess""",
            """{"id":"7-0","time":1,"event":"message","topic":"alerts","message":"after","channel":"alerts"}"""));
        var target = new RecordingTarget();
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        using var worker = new SubscriptionWorker(Config(stub.Url, "alerts", "builds"), target, observer);
        var running = worker.RunAsync(stop.Token);

        await TaskTimeoutExtensions.WaitUntil(() => target.Messages.Count == 1, $"the message after the bad ones; events: {string.Join(" | ", observer.Events)}");
        await stop.CancelAsync();
        await running.WithTimeout();

        Assert.Equal(("after", "7-0"), (target.Messages[0].Payload, target.Messages[0].Id.ToString()));
        Assert.Single(stub.Requests);
        Assert.DoesNotContain(observer.Events, e => e.StartsWith("lost", StringComparison.Ordinal));
        Assert.Equal(3, observer.Events.Count(e => e.StartsWith("skipped an event", StringComparison.Ordinal)));
        // A gap on each channel the bad events were on (one per channel until its next message), unknown counts.
        var gaps = target.All.Where(m => m.Kind == IncomingKind.Gap).ToList();
        Assert.Equal(["alerts", "builds"], gaps.Select(g => g.Channel).Order(StringComparer.Ordinal));
        Assert.All(gaps, g => Assert.Null(g.Missed));
    }

    [Fact]
    public async Task Any_failure_while_reading_ends_the_session_and_it_reconnects_never_the_worker()
    {
        await using var stub = StubGateway.Start(request => StubAnswer.Stream(
            """{"id":"o","time":1,"event":"open","topic":"alerts","last":"5-0","keepalive":30}""",
            $$"""{"id":"{{5 + request.Number}}-0","time":1,"event":"message","topic":"alerts","message":"m{{request.Number}}","channel":"alerts"}"""));
        var target = new ThrowingOnceTarget();
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        using var worker = new SubscriptionWorker(Config(stub.Url, "alerts"), target, observer);
        var running = worker.RunAsync(stop.Token);

        await TaskTimeoutExtensions.WaitUntil(() => target.Inner.Messages.Count == 1, $"a message from the second session; events: {string.Join(" | ", observer.Events)}");
        await stop.CancelAsync();
        await running.WithTimeout();

        Assert.Equal("m2", target.Inner.Messages[0].Payload);
        Assert.Contains(observer.Events, e => e.StartsWith("lost: ", StringComparison.Ordinal) && e.Contains("an output failed", StringComparison.Ordinal));
    }

    /// <summary>Throws from its first post, as an output with a bug would.</summary>
    private sealed class ThrowingOnceTarget : IMessageTarget
    {
        private int _posts;

        public RecordingTarget Inner { get; } = new();

        public void Post(IncomingMessage message)
        {
            if (Interlocked.Increment(ref _posts) == 1)
            {
                throw new InvalidOperationException("an output failed");
            }

            Inner.Post(message);
        }
    }

    [Fact]
    public void The_subscribe_url_encodes_each_name_and_maps_the_cursor_to_since()
    {
        var channels = new[] { new ChannelSpec("octo/hello"), new ChannelSpec("team/*"), new ChannelSpec("a b") };
        Assert.Equal("https://gw.example.net/octo%2Fhello,team%2F%2A,a%20b/json?since=all&catchup=1",
            HttpTransport.SubscribeUri(new Uri("https://gw.example.net"), channels, "0").AbsoluteUri);
        Assert.Equal("http://127.0.0.1:8080/n/alerts/json?since=1765101234567-3&catchup=1",
            HttpTransport.SubscribeUri(new Uri("http://127.0.0.1:8080/n/"), [new ChannelSpec("alerts")], "1765101234567-3").AbsoluteUri);
        // A bare ms is ms-0 (as NOTI.SUBSCRIBE reads it), never a bare number: the gateway takes that as Unix seconds.
        Assert.Equal("http://127.0.0.1:8080/alerts/json?since=1765101234567-0&catchup=1",
            HttpTransport.SubscribeUri(new Uri("http://127.0.0.1:8080"), [new ChannelSpec("alerts")], "1765101234567").AbsoluteUri);
    }
}

/// <summary>What the stub answers: raw bytes (status line, headers, body), then it keeps the connection open unless told to close.</summary>
internal sealed record StubAnswer(string Text, bool Close = false)
{
    /// <summary>An error answer with one extra header and a JSON body; the stub closes the connection after it.</summary>
    public static StubAnswer Error(string status, string header, string body) =>
        new($"HTTP/1.1 {status}\r\n{header}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}", Close: true);

    /// <summary>200 with these lines of ndjson, then silence (the connection stays open).</summary>
    public static StubAnswer Stream(params string[] lines) =>
        new("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n" + string.Join("", lines.Select(l => l + "\n")));
}

internal sealed record StubRequest(int Number, string Target, IReadOnlyDictionary<string, string> Headers, DateTime At);

/// <summary>A minimal HTTP/1.1 server on 127.0.0.1 that answers each request as told and records it.</summary>
internal sealed class StubGateway : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<StubRequest> _requests = new();
    private readonly ConcurrentBag<TcpClient> _clients = [];
    private readonly Func<StubRequest, StubAnswer> _answer;
    private Task _accepting = Task.CompletedTask;

    private StubGateway(Func<StubRequest, StubAnswer> answer)
    {
        _answer = answer;
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public IReadOnlyList<StubRequest> Requests => [.. _requests];

    public static StubGateway Start(Func<StubRequest, StubAnswer> answer)
    {
        var stub = new StubGateway(answer);
        stub._listener.Start();
        stub._accepting = stub.AcceptAsync();
        return stub;
    }

    private async Task AcceptAsync()
    {
        var number = 0;
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _clients.Add(client);
                var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
                var requestLine = await reader.ReadLineAsync(_stop.Token) ?? string.Empty;
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                while (await reader.ReadLineAsync(_stop.Token) is { Length: > 0 } header)
                {
                    var colon = header.IndexOf(':', StringComparison.Ordinal);
                    headers[header[..colon].Trim()] = header[(colon + 1)..].Trim();
                }

                var parts = requestLine.Split(' ');
                var request = new StubRequest(++number, parts.Length > 1 ? parts[1] : string.Empty, headers, DateTime.UtcNow);
                _requests.Enqueue(request);
                var answer = _answer(request);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(answer.Text), _stop.Token);
                await stream.FlushAsync(_stop.Token);
                if (answer.Close)
                {
                    client.Client.Shutdown(SocketShutdown.Send);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.WithTimeout();
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _stop.Dispose();
    }
}
