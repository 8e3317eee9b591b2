using System.Diagnostics;
using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Cluster;

/// <summary>
/// The cluster's history in JetStream (nats-history jetstream, the default): a message published on any
/// node gets the same id on every node, a PUBLISH's reply comes once it is in this node's history,
/// live subscribers on other nodes get every message once and in order, a follower's cursor obtained on
/// one node resumes on another exactly, and without JetStream a PUBLISH to a channel with history is
/// refused (CLUSTERDOWN) while the node goes on serving.
/// </summary>
public sealed class ClusterHistoryTests(NatsCluster cluster) : IClassFixture<NatsCluster>
{
    private NatsCluster Cluster
    {
        get
        {
            ExternalProgram.Require("nats-server", "apt-get install nats-server");
            return cluster;
        }
    }

    [Fact]
    public async Task A_message_published_on_C_has_the_same_id_on_every_node_and_1000_pipelined_ones_too_in_order()
    {
        var c = Cluster;
        foreach (var node in c.Nodes)
        {
            var info = await node.InfoAsync();
            Assert.Equal("jetstream", info["nats_history"]);
            Assert.Equal("1", info["nats_history_ready"]);
        }

        await using var publisher = await c.C.ConnectAsync();
        var reply = Assert.IsType<object?[]>(await publisher.CallAsync("NOTI.PUBLISH", "hist.one", "hello"));
        Assert.Equal(0L, reply[0]);
        var id = Text(reply[1]);
        Assert.Matches(@"^\d+-\d+$", id);
        foreach (var node in c.Nodes)
        {
            var entries = await History.WaitRangeAsync(node.Port, "hist.one", 1);
            Assert.Equal(new[] { (id, "hello") }, entries);
        }

        const int Count = 1_000;
        await publisher.SendAsync(Enumerable.Range(0, Count).SelectMany(i => WireClient.Command("PUBLISH", "hist.bulk", $"m{i}")).ToArray());
        for (var i = 0; i < Count; i++)
        {
            Assert.Equal(0L, await publisher.ReadAsync(History.ReadLimit));
        }

        // Each PUBLISH was answered once C applied it: C holds all of them already.
        var onC = await History.RangeAsync(c.C.Port, "hist.bulk");
        Assert.Equal(Count, onC.Count);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"m{i}"), onC.Select(e => e.Message));
        var ids = onC.Select(e => History.ParseId(e.Id)).ToList();
        for (var i = 1; i < Count; i++)
        {
            Assert.True(History.Compare(ids[i - 1], ids[i]) < 0, $"ids not strictly increasing at {i}: {onC[i - 1].Id} then {onC[i].Id}");

            // <ms>-<JetStream sequence>: one connection's publishes, nothing else in this cluster meanwhile.
            Assert.Equal(ids[i - 1].Seq + 1, ids[i].Seq);
        }

        foreach (var node in new[] { c.A, c.B })
        {
            Assert.Equal(onC, await History.WaitRangeAsync(node.Port, "hist.bulk", Count));
        }

        await NatsCluster.WaitUntilAsync(async () =>
        {
            var applied = new List<long>();
            foreach (var node in c.Nodes)
            {
                applied.Add(await node.InfoNumberAsync("nats_history_applied_seq"));
            }

            return applied.Distinct().Count() == 1 && applied[0] >= (long)ids[^1].Seq;
        }, "every node applied the stream up to the last message");
    }

    [Fact]
    public async Task A_PUBLISH_reply_means_the_message_is_in_history_and_a_subscriber_on_A_gets_2000_published_on_C_once_in_order()
    {
        var c = Cluster;

        // PUBLISH and XREVRANGE in one write: the XREVRANGE runs after the PUBLISH's reply, so it sees the message.
        foreach (var node in new[] { c.C, c.A })
        {
            await using var client = await node.ConnectAsync();
            for (var i = 0; i < 100; i++)
            {
                var message = $"sync-{node.Port}-{i}";
                byte[] oneWrite = [.. WireClient.Command("PUBLISH", "hist.sync", message), .. WireClient.Command("XREVRANGE", "hist.sync", "+", "-", "COUNT", "1")];
                await client.SendAsync(oneWrite);
                Assert.IsType<long>(await client.ReadAsync(History.ReadLimit));
                var last = History.Entries(await client.ReadAsync(History.ReadLimit));
                Assert.Equal(message, Assert.Single(last).Message);
            }
        }

        // A subscriber on A: every message published on C (applied from the stream on A), once, in order.
        await using var subscriber = await c.A.ConnectAsync();
        var confirmation = Assert.IsType<object?[]>(await subscriber.CallAsync("SUBSCRIBE", "hist.live"));
        Assert.Equal("subscribe", Text(confirmation[0]));
        await using var publisher = await c.C.ConnectAsync();
        const int Count = 2_000;
        await publisher.SendAsync(Enumerable.Range(0, Count).SelectMany(i => WireClient.Command("PUBLISH", "hist.live", $"m{i}")).ToArray());
        var replies = Task.Run(async () =>
        {
            for (var i = 0; i < Count; i++)
            {
                Assert.IsType<long>(await publisher.ReadAsync(History.ReadLimit));
            }
        });
        for (var i = 0; i < Count; i++)
        {
            var frame = Assert.IsType<object?[]>(await subscriber.ReadAsync(History.ReadLimit));
            Assert.Equal("message", Text(frame[0]));
            Assert.Equal("hist.live", Text(frame[1]));
            if ($"m{i}" != Text(frame[2]))
            {
                // What the nodes applied tells a message skipped from the stream from one not delivered.
                await replies;
                var ia = await c.A.InfoAsync();
                var ic = await c.C.InfoAsync();
                var ra = await History.RangeAsync(c.A.Port, "hist.live");
                var rc = await History.RangeAsync(c.C.Port, "hist.live");
                Assert.Fail($"A's subscriber got {Text(frame[2])} where m{i} was next; nats_history_applied/applied_seq: A {ia["nats_history_applied"]}/{ia["nats_history_applied_seq"]}, "
                    + $"C {ic["nats_history_applied"]}/{ic["nats_history_applied_seq"]}; history of hist.live on A: {ra.Count} entries {ra[0]} … {ra[^1]}, on C: {rc.Count} entries {rc[0]} … {rc[^1]}");
            }
        }

        await replies;

        // Nothing more (a duplicate would come before it).
        Assert.IsType<long>(await publisher.CallAsync("PUBLISH", "hist.live", "end"));
        Assert.Equal("end", Text(Assert.IsType<object?[]>(await subscriber.ReadAsync(History.ReadLimit))[2]));
    }

    [Fact]
    public async Task A_follower_dropped_on_A_resumes_on_B_from_its_last_id_with_every_message_once_in_order()
    {
        var c = Cluster;
        const string Channel = "hist.resume";
        const int Count = 900;
        const int OnA = 300;
        await using var publisher = await c.C.ConnectAsync();
        var start = Text(Assert.IsType<object?[]>(await publisher.CallAsync("NOTI.PUBLISH", Channel, "start"))[1]);

        await using var first = await Follower.StartAsync(c.A.Port, start, Channel);
        Assert.Equal(start, first.From);
        var publishing = History.PublishPacedAsync(publisher, Channel, Count, perSecond: 1_500);
        var seen = new List<(string Id, string Message)>();
        while (seen.Count < OnA)
        {
            seen.Add(await first.NextMessageAsync());
        }

        // Dropped while the messages are still being published on C.
        first.Client.Reset();
        var cursor = seen[^1].Id;
        await using var second = await Follower.StartAsync(c.B.Port, cursor, Channel);
        Assert.Equal(cursor, second.From);
        while (seen.Count < Count)
        {
            seen.Add(await second.NextMessageAsync());
        }

        await publishing;
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"m{i}"), seen.Select(s => s.Message));
        History.AssertIncreasing(seen.Select(s => s.Id));

        // The ids the followers gave are the stream's, as C keeps it.
        Assert.Equal(seen, (await History.RangeAsync(c.C.Port, Channel)).Skip(1));
        await second.AssertNothingMoreAsync(publisher, Channel);
    }

    [Fact]
    public async Task Without_JetStream_a_PUBLISH_to_a_channel_with_history_is_CLUSTERDOWN_and_the_node_keeps_serving()
    {
        _ = Cluster;
        await using var nats = await StandaloneNats.StartAsync();
        await using var node = await NotistreamServer.StartAsync([.. NatsCluster.NodeArguments(nats.Port), "--channel-history", "alerts.* 100 1h"]);
        await NatsCluster.WaitUntilAsync(async () => (await History.InfoAsync(node.Port))["nats_connected"] == "1", "the node connected to the nats-server without JetStream");
        var info = await History.InfoAsync(node.Port);
        Assert.Equal("jetstream", info["nats_history"]);
        Assert.Equal("0", info["nats_history_ready"]);

        await using var subscriber = await WireClient.ConnectAsync(node.Port);
        Assert.Equal("subscribe", Text(Assert.IsType<object?[]>(await subscriber.CallAsync("SUBSCRIBE", "news"))[0]));
        await using var client = await WireClient.ConnectAsync(node.Port);
        var refused = Assert.IsType<RespError>(await client.CallAsync("PUBLISH", "alerts.disk", "full"));
        Assert.StartsWith("CLUSTERDOWN", refused.Message, StringComparison.Ordinal);
        var refusedNoti = Assert.IsType<RespError>(await client.CallAsync("NOTI.PUBLISH", "alerts.disk", "full"));
        Assert.StartsWith("CLUSTERDOWN", refusedNoti.Message, StringComparison.Ordinal);

        // The same connection goes on; a channel without history is published as before (core NATS).
        Assert.Equal("PONG", await client.CallAsync("PING"));
        Assert.Equal(1L, await client.CallAsync("PUBLISH", "news", "still here"));
        var frame = Assert.IsType<object?[]>(await subscriber.ReadAsync(History.ReadLimit));
        Assert.Equal(new[] { "message", "news", "still here" }, frame.Select(Text));
        var noHistory = Assert.IsType<object?[]>(await client.CallAsync("NOTI.PUBLISH", "news", "again"));
        Assert.Equal(1L, noHistory[0]);
        Assert.Null(noHistory[1]);
        Assert.Equal("PONG", await client.CallAsync("PING"));
        Assert.Equal(0L, await client.CallAsync("EXISTS", "alerts.disk"));
    }

    private static string Text(object? value) => History.Text(value);
}

/// <summary>
/// The cluster's history when a node dies (kill -9): its followers resume on another node with every
/// message once, and the node started again without persistence reads the whole stream back, with the
/// same ids. Its own cluster, in the collection of tests that kill processes.
/// </summary>
[Collection(nameof(NatsFailoverCollection))]
public sealed class ClusterHistoryFailoverTests(NatsCluster cluster) : IClassFixture<NatsCluster>
{
    private NatsCluster Cluster
    {
        get
        {
            ExternalProgram.Require("nats-server", "apt-get install nats-server");
            Assert.SkipUnless(OperatingSystem.IsLinux(), "SIGKILL as Linux has it");
            return cluster;
        }
    }

    [Fact]
    public async Task A_follower_of_a_node_killed_with_kill_9_resumes_on_another_node_with_nothing_lost_or_repeated()
    {
        var c = Cluster;
        const string Channel = "hist.kill";
        const int Count = 900;
        await using var node = await History.StartNodeAsync(FreePort.Next(), c.A.NatsPort);
        await using var publisher = await c.C.ConnectAsync();
        var start = Text(Assert.IsType<object?[]>(await publisher.CallAsync("NOTI.PUBLISH", Channel, "start"))[1]);
        await History.WaitRangeAsync(node.Port, Channel, 1);

        await using var first = await Follower.StartAsync(node.Port, start, Channel);
        var publishing = History.PublishPacedAsync(publisher, Channel, Count, perSecond: 1_000);
        var seen = new List<(string Id, string Message)>();
        while (seen.Count < 250)
        {
            seen.Add(await first.NextMessageAsync());
        }

        node.Process.Kill(entireProcessTree: false);
        await node.Process.WaitForExitAsync();

        // What the dead node had already pushed is still read; then the connection ends.
        while (true)
        {
            try
            {
                seen.Add(await first.NextMessageAsync());
            }
            catch (Exception ex) when (ex is EndOfStreamException or System.Net.Sockets.SocketException or IOException)
            {
                break;
            }
        }

        await using var second = await Follower.StartAsync(c.B.Port, seen[^1].Id, Channel);
        Assert.Equal(seen[^1].Id, second.From);
        while (seen.Count < Count)
        {
            seen.Add(await second.NextMessageAsync());
        }

        await publishing;
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"m{i}"), seen.Select(s => s.Message));
        History.AssertIncreasing(seen.Select(s => s.Id));
        Assert.Equal(seen, (await History.RangeAsync(c.B.Port, Channel)).Skip(1));
        await second.AssertNothingMoreAsync(publisher, Channel);
    }

    [Fact]
    public async Task A_node_restarted_without_persistence_has_the_same_history_back_and_an_old_cursor_gets_no_gap()
    {
        var c = Cluster;
        const string Channel = "hist.restart";
        var port = FreePort.Next();
        await using var publisher = await c.C.ConnectAsync();
        List<(string Id, string Message)> before;
        await using (var node = await History.StartNodeAsync(port, c.B.NatsPort))
        {
            await History.PublishAsync(publisher, Channel, 0, 50);
            before = await History.WaitRangeAsync(node.Port, Channel, 50);
            Assert.Equal(await History.RangeAsync(c.C.Port, Channel), before);
            node.Process.Kill(entireProcessTree: false);
            await node.Process.WaitForExitAsync();
        }

        // Published while it is down.
        await History.PublishAsync(publisher, Channel, 50, 20);
        var all = await History.RangeAsync(c.C.Port, Channel);
        Assert.Equal(70, all.Count);
        Assert.Equal(before, all.Take(50));

        await using var again = await History.StartNodeAsync(port, c.B.NatsPort);
        var target = await c.C.InfoNumberAsync("nats_history_applied_seq");
        await NatsCluster.WaitUntilAsync(async () => long.Parse((await History.InfoAsync(port))["nats_history_applied_seq"], CultureInfo.InvariantCulture) >= target,
            "the restarted node read the stream back");
        Assert.Equal(all, await History.RangeAsync(port, Channel));

        // A cursor from before the restart: nothing was lost, so no gap; every message after it, once.
        var cursor = all[9].Id;
        await using var follower = await Follower.StartAsync(port, cursor, Channel);
        Assert.Equal(cursor, follower.From);
        Assert.Null(follower.Gap);
        var seen = new List<(string Id, string Message)>();
        while (seen.Count < 60)
        {
            seen.Add(await follower.NextMessageAsync());
        }

        Assert.Equal(all.Skip(10), seen);
        await follower.AssertNothingMoreAsync(publisher, Channel);
    }

    [Fact]
    public async Task A_subscriber_on_a_node_that_fell_behind_the_stream_by_more_than_the_history_holds_loses_no_message()
    {
        var c = Cluster;
        const string Channel = "hist.lag";
        const int Count = 1_500; // the default rule keeps 1,000 per channel
        await using var node = await History.StartNodeAsync(FreePort.Next(), c.A.NatsPort);
        await using var subscriber = await WireClient.ConnectAsync(node.Port);
        Assert.Equal("subscribe", Text(Assert.IsType<object?[]>(await subscriber.CallAsync("SUBSCRIBE", Channel))[0]));
        await using var publisher = await c.C.ConnectAsync();

        // The node stands still (SIGSTOP) while C publishes, then goes on: it must read the stream from where it was.
        Signal(node, "-STOP");
        try
        {
            await History.PublishAsync(publisher, Channel, 0, Count);
        }
        finally
        {
            Signal(node, "-CONT");
        }

        for (var i = 0; i < Count; i++)
        {
            var frame = Assert.IsType<object?[]>(await subscriber.ReadAsync(History.ReadLimit));
            Assert.Equal("message", Text(frame[0]));
            if ($"m{i}" != Text(frame[2]))
            {
                var info = await History.InfoAsync(node.Port);
                Assert.Fail($"the subscriber got {Text(frame[2])} where m{i} was next; the node applied {info["nats_history_applied"]} messages up to sequence {info["nats_history_applied_seq"]}, "
                    + $"C {await c.C.InfoNumberAsync("nats_history_applied")} up to {await c.C.InfoNumberAsync("nats_history_applied_seq")}");
            }
        }
    }

    [Fact]
    public async Task A_follower_already_following_is_told_of_a_hole_its_node_finds_in_the_stream_between_the_messages_around_it()
    {
        var c = Cluster;
        const string Channel = "hist.hole";
        await using var node = await History.StartNodeAsync(FreePort.Next(), c.A.NatsPort);
        await using var publisher = await c.C.ConnectAsync();
        Assert.IsType<object?[]>(await publisher.CallAsync("NOTI.PUBLISH", Channel, "m0"));
        await History.WaitRangeAsync(node.Port, Channel, 1);
        await using var follower = await WireClient.ConnectAsync(node.Port);
        await follower.SendAsync("NOTI.SUBSCRIBE", "$", "CHANNELS", "1", Channel);
        Assert.Equal("noti.subscribe", Text(Assert.IsType<object?[]>(await follower.ReadAsync(History.ReadLimit))[0]));

        // The node stands still longer than its pull from JetStream lasts (5 s), so what C publishes now waits in
        // the stream; m2 is removed from it before the node reads it (as an age or size bound would).
        var ids = new List<string>();
        Signal(node, "-STOP");
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(7), TestContext.Current.CancellationToken);
            for (var i = 1; i <= 3; i++)
            {
                ids.Add(Text(Assert.IsType<object?[]>(await publisher.CallAsync("NOTI.PUBLISH", Channel, $"m{i}"))[1]));
            }

            var seq = History.ParseId(ids[2]).Seq;
            foreach (var other in c.Nodes)
            {
                await NatsCluster.WaitUntilAsync(async () => (ulong)await other.InfoNumberAsync("nats_history_applied_seq") >= seq, "every other node applied m3");
            }

            var info = await History.InfoAsync(c.C.Port);
            await using var nats = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = $"nats://127.0.0.1:{c.C.NatsPort}" });
            var js = new NATS.Client.JetStream.NatsJSContext(nats);
            var deleted = await js.DeleteMessageAsync(info["nats_history_stream"], new NATS.Client.JetStream.Models.StreamMsgDeleteRequest { Seq = History.ParseId(ids[1]).Seq }, TestContext.Current.CancellationToken);
            Assert.True(deleted.Success);
        }
        finally
        {
            Signal(node, "-CONT");
        }

        // m1, then the gap (which channel lost what is not known: unknown size), then m3.
        var frames = new List<string>();
        while (frames.Count < 3)
        {
            var frame = Assert.IsType<object?[]>(await follower.ReadAsync(History.ReadLimit));
            if (Text(frame[0]) != "noti.caughtup")
            {
                frames.Add(string.Join(' ', frame.Select(Text)));
            }
        }

        Assert.Equal([$"noti.message {Channel} {ids[0]} m1", $"noti.gap {Channel} (null)", $"noti.message {Channel} {ids[2]} m3"], frames);
        Assert.Equal(1, long.Parse((await History.InfoAsync(node.Port))["nats_history_missed"], CultureInfo.InvariantCulture));

        // A cursor from before the hole hears of it when it subscribes; one from after it does not.
        await using (var before = await Follower.StartAsync(node.Port, ids[0], Channel))
        {
            Assert.Equal($"noti.gap {Channel} (null)", before.Gap);
        }

        await using var after = await Follower.StartAsync(node.Port, ids[2], Channel);
        Assert.Null(after.Gap);
        await after.AssertNothingMoreAsync(publisher, Channel);
    }

    private static void Signal(ServerProcess node, string signal)
    {
        using var kill = Process.Start("kill", [signal, node.Process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private static string Text(object? value) => History.Text(value);
}

/// <summary>Helpers of the history tests: XRANGE, INFO, publishing, ids.</summary>
internal static class History
{
    public static readonly TimeSpan ReadLimit = TimeSpan.FromSeconds(20);

    public static string Text(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        null => "(null)",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
    };

    public static (ulong Ms, ulong Seq) ParseId(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return (ulong.Parse(id.AsSpan(0, dash), CultureInfo.InvariantCulture), ulong.Parse(id.AsSpan(dash + 1), CultureInfo.InvariantCulture));
    }

    public static int Compare((ulong Ms, ulong Seq) a, (ulong Ms, ulong Seq) b)
        => a.Ms != b.Ms ? a.Ms.CompareTo(b.Ms) : a.Seq.CompareTo(b.Seq);

    public static void AssertIncreasing(IEnumerable<string> ids)
    {
        string? last = null;
        foreach (var id in ids)
        {
            Assert.True(last is null || Compare(ParseId(last), ParseId(id)) < 0, $"id {id} after {last}");
            last = id;
        }
    }

    /// <summary>An XRANGE (or XREVRANGE) reply as (id, message field).</summary>
    public static List<(string Id, string Message)> Entries(object? reply)
    {
        var result = new List<(string, string)>();
        foreach (var entry in Assert.IsType<object?[]>(reply).Cast<object?[]>())
        {
            var fields = Assert.IsType<object?[]>(entry[1]);
            Assert.Equal("message", Text(fields[0]));
            result.Add((Text(entry[0]), Text(fields[1])));
        }

        return result;
    }

    public static async Task<List<(string Id, string Message)>> RangeAsync(int port, string channel)
    {
        await using var client = await WireClient.ConnectAsync(port);
        return Entries(await client.CallAsync("XRANGE", channel, "-", "+"));
    }

    /// <summary>Polls XRANGE until it holds at least <paramref name="count"/> entries.</summary>
    public static async Task<List<(string Id, string Message)>> WaitRangeAsync(int port, string channel, int count)
    {
        List<(string Id, string Message)> entries = [];
        await NatsCluster.WaitUntilAsync(async () => (entries = await RangeAsync(port, channel)).Count >= count,
            $"{count} entries of {channel} on the node on {port}");
        return entries;
    }

    public static async Task<Dictionary<string, string>> InfoAsync(int port)
    {
        await using var client = await WireClient.ConnectAsync(port);
        var reply = (byte[])(await client.CallAsync("INFO", "cluster"))!;
        return Encoding.UTF8.GetString(reply).Split("\r\n")
            .Where(line => line.Contains(':', StringComparison.Ordinal) && !line.StartsWith('#'))
            .Select(line => line.Split(':', 2))
            .ToDictionary(p => p[0], p => p[1]);
    }

    /// <summary>A node of its own process (so it can be killed), without persistence, reading the stream.</summary>
    public static async Task<ServerProcess> StartNodeAsync(int port, int natsPort)
    {
        for (var attempt = 0; ; attempt++)
        {
            ServerProcess node;
            try
            {
                node = await ServerProcess.StartAsync(port, [.. NatsCluster.NodeArguments(natsPort), "--appendonly", "no"]);
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
                // The port of a killed process not yet free.
                await Task.Delay(200);
                continue;
            }

            try
            {
                await NatsCluster.WaitUntilAsync(async () =>
                {
                    var info = await InfoAsync(port);
                    return info["nats_connected"] == "1" && info["nats_history_ready"] == "1";
                }, $"the node on {port} reading the history's stream\n{node.Output}");
            }
            catch
            {
                await node.DisposeAsync();
                throw;
            }

            return node;
        }
    }

    /// <summary>PUBLISHes m<paramref name="from"/>… pipelined, and reads their replies.</summary>
    public static async Task PublishAsync(WireClient publisher, string channel, int from, int count)
    {
        await publisher.SendAsync(Enumerable.Range(from, count).SelectMany(i => WireClient.Command("PUBLISH", channel, $"m{i}")).ToArray());
        for (var i = 0; i < count; i++)
        {
            Assert.IsType<long>(await publisher.ReadAsync(ReadLimit));
        }
    }

    /// <summary>PUBLISHes m0 … m(count-1) at about <paramref name="perSecond"/>, in bursts every 10 ms; each reply must be a count.</summary>
    public static async Task PublishPacedAsync(WireClient publisher, string channel, int count, int perSecond)
    {
        var sent = 0;
        var replies = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                Assert.IsType<long>(await publisher.ReadAsync(ReadLimit));
            }
        });
        var clock = Stopwatch.StartNew();
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (sent < count)
        {
            var due = Math.Min(count, (int)(clock.Elapsed.TotalSeconds * perSecond) + 1);
            if (due > sent)
            {
                await publisher.SendAsync(Enumerable.Range(sent, due - sent).SelectMany(i => WireClient.Command("PUBLISH", channel, $"m{i}")).ToArray());
                sent = due;
            }

            await tick.WaitForNextTickAsync();
        }

        await replies;
    }
}

/// <summary>A NOTI.SUBSCRIBE follower of one channel; any noti.gap fails the test.</summary>
internal sealed class Follower : IAsyncDisposable
{
    private Follower(WireClient client, string from, string? gap)
    {
        Client = client;
        From = from;
        Gap = gap;
    }

    public WireClient Client { get; }

    /// <summary>The confirmation's cursor.</summary>
    public string From { get; }

    /// <summary>A noti.gap that came right after the confirmation, as text; null when none came.</summary>
    public string? Gap { get; private set; }

    private object?[]? _pending;

    public static async Task<Follower> StartAsync(int port, string from, string channel)
    {
        var client = await WireClient.ConnectAsync(port);
        await client.SendAsync("NOTI.SUBSCRIBE", from, "CHANNELS", "1", channel);
        var confirmation = Assert.IsType<object?[]>(await client.ReadAsync(History.ReadLimit));
        Assert.Equal("noti.subscribe", History.Text(confirmation[0]));
        var follower = new Follower(client, History.Text(confirmation[1]), null);

        // A gap said at the confirmation comes before anything else; look at the next frame now.
        follower._pending = Assert.IsType<object?[]>(await client.ReadAsync(History.ReadLimit));
        if (History.Text(follower._pending[0]) == "noti.gap")
        {
            follower.Gap = string.Join(' ', follower._pending.Select(History.Text));
        }

        return follower;
    }

    /// <summary>The next noti.message as (id, message), skipping noti.caughtup; a noti.gap fails.</summary>
    public async Task<(string Id, string Message)> NextMessageAsync()
    {
        while (true)
        {
            var frame = _pending ?? Assert.IsType<object?[]>(await Client.ReadAsync(History.ReadLimit));
            _pending = null;
            var kind = History.Text(frame[0]);
            switch (kind)
            {
                case "noti.message":
                    return (History.Text(frame[2]), History.Text(frame[3]));
                case "noti.caughtup":
                    continue;
                default:
                    Assert.Fail("unexpected frame: " + string.Join(' ', frame.Select(History.Text)));
                    break;
            }
        }
    }

    /// <summary>Publishes one more message and checks it is the next the follower gets (nothing repeated before it).</summary>
    public async Task AssertNothingMoreAsync(WireClient publisher, string channel)
    {
        Assert.IsType<long>(await publisher.CallAsync("PUBLISH", channel, "end"));
        Assert.Equal("end", (await NextMessageAsync()).Message);
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}

/// <summary>A single nats-server without JetStream (no -js) on a free port; killed on dispose.</summary>
internal sealed class StandaloneNats : IAsyncDisposable
{
    private readonly Process _process;

    private StandaloneNats(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public static async Task<StandaloneNats> StartAsync()
    {
        var port = FreePort.Next();
        var info = new ProcessStartInfo(ExternalProgram.Find("nats-server")!)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var nats = new StandaloneNats(process, port);
        try
        {
            await NatsCluster.WaitUntilAsync(async () =>
            {
                Assert.False(process.HasExited, "nats-server exited");
                try
                {
                    using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                    await probe.ConnectAsync(System.Net.IPAddress.Loopback, port);
                    return true;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    return false;
                }
            }, $"nats-server listening on {port}");
        }
        catch
        {
            await nats.DisposeAsync();
            throw;
        }

        return nats;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
