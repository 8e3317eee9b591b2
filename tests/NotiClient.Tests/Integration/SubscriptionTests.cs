using System.Diagnostics;
using Notistream.Client.Config;
using Notistream.Client.Subscriptions;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.Integration;

/// <summary>The subscription loop against real servers: redis-server and ours, the same expectations for both.</summary>
public sealed class SubscriptionTests
{
    public static TheoryData<ServerKind> Servers => [ServerKind.Redis, ServerKind.Notistream];

    /// <summary>Short keepalive and backoff so that detection and reconnects take well under a second.</summary>
    internal static readonly ConnectionSettings Fast = new()
    {
        KeepAliveInterval = TimeSpan.FromMilliseconds(300),
        KeepAliveTimeout = TimeSpan.FromMilliseconds(700),
        ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(400),
        ConnectTimeout = TimeSpan.FromSeconds(2),
    };

    internal static ClientConfig Config(int port, params string[] channels) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        Channels = channels.Select(c => new ChannelSpec(c)).ToList(),
        Connection = Fast,
    };

    private sealed class RunningClient : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _running;

        public RunningClient(ClientConfig config)
        {
            _running = new SubscriptionWorker(config, Target, Observer).RunAsync(_stop.Token);
        }

        public RecordingTarget Target { get; } = new();

        public RecordingObserver Observer { get; } = new();

        public IEnumerable<string> Payloads => Target.Messages.Select(m => m.Payload);

        public Task WaitConnectedAsync(int times) =>
            TaskTimeoutExtensions.WaitUntil(() => Observer.Count("connected") >= times, $"connected {times} time(s); events: {string.Join(" | ", Observer.Events)}");

        public Task WaitForAsync(string payload) =>
            TaskTimeoutExtensions.WaitUntil(() => Payloads.Contains(payload), $"message '{payload}'; got: {string.Join(", ", Payloads)}; events: {string.Join(" | ", Observer.Events)}");

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _running.WithTimeout();
            _stop.Dispose();
        }
    }

    private static async Task<long> PublishAsync(int port, string channel, string message, string? password = null)
    {
        var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", port } }, Password = password, ConnectTimeout = 5000 };
        await using var publisher = await ConnectionMultiplexer.ConnectAsync(options).WithTimeout();
        return await publisher.GetSubscriber().PublishAsync(RedisChannel.Literal(channel), message).WithTimeout();
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task Receives_every_message_in_the_order_published(ServerKind kind)
    {
        await using var server = await TestServer.StartAsync(kind);
        await using var client = new RunningClient(Config(server.Port, "alerts"));
        await client.WaitConnectedAsync(1);

        var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", server.Port } } };
        await using (var publisher = await ConnectionMultiplexer.ConnectAsync(options).WithTimeout())
        {
            var subscriber = publisher.GetSubscriber();
            // Pipelined on one connection: the server sees them in this order.
            var sends = Enumerable.Range(0, 500).Select(i => subscriber.PublishAsync(RedisChannel.Literal("alerts"), $"m{i}: é😀 \r\n\0 binary")).ToList();
            Assert.All(await Task.WhenAll(sends).WithTimeout(), receivers => Assert.Equal(1, receivers));
        }

        await TaskTimeoutExtensions.WaitUntil(() => client.Target.Messages.Count >= 500, "500 messages");
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"m{i}: é😀 \r\n\0 binary"), client.Payloads);
        Assert.All(client.Target.Messages, m => Assert.Equal(("alerts", (string?)null), (m.Channel, m.Pattern)));
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task Glob_names_are_subscribed_as_patterns(ServerKind kind)
    {
        await using var server = await TestServer.StartAsync(kind);
        await using var client = new RunningClient(Config(server.Port, "alerts", "build/*", "dep?oy", "x[ab]"));
        await client.WaitConnectedAsync(1);

        foreach (var channel in new[] { "build/api", "alerts", "deploy", "xb", "other", "build", "xc", "alerts/sub" })
        {
            await PublishAsync(server.Port, channel, "to " + channel);
        }

        await PublishAsync(server.Port, "alerts", "last");
        await client.WaitForAsync("last");
        Assert.Equal(
            new[] { ("build/api", "build/*"), ("alerts", null), ("deploy", "dep?oy"), ("xb", "x[ab]"), ("alerts", (string?)null) }.Order(),
            client.Target.Messages.Select(m => (m.Channel, m.Pattern)).Order());
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task After_the_server_is_killed_and_restarted_the_next_message_arrives(ServerKind kind)
    {
        await using var server = await TestServer.StartAsync(kind);
        await using var client = new RunningClient(Config(server.Port, "alerts", "ci/*"));
        await client.WaitConnectedAsync(1);
        await PublishAsync(server.Port, "alerts", "before");
        await client.WaitForAsync("before");

        await server.StopAsync();
        await TaskTimeoutExtensions.WaitUntil(() => client.Observer.Count("lost") == 1, "the loss to be noticed");
        await TaskTimeoutExtensions.WaitUntil(() => client.Observer.Count("reconnecting") >= 2, "reconnect attempts while the server is down");

        await server.RestartAsync();
        await client.WaitConnectedAsync(2);
        Assert.Equal(1, await PublishAsync(server.Port, "alerts", "after restart"));
        Assert.Equal(1, await PublishAsync(server.Port, "ci/build", "pattern after restart"));
        await client.WaitForAsync("after restart");
        await client.WaitForAsync("pattern after restart");
        Assert.Equal(["before", "after restart", "pattern after restart"], client.Payloads);
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task A_connection_that_silently_stops_answering_is_detected_and_replaced(ServerKind kind)
    {
        await using var server = await TestServer.StartAsync(kind);
        await using var proxy = new FreezableProxy(server.Port);
        await using var client = new RunningClient(Config(proxy.Port, "alerts"));
        await client.WaitConnectedAsync(1);
        await PublishAsync(server.Port, "alerts", "before");
        await client.WaitForAsync("before");

        var frozenAt = Stopwatch.StartNew();
        proxy.Freeze();
        // The server still counts the client as a subscriber; the message vanishes into the dead link.
        Assert.Equal(1, await PublishAsync(server.Port, "alerts", "lost in the frozen connection"));
        await TaskTimeoutExtensions.WaitUntil(() => client.Observer.Count("lost") == 1, "the silent connection to be declared dead");
        var detection = frozenAt.Elapsed;

        // Keepalive every 0.3 s, 0.7 s to answer: noticed within about a second, not the TCP timeout's minutes.
        Assert.True(detection < TimeSpan.FromSeconds(5), $"took {detection}");
        Assert.Equal("lost: no answer to a keepalive PING within 0.7 s", client.Observer.Events.Single(e => e.StartsWith("lost", StringComparison.Ordinal)));
        await client.WaitConnectedAsync(2);
        await PublishAsync(server.Port, "alerts", "after");
        await client.WaitForAsync("after");
        if (kind == ServerKind.Redis)
        {
            // Plain SUBSCRIBE: what went into the dead link is gone.
            Assert.DoesNotContain("lost in the frozen connection", client.Payloads);
        }
        else
        {
            // NOTI.SUBSCRIBE resumes after the last message received: the one the dead link swallowed comes again, once, in order.
            Assert.Equal(["before", "lost in the frozen connection", "after"], client.Payloads);
        }
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task A_client_started_before_its_server_connects_once_the_server_is_up(ServerKind kind)
    {
        var port = FreePort.Next();
        await using var client = new RunningClient(Config(port, "alerts"));
        await TaskTimeoutExtensions.WaitUntil(() => client.Observer.Count("failed") >= 1, "a failed connection attempt");

        await using var server = await TestServer.StartAsync(kind, port);
        await client.WaitConnectedAsync(1);
        await PublishAsync(port, "alerts", "hello");
        await client.WaitForAsync("hello");
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task An_acl_user_receives_its_channels_and_a_wrong_password_is_reported(ServerKind kind)
    {
        await using var server = await TestServer.StartAsync(kind, null, "--requirepass", "s3cret",
            "--user", "reader", "on", ">rpw", "resetchannels", "&alerts", "&builds/*", "+@pubsub", "+@connection", "+info");
        await using (var client = new RunningClient(Config(server.Port, "alerts", "builds/*") with { User = "reader", Password = "rpw" }))
        {
            await client.WaitConnectedAsync(1);
            Assert.Equal(1, await PublishAsync(server.Port, "alerts", "for reader", "s3cret"));
            Assert.Equal(1, await PublishAsync(server.Port, "builds/main", "built", "s3cret"));
            await client.WaitForAsync("for reader");
            await client.WaitForAsync("built");
        }

        await using var wrong = new RunningClient(Config(server.Port, "alerts") with { User = "reader", Password = "nope" });
        await TaskTimeoutExtensions.WaitUntil(() => wrong.Observer.Count("failed") >= 1, "a refused login");
        Assert.Equal("failed: the server refused the password", wrong.Observer.Events.First(e => e.StartsWith("failed", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task Password_is_sent_and_a_wrong_one_is_reported_as_such(ServerKind kind)
    {
        await using var server = await TestServer.StartAsync(kind, null, "--requirepass", "s3cret");
        await using (var client = new RunningClient(Config(server.Port, "alerts") with { Password = "s3cret" }))
        {
            await client.WaitConnectedAsync(1);
            await PublishAsync(server.Port, "alerts", "authenticated", "s3cret");
            await client.WaitForAsync("authenticated");
        }

        await using var wrong = new RunningClient(Config(server.Port, "alerts") with { Password = "nope" });
        await TaskTimeoutExtensions.WaitUntil(() => wrong.Observer.Count("failed") >= 1, "a refused login");
        Assert.Equal("failed: the server refused the password", wrong.Observer.Events.First(e => e.StartsWith("failed", StringComparison.Ordinal)));

        var probe = await new RedisServerProbe().CheckAsync(Config(server.Port, "alerts"), CancellationToken.None).WithTimeout();
        Assert.Equal("the server requires a password", probe);
    }
}
