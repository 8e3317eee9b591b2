using System.Text;
using Notistream.RespServer.Compat.Tests.Harness;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.History;

/// <summary>
/// A PUBLISH to a channel with history (channel-history) keeps the message in the stream of the
/// channel's name, read here with StackExchange.Redis's stream API as any client would.
/// </summary>
public sealed class ChannelHistoryTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_published_message_is_kept_in_the_stream_of_its_channel_with_ids_increasing_across_channels()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var muxer = await ConnectAsync(server);
        var db = muxer.GetDatabase();
        var subscriber = muxer.GetSubscriber();
        var channels = new[] { "alerts", "builds/acme/site", "chat\u00e9 \u0001" };
        for (var i = 0; i < 300; i++)
        {
            await subscriber.PublishAsync(RedisChannel.Literal(channels[i % 3]), $"m{i}");
        }

        var all = new List<(StreamId Id, string Message)>();
        foreach (var channel in channels)
        {
            var entries = await db.StreamRangeAsync(channel);
            Assert.Equal(100, entries.Length);
            foreach (var entry in entries)
            {
                var field = Assert.Single(entry.Values);
                Assert.Equal("message", field.Name);
                all.Add((StreamId.Parse(entry.Id!), field.Value!));
            }

            Assert.Equal("stream", (await db.KeyTypeAsync(channel)).ToString().ToLowerInvariant());
        }

        // One generator for every channel: sorted by id, the messages come back in the order published.
        all.Sort((a, b) => a.Id.CompareTo(b.Id));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"m{i}"), all.Select(e => e.Message));
        Assert.Equal(300, all.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public async Task The_readme_s_redis_cli_example_prints_what_the_readme_shows()
    {
        await using var server = await NotistreamServer.StartAsync();
        Assert.Equal("exit 0\n(integer) 0\n", await Clients.RedisCli.RunAsync(server.Port, ["--no-raw", "PUBLISH", "alerts", "disk full"]));
        var output = await Clients.RedisCli.RunAsync(server.Port, ["--no-raw", "XRANGE", "alerts", "-", "+"]);
        Assert.Matches("^exit 0\n1\\) 1\\) \"[0-9]{13}-0\"\n   2\\) 1\\) \"message\"\n      2\\) \"disk full\"\n$", output);
    }

    [Fact]
    public async Task A_channel_keeps_at_least_its_rule_s_entries_and_at_most_one_node_more()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "kept:* 150 0 short 10 1h");
        await using var muxer = await ConnectAsync(server);
        var db = muxer.GetDatabase();
        var subscriber = muxer.GetSubscriber();
        for (var i = 0; i < 1000; i++)
        {
            await subscriber.PublishAsync(RedisChannel.Literal("kept:a"), $"m{i}");
            await subscriber.PublishAsync(RedisChannel.Literal("other"), $"m{i}");
        }

        await subscriber.PublishAsync(RedisChannel.Literal("short"), "one");
        var length = await db.StreamLengthAsync("kept:a");
        Assert.InRange(length, 150, 249);
        var last = await db.StreamRangeAsync("kept:a", "-", "+", count: null, messageOrder: Order.Descending);
        Assert.Equal("m999", last[0].Values[0].Value);
        Assert.Equal("m" + (1000 - length), last[^1].Values[0].Value);

        // No rule matches "other": nothing is kept for it.
        Assert.False(await db.KeyExistsAsync("other"));
        Assert.Equal(1, await db.StreamLengthAsync("short"));
    }

    [Fact]
    public async Task History_can_be_turned_off_and_on_at_run_time()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "none");
        await using var muxer = await ConnectAsync(server);
        var db = muxer.GetDatabase();
        Assert.Equal(0, await db.PublishAsync(RedisChannel.Literal("ch"), "lost"));
        Assert.False(await db.KeyExistsAsync("ch"));

        await db.ExecuteAsync("CONFIG", "SET", "channel-history", "* 5 1h");
        Assert.Equal("* 5 1h", (string?)(await db.ExecuteAsync("CONFIG", "GET", "channel-history"))[1]);
        await db.PublishAsync(RedisChannel.Literal("ch"), "kept");
        Assert.Equal("kept", (await db.StreamRangeAsync("ch"))[0].Values[0].Value);
    }

    [Fact]
    public async Task A_reader_blocked_in_XREAD_is_woken_by_a_PUBLISH()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var reader = await RawConnection.ConnectAsync(server.Port);
        await reader.SendAsync(Encoding.ASCII.GetBytes("XREAD BLOCK 0 STREAMS doorbell $\r\n"));
        await using var muxer = await ConnectAsync(server);
        var db = muxer.GetDatabase();
        await TaskTimeoutExtensions.WaitUntil(
            () => ((string?)db.Execute("INFO", "clients"))!.Contains("blocked_clients:1", StringComparison.Ordinal), "the reader to block");
        await db.PublishAsync(RedisChannel.Literal("doorbell"), "ring");

        var frames = await reader.ReadFramesAsync(1, TimeSpan.FromSeconds(10));
        var text = Encoding.Latin1.GetString(frames[0].Raw);
        Assert.StartsWith("*1\r\n*2\r\n$8\r\ndoorbell\r\n*1\r\n*2\r\n$", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n*2\r\n$7\r\nmessage\r\n$4\r\nring\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task XADD_with_a_star_draws_from_the_same_generator_as_PUBLISH()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var muxer = await ConnectAsync(server);
        var db = muxer.GetDatabase();
        var ids = new List<StreamId>();
        for (var i = 0; i < 200; i++)
        {
            await db.PublishAsync(RedisChannel.Literal("a"), "p");
            ids.Add(StreamId.Parse((await db.StreamRangeAsync("a", "-", "+", 1, Order.Descending))[0].Id!));
            ids.Add(StreamId.Parse((await db.StreamAddAsync("b", "f", "v"))!));
        }

        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task History_older_than_its_rule_allows_is_aged_out_and_its_stream_removed()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 0 1s");
        await using var muxer = await ConnectAsync(server);
        var db = muxer.GetDatabase();
        await db.PublishAsync(RedisChannel.Literal("old"), "soon gone");
        Assert.True(await db.KeyExistsAsync("old"));
        await TaskTimeoutExtensions.WaitUntil(() => !db.KeyExists("old"), "the aged-out stream to go", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_stream_only_XADD_writes_to_is_never_trimmed_or_aged_by_the_history_rules()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 10 1s");
        await using var muxer = await ConnectAsync(server);
        var db = muxer.GetDatabase();
        for (var i = 0; i < 300; i++)
        {
            await db.StreamAddAsync("mine", "f", $"v{i}");
        }

        await db.PublishAsync(RedisChannel.Literal("theirs"), "m");
        await TaskTimeoutExtensions.WaitUntil(() => !db.KeyExists("theirs"), "the channel's history to age out", TimeSpan.FromSeconds(10));
        Assert.Equal(300, await db.StreamLengthAsync("mine"));
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(NotistreamServer server)
        => await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port},allowAdmin=true").WithTimeout();

    private readonly record struct StreamId(ulong Ms, ulong Seq) : IComparable<StreamId>
    {
        public static StreamId Parse(string text)
        {
            var dash = text.IndexOf('-', StringComparison.Ordinal);
            return new(ulong.Parse(text[..dash], System.Globalization.CultureInfo.InvariantCulture), ulong.Parse(text[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }

        public int CompareTo(StreamId other) => Ms != other.Ms ? Ms.CompareTo(other.Ms) : Seq.CompareTo(other.Seq);
    }
}
