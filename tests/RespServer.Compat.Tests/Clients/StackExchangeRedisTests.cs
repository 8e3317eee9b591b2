using System.Collections.Concurrent;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Clients;

/// <summary>StackExchange.Redis against our server: default options, RESP2 and RESP3; channels, patterns, many messages in order.</summary>
public sealed class StackExchangeRedisTests : IAsyncLifetime
{
    private const int MessageCount = 10_000;
    private NotistreamServer? _server;

    public static TheoryData<string> Options => ["", ",protocol=resp3", ",protocol=resp2"];

    public async ValueTask InitializeAsync() => _server = await NotistreamServer.StartAsync().WithTimeout();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(Options))]
    public async Task Channel_messages_arrive_all_and_in_order(string options)
    {
        var log = new StringWriter();
        var errors = new ConcurrentQueue<string>();
        await using var muxer = await ConnectAsync(options, log, errors);
        var subscriber = muxer.GetSubscriber();
        var channel = RedisChannel.Literal("orders");
        var queue = await subscriber.SubscribeAsync(channel).WithTimeout();

        var received = new List<string>(MessageCount);
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.OnMessage(message =>
        {
            received.Add(message.Message!);
            if (received.Count == MessageCount)
            {
                all.TrySetResult();
            }
        });

        var publishes = new Task<long>[MessageCount];
        for (var i = 0; i < MessageCount; i++)
        {
            publishes[i] = subscriber.PublishAsync(channel, $"m{i}");
        }

        var counts = await Task.WhenAll(publishes).WithTimeout();
        Assert.All(counts, c => Assert.Equal(1, c));
        await all.Task.WithTimeout();
        Assert.Equal(Enumerable.Range(0, MessageCount).Select(i => $"m{i}"), received);

        await queue.UnsubscribeAsync().WithTimeout();
        Assert.Equal(0, await subscriber.PublishAsync(channel, "after").WithTimeout());
        Assert.True(muxer.IsConnected);
        Assert.Empty(errors);
        AssertCleanLog(log);
    }

    [Theory]
    [MemberData(nameof(Options))]
    public async Task Pattern_messages_carry_the_published_channel(string options)
    {
        var log = new StringWriter();
        var errors = new ConcurrentQueue<string>();
        await using var muxer = await ConnectAsync(options, log, errors);
        await using var publisherMuxer = await ConnectAsync(options, log, errors);
        var subscriber = muxer.GetSubscriber();
        var received = new ConcurrentQueue<(string Channel, string Message)>();
        var pattern = RedisChannel.Pattern("news.*");
        // A queue, not a handler: StackExchange.Redis may run a handler's calls concurrently, out of order.
        var queue = await subscriber.SubscribeAsync(pattern).WithTimeout();
        queue.OnMessage(message => received.Enqueue((message.Channel.ToString(), message.Message!)));

        var publisher = publisherMuxer.GetSubscriber();
        Assert.Equal(1, await publisher.PublishAsync(RedisChannel.Literal("news.sport"), "goal").WithTimeout());
        Assert.Equal(0, await publisher.PublishAsync(RedisChannel.Literal("weather"), "rain").WithTimeout());
        Assert.Equal(1, await publisher.PublishAsync(RedisChannel.Literal("news.tech"), "\u00e9t\u00e9").WithTimeout());
        await TaskTimeoutExtensions.WaitUntil(() => received.Count == 2, "two pattern messages");
        Assert.Equal([("news.sport", "goal"), ("news.tech", "\u00e9t\u00e9")], received.ToArray());

        await subscriber.UnsubscribeAsync(pattern).WithTimeout();
        Assert.Equal(0, await publisher.PublishAsync(RedisChannel.Literal("news.sport"), "late").WithTimeout());
        Assert.True(muxer.IsConnected);
        Assert.True(publisherMuxer.IsConnected);
        Assert.Empty(errors);
        AssertCleanLog(log);
    }

    /// <summary>
    /// INFO as a Redis tool reads it: StackExchange.Redis's parser gives every section and field, the
    /// Redis version it uses for feature checks, and our notistream_version beside redis_version.
    /// </summary>
    [Fact]
    public async Task INFO_parses_as_Redis_s_does_with_notistream_version_beside_redis_version()
    {
        var log = new StringWriter();
        await using var muxer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_server!.Port},allowAdmin=true", log).WithTimeout();
        var server = muxer.GetServer(muxer.GetEndPoints()[0]);

        var sections = (await server.InfoAsync().WithTimeout()).ToDictionary(g => g.Key, g => g.ToDictionary(p => p.Key, p => p.Value));
        var raw = await server.InfoRawAsync().WithTimeout();

        Assert.Equal(new Version(7, 0, 15), server.Version);
        Assert.Contains("Server", sections.Keys);
        Assert.Contains("Clients", sections.Keys);
        Assert.Contains("Stats", sections.Keys);
        Assert.Equal("7.0.15", sections["Server"]["redis_version"]);
        Assert.Matches(@"^\d+\.\d+\.\d+", sections["Server"]["notistream_version"]);
        Assert.True(int.Parse(sections["Clients"]["connected_clients"], System.Globalization.CultureInfo.InvariantCulture) >= 1);
        // Every line of the raw text is a section header or a name:value pair the parser kept.
        var lines = raw!.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines.Count(l => !l.StartsWith('#')), sections.Values.Sum(s => s.Count));
        AssertCleanLog(log);
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(string options, TextWriter log, ConcurrentQueue<string> errors)
    {
        var muxer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_server!.Port}{options}", log).WithTimeout();
        var expected = options.Contains("resp2", StringComparison.Ordinal) ? RedisProtocol.Resp2 : RedisProtocol.Resp3;
        Assert.Equal(expected, muxer.GetServer(muxer.GetEndPoints()[0]).Protocol);
        muxer.ErrorMessage += (_, e) => errors.Enqueue($"error message: {e.Message}");
        muxer.ConnectionFailed += (_, e) => errors.Enqueue($"connection failed: {e.FailureType} {e.Exception?.Message}");
        muxer.InternalError += (_, e) => errors.Enqueue($"internal error: {e.Exception?.Message}");
        return muxer;
    }

    private static void AssertCleanLog(StringWriter log)
    {
        var text = log.ToString();
        Assert.DoesNotContain("rror", text, StringComparison.Ordinal);
        Assert.DoesNotContain("xception", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ailed", text, StringComparison.Ordinal);
        Assert.DoesNotContain("nknown", text, StringComparison.Ordinal);
    }
}
