using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Cluster;

/// <summary>
/// Three nodes on three clustered nats-servers (docs/cluster.md): live SUBSCRIBE and PSUBSCRIBE delivery
/// across nodes, in order and once; odd channel names; interest routing; the NATS size limit.
/// </summary>
public sealed class ClusterDeliveryTests(NatsCluster cluster) : IClassFixture<NatsCluster>
{
    private static readonly TimeSpan ReadLimit = TimeSpan.FromSeconds(20);

    private NatsCluster Cluster
    {
        get
        {
            ExternalProgram.Require("nats-server", "apt-get install nats-server");
            return cluster;
        }
    }

    [Fact]
    public async Task Ten_thousand_messages_published_on_C_reach_subscribers_on_A_and_B_all_once_in_order()
    {
        var c = Cluster;
        await using var onA = await Subscribed(c.A, "SUBSCRIBE", "orders");
        await using var onB = await Subscribed(c.B, "SUBSCRIBE", "orders");
        await using var publisher = await c.C.ConnectAsync();
        await Probe(publisher, "orders", [(onA, 1), (onB, 1)]);
        await CountedOnAllNodes(publisher, "orders", 2);

        const int Count = 10_000;
        var pipeline = new MemoryStream();
        for (var i = 0; i < Count; i++)
        {
            pipeline.Write(Command("PUBLISH", "orders", $"m{i}"));
        }

        await publisher.SendAsync(pipeline.ToArray());
        var readA = ReadSequence(onA, "orders", Count);
        var readB = ReadSequence(onB, "orders", Count);
        for (var i = 0; i < Count; i++)
        {
            // No subscriber on C itself: each reply counts A's and B's (docs/cluster.md#counting-across-the-cluster).
            Assert.Equal(2L, await publisher.ReadAsync(ReadLimit));
        }

        Assert.Equal(Count, await readA);
        Assert.Equal(Count, await readB);
        Assert.Equal(0, await c.C.InfoNumberAsync("nats_dropped"));
    }

    [Fact]
    public async Task Patterns_reach_across_nodes_and_a_client_with_a_channel_and_a_covering_pattern_gets_each_once()
    {
        var c = Cluster;
        // On A: one client holds the channel and a pattern covering it; another holds a broader pattern, so
        // A's node has three NATS subscriptions matching alerts.x and receives three copies of each message.
        await using var both = await Subscribed(c.A, "SUBSCRIBE", "alerts.x");
        await both.SendAsync("PSUBSCRIBE", "alerts.*");
        Assert.Equal("psubscribe", Kind(await both.ReadAsync(ReadLimit)));
        await using var broad = await Subscribed(c.A, "PSUBSCRIBE", "al*");
        await using var onB = await Subscribed(c.B, "PSUBSCRIBE", "alerts.?");
        await using var publisher = await c.C.ConnectAsync();
        await Probe(publisher, "alerts.x", [(both, 2), (broad, 1), (onB, 1)]);
        await CountedOnAllNodes(publisher, "alerts.x", 4);

        const int Count = 200;
        for (var i = 0; i < Count; i++)
        {
            await publisher.SendAsync(Command("PUBLISH", i % 2 == 0 ? "alerts.x" : "alerts.y", $"p{i}"));
        }

        for (var i = 0; i < Count; i++)
        {
            // alerts.x: a channel and three patterns' subscriptions; alerts.y: the three patterns.
            Assert.Equal(i % 2 == 0 ? 4L : 3L, await publisher.ReadAsync(ReadLimit));
        }

        // both: a message (alerts.x only) and a pmessage for every publish, each once and in order.
        var messages = new List<string>();
        var pmessages = new List<string>();
        while (messages.Count < Count / 2 || pmessages.Count < Count)
        {
            var frame = (object?[])(await both.ReadAsync(ReadLimit))!;
            var payload = Encoding.UTF8.GetString((byte[])frame[^1]!);
            if (payload == "probe")
            {
                continue;
            }

            (Kind(frame) == "message" ? messages : pmessages).Add(payload);
        }

        Assert.Equal(Enumerable.Range(0, Count).Where(i => i % 2 == 0).Select(i => $"p{i}"), messages);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"p{i}"), pmessages);
        Assert.Equal(Count, await ReadSequence(broad, null, Count, "p"));
        Assert.Equal(Count, await ReadSequence(onB, null, Count, "p"));

        // Nothing more: a duplicate would be waiting now, behind the last expected message.
        await publisher.SendAsync(Command("PUBLISH", "alerts.x", "end"));
        Assert.Equal(4L, await publisher.ReadAsync(ReadLimit));
        var last = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var frame = (object?[])(await both.ReadAsync(ReadLimit))!;
            last.Add(Kind(frame) + " " + Encoding.UTF8.GetString((byte[])frame[^1]!));
        }

        Assert.Equal(["message end", "pmessage end"], last.Order());
    }

    [Fact]
    public async Task Odd_channel_names_round_trip_across_nodes_exactly()
    {
        var c = Cluster;
        var long64k = new byte[64 * 1024];
        new Random(42).NextBytes(long64k);
        byte[][] names =
        [
            [0, 1, 2, 0xFF, 0x80, (byte)'\r', (byte)'\n'],
            "with spaces in it"u8.ToArray(),
            "a..b"u8.ToArray(),
            "."u8.ToArray(),
            "..."u8.ToArray(),
            []
            ,
            "*"u8.ToArray(),
            ">"u8.ToArray(),
            "a.*.>"u8.ToArray(),
            "~7E"u8.ToArray(),
            "~"u8.ToArray(),
            "é.ü"u8.ToArray(),
            long64k,
        ];
        await using var onA = await c.A.ConnectAsync();
        await using var patternOnB = await Subscribed(c.B, "PSUBSCRIBE", "*");
        await using var publisher = await c.C.ConnectAsync();
        await Probe(publisher, "warm-up", [(patternOnB, 1)]);
        foreach (var name in names)
        {
            await onA.SendAsync(Command("SUBSCRIBE"u8.ToArray(), name));
            var confirmation = (object?[])(await onA.ReadAsync(ReadLimit))!;
            Assert.Equal(name, (byte[])confirmation[1]!);

            // Published until A's client gets it: the exact name came back through NATS.
            var got = await ProbeOne(publisher, name, onA);
            Assert.Equal("message", Kind(got));
            Assert.Equal(name, (byte[])got[1]!);

            if (name.Length == 0)
            {
                // As in Redis 7, '*' does not match the empty channel: no pmessage to wait for.
                continue;
            }

            // And through B's pattern (the 64 KiB name by the wildcard of long names).
            object?[] viaPattern;
            do
            {
                try
                {
                    viaPattern = (object?[])(await patternOnB.ReadAsync(ReadLimit))!;
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"B's pattern did not receive the name {WireClient.Escape(name)}");
                }
            }
            while (!((byte[])viaPattern[2]!).AsSpan().SequenceEqual(name));

            Assert.Equal("pmessage", Kind(viaPattern));
        }
    }

    [Fact]
    public async Task A_channel_with_subscribers_only_on_A_costs_B_nothing_and_unsubscribing_removes_A_s_interest()
    {
        var c = Cluster;
        // Other tests' subscriptions are gone from NATS before B is measured.
        await NatsCluster.WaitUntilAsync(async () => await c.B.InfoNumberAsync("nats_subscriptions") == 0, "B holds no NATS subscription");
        await using var onA = await Subscribed(c.A, "SUBSCRIBE", "only-on-a");
        await using var publisher = await c.C.ConnectAsync();
        await Probe(publisher, "only-on-a", [(onA, 1)]);
        const string Subject = "notistream.c.only-on-a";
        Assert.Contains(Subject, await c.ClientSubscriptionsAsync(c.A));
        Assert.DoesNotContain(Subject, await c.ClientSubscriptionsAsync(c.B));

        var receivedBefore = await c.B.InfoNumberAsync("nats_received");
        const int Count = 1_000;
        for (var i = 0; i < Count; i++)
        {
            await publisher.SendAsync(Command("PUBLISH", "only-on-a", $"m{i}"));
        }

        Assert.Equal(Count, await ReadSequence(onA, "only-on-a", Count));
        Assert.Equal(receivedBefore, await c.B.InfoNumberAsync("nats_received"));
        using (var subsz = await c.MonitorAsync(c.B.NatsMonitorPort, "/connz?subs=1"))
        {
            // B's node sent nothing and was sent nothing for this channel: its connection's counters say so.
            Assert.DoesNotContain(Subject, subsz.RootElement.ToString());
        }

        await onA.SendAsync("UNSUBSCRIBE", "only-on-a");
        Assert.Equal("unsubscribe", Kind(await onA.ReadAsync(ReadLimit)));
        await NatsCluster.WaitUntilAsync(async () => !(await c.ClientSubscriptionsAsync(c.A)).Contains(Subject), "A's NATS subscription removed");
    }

    [Fact]
    public async Task A_message_larger_than_NATS_carries_is_refused_with_a_clear_error_and_delivered_nowhere()
    {
        var c = Cluster;
        await using var local = await Subscribed(c.C, "SUBSCRIBE", "big");
        await using var publisher = await c.C.ConnectAsync();
        var maxPayload = await c.C.InfoNumberAsync("nats_max_payload");
        var reply = await publisher.CallAsync("PUBLISH", "big", new string('x', (int)maxPayload + 1));
        var error = Assert.IsType<RespError>(reply);
        Assert.Contains("too large for the cluster", error.Message, StringComparison.Ordinal);
        Assert.Contains($"max_payload is {maxPayload}", error.Message, StringComparison.Ordinal);

        // The next message is the first the local subscriber sees.
        Assert.Equal(1L, await publisher.CallAsync("PUBLISH", "big", "small"));
        var frame = (object?[])(await local.ReadAsync(ReadLimit))!;
        Assert.Equal("small", Encoding.UTF8.GetString((byte[])frame[2]!));
    }

    [Fact]
    public void The_commands_of_docs_cluster_md_are_the_ones_these_tests_run()
    {
        var block = DocPage.Block("docs/cluster.md", "nats-server -a");
        (int, int, int)[] ports = [(4222, 6222, 8222), (4223, 6223, 8223), (4224, 6224, 8224)];
        var expected = Enumerable.Range(0, 3).Select(i => "nats-server " + string.Join(' ', NatsCluster.NatsArguments(i, ports)))
            .Concat(Enumerable.Range(0, 3).Select(i => $"notistream-server --port {6379 + i} " + string.Join(' ', NatsCluster.NodeArguments(4222 + i))));
        Assert.Equal(expected, block.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static async Task<WireClient> Subscribed(NatsNode node, string command, string name)
    {
        var client = await node.ConnectAsync();
        await client.SendAsync(command, name);
        var confirmation = (object?[])(await client.ReadAsync(ReadLimit))!;
        Assert.Equal(command.ToLowerInvariant(), Kind(confirmation));
        return client;
    }

    /// <summary>
    /// Publishes "probe" to <paramref name="channel"/> until every subscriber has had <c>Frames</c> of them in
    /// one go (the nodes' NATS subscriptions follow a SUBSCRIBE shortly after its confirmation, and routes
    /// take the interest to the other servers). Readers skip probes: they all precede what follows.
    /// </summary>
    private static async Task Probe(WireClient publisher, string channel, (WireClient Client, int Frames)[] subscribers)
    {
        var pending = subscribers.ToList();
        await NatsCluster.WaitUntilAsync(async () =>
        {
            Assert.Equal(RespType.Integer, Classify(await publisher.CallAsync("PUBLISH", channel, "probe")));
            foreach (var entry in pending.ToList())
            {
                try
                {
                    for (var i = 0; i < entry.Frames; i++)
                    {
                        _ = await entry.Client.ReadAsync(TimeSpan.FromMilliseconds(500));
                    }

                    pending.Remove(entry);
                }
                catch (OperationCanceledException)
                {
                }
            }

            return pending.Count == 0;
        }, $"a probe on '{channel}' reached every subscriber");
    }

    /// <summary>
    /// Publishes "probe" until the reply counts <paramref name="expected"/> receivers on the other nodes (their
    /// interest gossip follows a SUBSCRIBE within a second, docs/cluster.md#counting-across-the-cluster).
    /// </summary>
    private static async Task CountedOnAllNodes(WireClient publisher, string channel, long expected)
        => await NatsCluster.WaitUntilAsync(async () => (long)(await publisher.CallAsync("PUBLISH", channel, "probe"))! == expected,
            $"PUBLISH {channel} counts {expected} receivers", TimeSpan.FromSeconds(2));

    /// <summary>Publishes "probe" to a binary channel until the subscriber gets a message; returns it.</summary>
    private static async Task<object?[]> ProbeOne(WireClient publisher, byte[] channel, WireClient subscriber)
    {
        object?[]? got = null;
        await NatsCluster.WaitUntilAsync(async () =>
        {
            await publisher.SendAsync(Command("PUBLISH"u8.ToArray(), channel, "probe"u8.ToArray()));
            _ = await publisher.ReadAsync(ReadLimit);
            try
            {
                // Probes of the name before may still come first: the one wanted is the one with this name.
                do
                {
                    got = (object?[])(await subscriber.ReadAsync(TimeSpan.FromMilliseconds(500)))!;
                }
                while (!((byte[])got[1]!).AsSpan().SequenceEqual(channel));

                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }, "a probe reached the subscriber");
        return got!;
    }

    /// <summary>Reads messages, skipping probes, and checks they are prefix0 … prefix(count-1) in order, each once.</summary>
    private static async Task<int> ReadSequence(WireClient subscriber, string? channel, int count, string prefix = "m")
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
                Assert.Equal(channel, Encoding.UTF8.GetString((byte[])frame[1]!));
            }

            Assert.Equal($"{prefix}{next}", payload);
            next++;
        }

        return next;
    }

    private static string Kind(object? frame) => Encoding.UTF8.GetString((byte[])((object?[])frame!)[0]!);

    private enum RespType
    {
        Integer,
        Other,
    }

    private static RespType Classify(object? reply) => reply is long ? RespType.Integer : RespType.Other;

    private static byte[] Command(params string[] args) => WireClient.Command(args);

    private static byte[] Command(params byte[][] args)
    {
        var bytes = new MemoryStream();
        bytes.Write(Encoding.ASCII.GetBytes($"*{args.Length}\r\n"));
        foreach (var arg in args)
        {
            bytes.Write(Encoding.ASCII.GetBytes($"${arg.Length}\r\n"));
            bytes.Write(arg);
            bytes.Write("\r\n"u8);
        }

        return bytes.ToArray();
    }
}
