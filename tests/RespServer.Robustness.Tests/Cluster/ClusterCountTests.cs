using System.Diagnostics;
using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;
using static Notistream.RespServer.Robustness.Tests.Cluster.ClusterReplies;

namespace Notistream.RespServer.Robustness.Tests.Cluster;

/// <summary>
/// Counting across the cluster (docs/cluster.md#counting-across-the-cluster) and the SUBSCRIBE confirmation
/// that comes after the node's NATS server has its interest (docs/cluster.md#subscribing), on three nodes
/// over three clustered nats-servers of their own (so no other test's subscription is counted), whose nodes keep
/// history for follow.* only: every other message takes the core NATS path whose interest these tests follow.
/// </summary>
public sealed class ClusterCountTests(NatsClusterWithoutHistory cluster) : IClassFixture<NatsClusterWithoutHistory>
{
    /// <summary>docs/cluster.md: a subscription change on one node is counted by every other node within a second.</summary>
    private static readonly TimeSpan ChangeBound = TimeSpan.FromSeconds(1);

    /// <summary>docs/cluster.md: a node that dies is no longer counted within four seconds.</summary>
    private static readonly TimeSpan DeadNodeBound = TimeSpan.FromSeconds(4);

    private static readonly TimeSpan ReadLimit = ClusterReplies.ReadLimit;

    /// <summary>docs/cluster.md: a node not heard from for 3 s is forgotten.</summary>
    private const int NodeTimeoutMs = 3_000;

    private NatsClusterWithoutHistory Cluster
    {
        get
        {
            ExternalProgram.Require("nats-server", "apt-get install nats-server");
            return cluster;
        }
    }

    [Fact]
    public async Task PUBLISH_on_C_counts_the_channel_and_pattern_subscribers_of_A_and_B()
    {
        var c = Cluster;
        await using var a1 = await Subscribed(c.A, "SUBSCRIBE", "count.x");
        await using var a2 = await Subscribed(c.A, "SUBSCRIBE", "count.x");
        await using var aPattern = await Subscribed(c.A, "PSUBSCRIBE", "count.*");
        await using var aBroad = await Subscribed(c.A, "PSUBSCRIBE", "cou?t*");
        await using var b1 = await Subscribed(c.B, "SUBSCRIBE", "count.x");
        await using var bPattern = await Subscribed(c.B, "PSUBSCRIBE", "count.*");
        await using var local = await Subscribed(c.C, "SUBSCRIBE", "count.x");
        var changed = Stopwatch.StartNew();
        await using var publisher = await c.C.ConnectAsync();

        // count.x: C 1, A 2 + count.* + cou?t*, B 1 + count.*; a client reached through a channel and a
        // pattern counts twice, as in Redis.
        await AssertWithin(changed, ChangeBound, 7, () => Publish(publisher, "count.x"), "PUBLISH count.x on C");
        Assert.Equal(3L, await Publish(publisher, "count.other"));
        Assert.Equal(0L, await Publish(publisher, "nobody"));

        // A change is counted within the bound too: B's channel subscriber leaves, A's broad pattern leaves.
        await b1.SendAsync("UNSUBSCRIBE", "count.x");
        await ReadConfirmation(b1, "unsubscribe");
        await aBroad.SendAsync("PUNSUBSCRIBE", "cou?t*");
        await ReadConfirmation(aBroad, "punsubscribe");
        changed.Restart();
        await AssertWithin(changed, ChangeBound, 5, () => Publish(publisher, "count.x"), "PUBLISH count.x on C after two unsubscribes");

        // And from every node: A counts C's local subscriber and B's pattern.
        await using var onA = await c.A.ConnectAsync();
        await AssertWithin(changed, ChangeBound, 5, () => Publish(onA, "count.x"), "PUBLISH count.x on A after two unsubscribes");
    }

    [Fact]
    public async Task PUBSUB_NUMSUB_CHANNELS_and_NUMPAT_answer_for_the_cluster_on_every_node()
    {
        var c = Cluster;
        await using var a1 = await Subscribed(c.A, "SUBSCRIBE", "ps.shared");
        await using var a2 = await Subscribed(c.A, "SUBSCRIBE", "ps.only-a");
        await using var b1 = await Subscribed(c.B, "SUBSCRIBE", "ps.shared");
        await using var c1 = await Subscribed(c.C, "SUBSCRIBE", "ps.shared");
        await using var aPattern = await Subscribed(c.A, "PSUBSCRIBE", "ps.*");
        await using var bPattern = await Subscribed(c.B, "PSUBSCRIBE", "ps.*");
        await using var bOther = await Subscribed(c.B, "PSUBSCRIBE", "ps.?x");
        var changed = Stopwatch.StartNew();

        foreach (var node in c.Nodes)
        {
            await using var client = await node.ConnectAsync();
            var where = $"on the node of port {node.Port}";
            await AssertWithin(changed, ChangeBound, "ps.shared 3 ps.only-a 1 ps.none 0",
                async () => NumSub(await client.CallAsync("PUBSUB", "NUMSUB", "ps.shared", "ps.only-a", "ps.none")), "NUMSUB " + where);

            // NUMPAT is the number of distinct patterns, as Redis 7 counts it: ps.* on A and B is one.
            await AssertWithin(changed, ChangeBound, 2L, async () => (long)(await client.CallAsync("PUBSUB", "NUMPAT"))!, "NUMPAT " + where);
            Assert.Equal(["ps.only-a", "ps.shared"], Names(await client.CallAsync("PUBSUB", "CHANNELS", "ps.*")));
            Assert.Equal(["ps.only-a"], Names(await client.CallAsync("PUBSUB", "CHANNELS", "*only*")));
        }

        // A node that leaves all of them: gone from every node's answers.
        await a2.SendAsync("UNSUBSCRIBE", "ps.only-a");
        Assert.Equal("unsubscribe", Kind(await a2.ReadAsync(ReadLimit)));
        await bOther.SendAsync("PUNSUBSCRIBE", "ps.?x");
        Assert.Equal("punsubscribe", Kind(await bOther.ReadAsync(ReadLimit)));
        changed.Restart();
        await using var onC = await c.C.ConnectAsync();
        await AssertWithin(changed, ChangeBound, 1L, async () => (long)(await onC.CallAsync("PUBSUB", "NUMPAT"))!, "NUMPAT on C");
        await AssertWithin(changed, ChangeBound, "ps.shared",
            async () => string.Join(' ', Names(await onC.CallAsync("PUBSUB", "CHANNELS", "ps.*"))), "CHANNELS on C");
    }

    [Fact]
    public async Task A_NOTI_SUBSCRIBE_follower_is_counted_on_its_own_node_only()
    {
        var c = Cluster;
        await using var follower = await c.B.ConnectAsync();
        await follower.SendAsync("NOTI.SUBSCRIBE", "$", "CHANNELS", "1", "follow.x");
        Assert.Equal("noti.subscribe", Kind(await follower.ReadAsync(ReadLimit)));

        // Told after the follower: once A counts it, A has heard of the follower too.
        await using var subscriber = await Subscribed(c.B, "SUBSCRIBE", "follow.y");
        await using var onA = await c.A.ConnectAsync();
        await AssertWithin(Stopwatch.StartNew(), ChangeBound, 1, () => Publish(onA, "follow.y"), "PUBLISH follow.y on A");

        // A follower is counted where it follows only: the other nodes are not told of it.
        Assert.Equal(0L, await Publish(onA, "follow.x"));
        Assert.Equal("follow.x 0", NumSub(await onA.CallAsync("PUBSUB", "NUMSUB", "follow.x")));
        await using var onB = await c.B.ConnectAsync();
        Assert.Equal("follow.x 1", NumSub(await onB.CallAsync("PUBSUB", "NUMSUB", "follow.x")));
    }

    [Fact]
    public async Task A_PSUBSCRIBE_after_a_follower_of_the_same_pattern_gets_what_another_node_publishes_and_its_leaving_ends_the_NATS_interest()
    {
        var c = Cluster;
        static bool Scoped(List<string> subjects) => subjects.Any(s => s.StartsWith("notistream.c.late", StringComparison.Ordinal));

        // The follower comes first: the pattern is there on A, but wants nothing from NATS (followers read A's history).
        await using var follower = await c.A.ConnectAsync();
        await follower.SendAsync("NOTI.SUBSCRIBE", "$", "PATTERNS", "1", "late.*");
        Assert.Equal("noti.subscribe", Kind(await follower.ReadAsync(ReadLimit)));

        // The PSUBSCRIBE after it is the first subscriber the other nodes count: its reply waits for A's NATS
        // interest, so a message published on C right after it arrives.
        await using var subscriber = await Subscribed(c.A, "PSUBSCRIBE", "late.*");
        Assert.True(Scoped(await c.ClientSubscriptionsAsync(c.A)));
        await using var onC = await c.C.ConnectAsync();
        await onC.CallAsync("PUBLISH", "late.1", "hello");
        var frame = Assert.IsType<object?[]>(await subscriber.ReadAsync(ReadLimit));
        Assert.Equal(["pmessage", "late.*", "late.1", "hello"], frame.Select(f => Encoding.UTF8.GetString((byte[])f!)));

        // It leaves while the follower stays: the NATS interest goes with it.
        await subscriber.SendAsync("PUNSUBSCRIBE", "late.*");
        Assert.Equal("punsubscribe", Kind(await subscriber.ReadAsync(ReadLimit)));
        await NatsCluster.WaitUntilAsync(async () => !Scoped(await c.ClientSubscriptionsAsync(c.A)), "A's NATS subscription for late.* removed");
    }

    [Fact]
    public async Task A_killed_node_s_subscribers_stop_being_counted_within_the_bound()
    {
        var c = Cluster;
        await using var node = await ServerProcess.StartAsync(FreePort.Next(), "--nats-servers", $"nats://127.0.0.1:{c.A.NatsPort.ToString(CultureInfo.InvariantCulture)}");
        await using var onD = await WireClient.ConnectAsync(node.Port);
        foreach (var (command, name) in new[] { ("SUBSCRIBE", "doomed.x"), ("PSUBSCRIBE", "doomed.*") })
        {
            await onD.SendAsync(command, name);
            Assert.Equal(command.ToLowerInvariant(), Kind(await onD.ReadAsync(ReadLimit)));
        }

        await using var publisher = await c.C.ConnectAsync();
        await AssertWithin(Stopwatch.StartNew(), ChangeBound, 2, () => Publish(publisher, "doomed.x"), "PUBLISH on C counting the new node's subscribers");
        Assert.Equal(3, await c.C.InfoNumberAsync("nats_remote_nodes"));

        // kill -9: no goodbye, only the missing heartbeats tell.
        node.Process.Kill();
        await node.Process.WaitForExitAsync();
        var killed = Stopwatch.StartNew();
        await AssertWithin(killed, DeadNodeBound, 0, () => Publish(publisher, "doomed.x"), "PUBLISH on C after the node was killed");
        Assert.Equal(2, await c.C.InfoNumberAsync("nats_remote_nodes"));
    }

    [Fact]
    public async Task A_node_that_stops_is_forgotten_at_once_and_stays_forgotten()
    {
        var c = Cluster;
        await using var node = await ServerProcess.StartAsync(FreePort.Next(), "--nats-servers", $"nats://127.0.0.1:{c.B.NatsPort.ToString(CultureInfo.InvariantCulture)}");
        await using (var onD = await WireClient.ConnectAsync(node.Port))
        {
            await onD.SendAsync("SUBSCRIBE", "leaving.x");
            Assert.Equal("subscribe", Kind(await onD.ReadAsync(ReadLimit)));
            await using var publisher = await c.C.ConnectAsync();
            await AssertWithin(Stopwatch.StartNew(), ChangeBound, 1, () => Publish(publisher, "leaving.x"), "PUBLISH on C counting the new node's subscriber");

            // SIGTERM: the node says goodbye as its stream's last message; no heartbeat after it brings it back.
            node.Terminate();
            await node.Process.WaitForExitAsync();
            var stopped = Stopwatch.StartNew();
            await AssertWithin(stopped, ChangeBound, 0, () => Publish(publisher, "leaving.x"), "PUBLISH on C after the node stopped");
            while (stopped.Elapsed < TimeSpan.FromMilliseconds(NodeTimeoutMs + 500))
            {
                Assert.Equal(0L, await Publish(publisher, "leaving.x"));
                await Task.Delay(50);
            }
        }
    }

    [Fact]
    public async Task A_subscriber_that_read_its_confirmation_gets_a_message_published_on_another_node_right_after()
    {
        var c = Cluster;
        await using var subscriber = await c.A.ConnectAsync();
        await using var publisher = await c.C.ConnectAsync();
        const int Rounds = 400;
        var run = Guid.NewGuid().ToString("N")[..8];

        // Every confirmation must come from the probe's answers, not from a limit running out.
        var waitTimeouts = await c.A.InfoNumberAsync("nats_subscribe_wait_timeouts");
        var probeTimeouts = await c.A.InfoNumberAsync("nats_probe_timeouts");
        for (var i = 0; i < Rounds; i++)
        {
            // A fresh name each round: A's node has no NATS interest for it before this SUBSCRIBE. Half the
            // rounds a channel, a quarter a pattern, a quarter a shard channel (SSUBSCRIBE, then SPUBLISH).
            var (subscribe, publish, message) = (i % 4) switch
            {
                2 => ("PSUBSCRIBE", "PUBLISH", "pmessage"),
                3 => ("SSUBSCRIBE", "SPUBLISH", "smessage"),
                _ => ("SUBSCRIBE", "PUBLISH", "message"),
            };
            var pattern = subscribe == "PSUBSCRIBE";
            var name = $"race.{run}.{i.ToString(CultureInfo.InvariantCulture)}";
            await subscriber.SendAsync(subscribe, pattern ? name + ".*" : name);
            Assert.Equal(subscribe.ToLowerInvariant(), Kind(await subscriber.ReadAsync(ReadLimit)));

            var channel = pattern ? name + ".x" : name;
            Assert.IsType<long>(await publisher.CallAsync(publish, channel, "right-after"));
            object?[] frame;
            try
            {
                frame = (object?[])(await subscriber.ReadAsync(TimeSpan.FromSeconds(2)))!;
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"round {i}: the message published on C right after the {subscribe} reply never reached A's subscriber");
                throw;
            }

            Assert.Equal(message, Kind(frame));
            Assert.Equal(channel, Encoding.UTF8.GetString((byte[])frame[^2]!));
        }

        Assert.Equal(waitTimeouts, await c.A.InfoNumberAsync("nats_subscribe_wait_timeouts"));
        Assert.Equal(probeTimeouts, await c.A.InfoNumberAsync("nats_probe_timeouts"));
    }

    [Fact]
    public async Task A_SUBSCRIBE_to_a_followed_channel_does_not_wait_for_other_names_changes()
    {
        var c = Cluster;
        await using var first = await Subscribed(c.A, "SUBSCRIBE", "followed.x");
        var run = Guid.NewGuid().ToString("N")[..8];
        const int Names = 300;
        await using var churn = await c.A.ConnectAsync();
        for (var i = 0; i < Names; i++)
        {
            await churn.SendAsync("SUBSCRIBE", $"churn.{run}.{i}");
            Assert.Equal("subscribe", Kind(await churn.ReadAsync(ReadLimit)));
        }

        // While the other connection's last-subscriber changes go to NATS one round after another, the
        // SUBSCRIBEs to a channel the node already follows are confirmed without waiting.
        await using var again = await c.A.ConnectAsync();
        var waits = await c.A.InfoNumberAsync("nats_subscribe_waits");
        var unsubscribing = Task.Run(async () =>
        {
            for (var i = 0; i < Names; i++)
            {
                await churn.SendAsync("UNSUBSCRIBE", $"churn.{run}.{i}");
                Assert.Equal("unsubscribe", Kind(await churn.ReadAsync(ReadLimit)));
            }
        });
        for (var i = 0; i < Names; i++)
        {
            await again.SendAsync("SUBSCRIBE", "followed.x");
            Assert.Equal("subscribe", Kind(await again.ReadAsync(ReadLimit)));
        }

        await unsubscribing;
        Assert.Equal(waits, await c.A.InfoNumberAsync("nats_subscribe_waits"));
    }

    /// <summary>Reads past the messages the counting PUBLISHes delivered, to the confirmation.</summary>
    private static async Task ReadConfirmation(WireClient client, string kind)
    {
        string got;
        do
        {
            got = Kind(await client.ReadAsync(ReadLimit));
        }
        while (got is "message" or "pmessage");

        Assert.Equal(kind, got);
    }

    private static async Task<long> Publish(WireClient publisher, string channel)
        => Assert.IsType<long>(await publisher.CallAsync("PUBLISH", channel, "count"));
}
