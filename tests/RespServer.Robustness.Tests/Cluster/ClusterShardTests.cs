using System.Diagnostics;
using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;
using static Notistream.RespServer.Robustness.Tests.Cluster.ClusterReplies;

namespace Notistream.RespServer.Robustness.Tests.Cluster;

/// <summary>
/// Sharded pub/sub across nodes (docs/cluster.md#shard-channels): SPUBLISH on one node reaches SSUBSCRIBE
/// clients on every node, in order and once, under subjects of its own that never meet the channels' (nor the
/// patterns'), with the same interest routing, the same size check and the gossip's counts. On three nodes
/// over three nats-servers of their own, whose nodes keep history for follow.* only: an SPUBLISH to a
/// follow.* name shows that shard channels never go through the history's JetStream stream.
/// </summary>
public sealed class ClusterShardTests(NatsClusterWithoutHistory cluster) : IClassFixture<NatsClusterWithoutHistory>
{
    /// <summary>docs/cluster.md: a subscription change on one node is counted by every other node within a second.</summary>
    private static readonly TimeSpan ChangeBound = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan ReadLimit = ClusterReplies.ReadLimit;

    private NatsClusterWithoutHistory Cluster
    {
        get
        {
            ExternalProgram.Require("nats-server", "apt-get install nats-server");
            return cluster;
        }
    }

    [Fact]
    public async Task A_thousand_SPUBLISHes_on_C_reach_an_SSUBSCRIBE_client_on_A_all_once_in_order_and_never_the_history()
    {
        var c = Cluster;
        // A name the nodes keep history for when it is a channel: as a shard channel it has none.
        const string Name = "follow.shard";
        await using var onA = await Subscribed(c.A, "SSUBSCRIBE", Name);
        await using var publisher = await c.C.ConnectAsync();
        await Probe(publisher, Name, onA);
        await AssertWithin(Stopwatch.StartNew(), TimeSpan.FromSeconds(2), 1L, () => SPublish(publisher, Name, "probe"), "SPUBLISH on C counting A's subscriber");
        var historyPublished = await c.C.InfoNumberAsync("nats_history_published");
        var historyApplied = await c.A.InfoNumberAsync("nats_history_applied");

        const int Count = 1_000;
        var pipeline = new MemoryStream();
        for (var i = 0; i < Count; i++)
        {
            pipeline.Write(WireClient.Command("SPUBLISH", Name, $"m{i}"));
        }

        await publisher.SendAsync(pipeline.ToArray());
        var read = ReadSequence(onA, Name, Count);
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(1L, await publisher.ReadAsync(ReadLimit));
        }

        Assert.Equal(Count, await read);

        // Nothing twice: the next frame is the one published after.
        Assert.Equal(1L, await SPublish(publisher, Name, "end"));
        var last = (object?[])(await onA.ReadAsync(ReadLimit))!;
        Assert.Equal(["smessage", Name, "end"], last.Select(x => Encoding.UTF8.GetString((byte[])x!)));

        Assert.Equal(0, await c.C.InfoNumberAsync("nats_dropped"));
        Assert.Equal(0, await c.A.InfoNumberAsync("nats_lost"));
        Assert.Equal(historyPublished, await c.C.InfoNumberAsync("nats_history_published"));
        Assert.Equal(historyApplied, await c.A.InfoNumberAsync("nats_history_applied"));
        Assert.Equal(0L, await publisher.CallAsync("EXISTS", Name));
    }

    [Fact]
    public async Task A_channel_and_a_shard_channel_of_one_name_never_meet_across_nodes_and_patterns_never_match_shard_channels()
    {
        var c = Cluster;
        const string Name = "meet";
        await using var channel = await Subscribed(c.A, "SUBSCRIBE", Name);
        await using var shard = await Subscribed(c.A, "SSUBSCRIBE", Name);
        await using var pattern = await Subscribed(c.A, "PSUBSCRIBE", "*");
        await using var publisher = await c.C.ConnectAsync();
        await ProbeChannel(publisher, Name, [channel, pattern]);
        await Probe(publisher, Name, shard);
        var subjects = await c.ClientSubscriptionsAsync(c.A);
        Assert.Contains("notistream.c." + Name, subjects);
        Assert.Contains("notistream.sc." + Name, subjects);

        // Each counts its own: the channel and the pattern for PUBLISH, the shard channel for SPUBLISH.
        var since = Stopwatch.StartNew();
        await AssertWithin(since, TimeSpan.FromSeconds(2), 2L, async () => (long)(await publisher.CallAsync("PUBLISH", Name, "probe"))!, "PUBLISH on C");
        await AssertWithin(since, TimeSpan.FromSeconds(2), 1L, () => SPublish(publisher, Name, "probe"), "SPUBLISH on C");

        // SPUBLISHes first, all delivered on A before the channel's last message is published: one of them
        // delivered to the channel's subscriber or the pattern would come before that message.
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(1L, await SPublish(publisher, Name, $"s{i}"));
        }

        Assert.Equal(100, await ReadSequence(shard, Name, 100, "s"));
        Assert.Equal(2L, await publisher.CallAsync("PUBLISH", Name, "p-end"));
        Assert.Equal(["message p-end"], await ReadUntil(channel, "p-end"));
        Assert.Equal(["pmessage p-end"], await ReadUntil(pattern, "p-end"));

        // And the other way round.
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(2L, await publisher.CallAsync("PUBLISH", Name, $"p{i}"));
        }

        Assert.Equal(100, await ReadSequence(channel, Name, 100, "p", "message"));
        Assert.Equal(100, await ReadSequence(pattern, null, 100, "p"));
        Assert.Equal(1L, await SPublish(publisher, Name, "s-end"));
        Assert.Equal(["smessage s-end"], await ReadUntil(shard, "s-end"));
    }

    [Fact]
    public async Task A_RESP3_client_gets_an_SPUBLISH_from_another_node_as_an_smessage_push()
    {
        var c = Cluster;
        await using var onA = await c.A.ConnectAsync();
        await onA.SendAsync(WireClient.Command("HELLO", "3").Concat(WireClient.Command("SSUBSCRIBE", "resp3.s")).ToArray());
        await using var publisher = await c.C.ConnectAsync();

        // Read raw: the frame must be a push (>), not an array.
        var expected = ">3\r\n$8\r\nsmessage\r\n$7\r\nresp3.s\r\n$2\r\nhi\r\n"u8.ToArray();
        var received = new List<byte>();
        var chunk = new byte[64 * 1024];
        await NatsCluster.WaitUntilAsync(async () =>
        {
            Assert.IsType<long>(await SPublishRaw(publisher, "resp3.s", "hi"));
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            try
            {
                while (received.Count < expected.Length || !Contains(received, expected))
                {
                    var n = await onA.Socket.ReceiveAsync(chunk, wait.Token);
                    received.AddRange(chunk.AsSpan(0, n));
                }
            }
            catch (OperationCanceledException)
            {
            }

            return Contains(received, expected);
        }, "an smessage push reached the RESP3 client on A");
        Assert.Contains(">3\r\n$10\r\nssubscribe\r\n$7\r\nresp3.s\r\n:1\r\n", Encoding.ASCII.GetString([.. received]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SUNSUBSCRIBE_and_a_disconnect_remove_the_node_s_NATS_interest_and_the_others_stop_counting_it()
    {
        var c = Cluster;
        const string Subject = "notistream.sc.leaving";
        await using var first = await Subscribed(c.A, "SSUBSCRIBE", "leaving");
        var second = await Subscribed(c.A, "SSUBSCRIBE", "leaving");
        await using var publisher = await c.C.ConnectAsync();
        await Probe(publisher, "leaving", first);
        await AssertWithin(Stopwatch.StartNew(), TimeSpan.FromSeconds(2), 2L, () => SPublish(publisher, "leaving", "probe"), "SPUBLISH on C counting A's two");

        // Interest routing: A's node holds the subject, B's does not.
        Assert.Contains(Subject, await c.ClientSubscriptionsAsync(c.A));
        Assert.DoesNotContain(Subject, await c.ClientSubscriptionsAsync(c.B));

        // The last local subscriber gone, by SUNSUBSCRIBE and by a disconnect: the NATS subscription goes too.
        await first.SendAsync("SUNSUBSCRIBE", "leaving");
        object?[] frame;
        do
        {
            frame = (object?[])(await first.ReadAsync(ReadLimit))!;
        }
        while (Encoding.UTF8.GetString((byte[])frame[0]!) == "smessage");

        Assert.Equal("sunsubscribe", Encoding.UTF8.GetString((byte[])frame[0]!));
        Assert.Equal(0L, frame[2]);
        Assert.Contains(Subject, await c.ClientSubscriptionsAsync(c.A));
        await second.DisposeAsync();
        await NatsCluster.WaitUntilAsync(async () => !(await c.ClientSubscriptionsAsync(c.A)).Contains(Subject), "A's NATS subscription of the shard channel removed");
        await AssertWithin(Stopwatch.StartNew(), ChangeBound, 0L, () => SPublish(publisher, "leaving", "after"), "SPUBLISH on C after A's subscribers left");
        await AssertWithin(Stopwatch.StartNew(), ChangeBound, "leaving 0",
            async () => NumSub(await publisher.CallAsync("PUBSUB", "SHARDNUMSUB", "leaving")), "SHARDNUMSUB on C");
    }

    [Fact]
    public async Task SPUBLISH_and_PUBSUB_SHARDNUMSUB_and_SHARDCHANNELS_count_every_node_s_shard_subscribers_apart_from_channels()
    {
        var c = Cluster;
        await using var a1 = await Subscribed(c.A, "SSUBSCRIBE", "cnt.s");
        await using var a2 = await Subscribed(c.A, "SSUBSCRIBE", "cnt.s");
        await using var aChannel = await Subscribed(c.A, "SUBSCRIBE", "cnt.s");
        await using var b1 = await Subscribed(c.B, "SSUBSCRIBE", "cnt.s");
        await using var b2 = await Subscribed(c.B, "SSUBSCRIBE", "cnt.only-b");
        await using var local = await Subscribed(c.C, "SSUBSCRIBE", "cnt.s");
        var changed = Stopwatch.StartNew();
        await using var onC = await c.C.ConnectAsync();

        await AssertWithin(changed, ChangeBound, 4L, () => SPublish(onC, "cnt.s", "x"), "SPUBLISH cnt.s on C");
        await AssertWithin(changed, ChangeBound, 1L, async () => (long)(await onC.CallAsync("PUBLISH", "cnt.s", "x"))!, "PUBLISH cnt.s on C");
        await using var onA = await c.A.ConnectAsync();
        foreach (var (client, where) in new[] { (onC, "on C"), (onA, "on A") })
        {
            await AssertWithin(changed, ChangeBound, "cnt.s 4 cnt.only-b 1 cnt.none 0",
                async () => NumSub(await client.CallAsync("PUBSUB", "SHARDNUMSUB", "cnt.s", "cnt.only-b", "cnt.none")), "SHARDNUMSUB " + where);
            await AssertWithin(changed, ChangeBound, "cnt.only-b cnt.s",
                async () => string.Join(' ', Names(await client.CallAsync("PUBSUB", "SHARDCHANNELS", "cnt.*"))), "SHARDCHANNELS " + where);
            await AssertWithin(changed, ChangeBound, "cnt.s 1",
                async () => NumSub(await client.CallAsync("PUBSUB", "NUMSUB", "cnt.s")), "NUMSUB " + where);
            await AssertWithin(changed, ChangeBound, "cnt.s",
                async () => string.Join(' ', Names(await client.CallAsync("PUBSUB", "CHANNELS", "cnt.*"))), "CHANNELS " + where);
        }

        Assert.Contains("nats_remote_shard_channels", (await c.C.InfoAsync()).Keys);
    }

    [Fact]
    public async Task An_SPUBLISH_larger_than_NATS_carries_is_refused_and_delivered_nowhere()
    {
        var c = Cluster;
        await using var local = await Subscribed(c.C, "SSUBSCRIBE", "big.s");
        await using var publisher = await c.C.ConnectAsync();
        var maxPayload = await c.C.InfoNumberAsync("nats_max_payload");
        var error = Assert.IsType<RespError>(await publisher.CallAsync("SPUBLISH", "big.s", new string('x', (int)maxPayload + 1)));
        Assert.Contains("too large for the cluster", error.Message, StringComparison.Ordinal);
        Assert.Contains($"max_payload is {maxPayload}", error.Message, StringComparison.Ordinal);

        Assert.Equal(1L, await SPublish(publisher, "big.s", "small"));
        var frame = (object?[])(await local.ReadAsync(ReadLimit))!;
        Assert.Equal("small", Encoding.UTF8.GetString((byte[])frame[2]!));
    }

    private static async Task<long> SPublish(WireClient publisher, string channel, string message)
        => (long)(await SPublishRaw(publisher, channel, message))!;

    private static Task<object?> SPublishRaw(WireClient publisher, string channel, string message)
        => publisher.CallAsync("SPUBLISH", channel, message);

    /// <summary>SPUBLISHes "probe" until the subscriber gets one; readers skip probes.</summary>
    private static Task Probe(WireClient publisher, string channel, WireClient subscriber)
        => NatsCluster.WaitUntilAsync(async () =>
        {
            Assert.IsType<long>(await SPublishRaw(publisher, channel, "probe"));
            try
            {
                var frame = (object?[])(await subscriber.ReadAsync(TimeSpan.FromMilliseconds(500)))!;
                Assert.Equal("smessage", Encoding.UTF8.GetString((byte[])frame[0]!));
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }, $"an SPUBLISH probe on '{channel}' reached the subscriber");

    /// <summary>PUBLISHes "probe" until every subscriber has had one.</summary>
    private static Task ProbeChannel(WireClient publisher, string channel, WireClient[] subscribers)
    {
        var pending = subscribers.ToList();
        return NatsCluster.WaitUntilAsync(async () =>
        {
            Assert.IsType<long>(await publisher.CallAsync("PUBLISH", channel, "probe"));
            foreach (var subscriber in pending.ToList())
            {
                try
                {
                    _ = await subscriber.ReadAsync(TimeSpan.FromMilliseconds(500));
                    pending.Remove(subscriber);
                }
                catch (OperationCanceledException)
                {
                }
            }

            return pending.Count == 0;
        }, $"a PUBLISH probe on '{channel}' reached every subscriber");
    }

    /// <summary>Reads messages, skipping probes, and checks they are prefix0 … prefix(count-1) in order, each once, of the kind the subscription gives.</summary>
    private static async Task<int> ReadSequence(WireClient subscriber, string? channel, int count, string prefix = "m", string kind = "smessage")
    {
        var next = 0;
        while (next < count)
        {
            var frame = (object?[])(await subscriber.ReadAsync(ReadLimit))!;
            var payload = Encoding.UTF8.GetString((byte[])frame[^1]!);
            if (payload == "probe")
            {
                continue;
            }

            if (channel is not null)
            {
                Assert.Equal(kind, Encoding.UTF8.GetString((byte[])frame[0]!));
                Assert.Equal(channel, Encoding.UTF8.GetString((byte[])frame[1]!));
            }

            Assert.Equal($"{prefix}{next}", payload);
            next++;
        }

        return next;
    }

    /// <summary>Reads frames up to the one whose message is <paramref name="last"/>, skipping probes: each as "kind message".</summary>
    private static async Task<List<string>> ReadUntil(WireClient subscriber, string last)
    {
        var frames = new List<string>();
        while (true)
        {
            var frame = (object?[])(await subscriber.ReadAsync(ReadLimit))!;
            var payload = Encoding.UTF8.GetString((byte[])frame[^1]!);
            if (payload == "probe")
            {
                continue;
            }

            frames.Add(Encoding.UTF8.GetString((byte[])frame[0]!) + " " + payload);
            if (payload == last)
            {
                return frames;
            }
        }
    }

    private static bool Contains(List<byte> haystack, byte[] needle)
        => haystack.ToArray().AsSpan().IndexOf(needle) >= 0;
}
