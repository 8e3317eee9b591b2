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
    public async Task The_redis_cli_example_in_docs_persistence_prints_what_the_page_shows()
    {
        await using var server = await NotistreamServer.StartAsync();
        Assert.Equal("exit 0\n(integer) 0\n", await Clients.RedisCli.RunAsync(server.Port, ["--no-raw", "PUBLISH", "alerts", "disk full"]));
        var output = await Clients.RedisCli.RunAsync(server.Port, ["--no-raw", "XRANGE", "alerts", "-", "+"]);
        Assert.Matches("^exit 0\n1\\) 1\\) \"[0-9]{13}-0\"\n   2\\) 1\\) \"message\"\n      2\\) \"disk full\"\n$", output);
    }

    /// <summary>
    /// The ordering is built in (a connection's pending appends go in before its batch queues any
    /// delivery); from outside this checks it as far as timing allows, and deterministically that an
    /// answered PUBLISH is kept and that the same client's next command sees it.
    /// </summary>
    [Fact]
    public async Task A_message_is_in_its_channel_s_stream_before_any_subscriber_has_it_and_before_its_PUBLISH_is_answered()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var subscriber = await RawConnection.ConnectAsync(server.Port);
        await subscriber.SendAsync(Script.Encode("SUBSCRIBE", "live"));
        await subscriber.ReadFramesAsync(1, TimeSpan.FromSeconds(10));
        await using var muxer = await ConnectAsync(server);
        var db = muxer.GetDatabase();

        // One write of many PUBLISHes: the publisher's appends are batched, its deliveries staged.
        await using var publisher = await RawConnection.ConnectAsync(server.Port);
        const int Count = 1000;
        var pipeline = Enumerable.Range(0, Count).SelectMany(i => Script.Encode("PUBLISH", "live", $"m{i:D4}")).ToArray();
        await publisher.SendAsync(pipeline);
        for (var i = 0; i < Count; i += 50)
        {
            // Each message a subscriber has is already kept: the newest kept one is at least as new.
            var frames = await subscriber.ReadFramesAsync(50, TimeSpan.FromSeconds(10));
            var last = Encoding.ASCII.GetString(frames[^1].Children[2].Payload!);
            Assert.Equal($"m{i + 49:D4}", last);
            var newest = (await db.StreamRangeAsync("live", "-", "+", 1, Order.Descending))[0].Values[0].Value.ToString();
            Assert.True(string.CompareOrdinal(newest, last) >= 0, $"the subscriber had {last} while the stream ended at {newest}");
        }

        // Every PUBLISH answered is kept, and the same client's next command sees its own messages.
        var replies = await publisher.ReadFramesAsync(Count, TimeSpan.FromSeconds(10));
        Assert.All(replies, r => Assert.Equal(":1\r\n", Encoding.ASCII.GetString(r.Raw)));
        Assert.Equal(Count, await db.StreamLengthAsync("live"));
        await publisher.SendAsync(Script.Encode("PUBLISH", "mine", "x").Concat(Script.Encode("XLEN", "mine")).ToArray());
        Assert.Equal(":0\r\n:1\r\n", string.Concat((await publisher.ReadFramesAsync(2, TimeSpan.FromSeconds(10))).Select(f => Encoding.ASCII.GetString(f.Raw))));
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
