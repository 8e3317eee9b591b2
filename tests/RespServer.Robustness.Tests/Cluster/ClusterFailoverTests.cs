using System.Diagnostics;
using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Cluster;

/// <summary>
/// Tests that kill nats-servers: each class has a cluster of its own (its <see cref="IClassFixture{T}"/>),
/// never shared with the other cluster tests, and they run alone (their timing is part of what they check).
/// </summary>
[CollectionDefinition(nameof(NatsFailoverCollection), DisableParallelization = true)]
public sealed class NatsFailoverCollection;

/// <summary>
/// A NATS server dies under load (docs/cluster.md#ordering-and-loss): the node that was on it reconnects
/// to another within seconds, and what it missed meanwhile is counted in nats_lost, never silent.
/// </summary>
[Collection(nameof(NatsFailoverCollection))]
public sealed class ClusterFailoverTests(NatsClusterWithoutHistory cluster, ITestOutputHelper output) : IClassFixture<NatsClusterWithoutHistory>
{
    private const string Channel = "ticks";
    private const int Rate = 5_000;

    private NatsClusterWithoutHistory Cluster
    {
        get
        {
            ExternalProgram.Require("nats-server", "apt-get install nats-server");
            return cluster;
        }
    }

    [Fact]
    public async Task Killing_the_nats_server_of_a_subscriber_node_at_5000_messages_a_second_loses_nothing_silently()
    {
        var c = Cluster;
        await using var onA = await c.A.ConnectAsync();
        await using var onB = await c.B.ConnectAsync();
        foreach (var subscriber in new[] { onA, onB })
        {
            // The confirmation comes once every node's NATS server has the interest (docs/cluster.md#subscribing).
            var reply = (object?[])(await subscriber.CallAsync("SUBSCRIBE", Channel))!;
            Assert.Equal("subscribe", Encoding.ASCII.GetString((byte[])reply[0]!));
        }

        await using var publisher = await c.C.ConnectAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var done = new CancellationTokenSource();
        var readA = Task.Run(() => Receive(onA, isA: true, done.Token));
        var readB = Task.Run(() => Receive(onB, isA: false, done.Token));
        try
        {
            await Run(c, stop, publisher);
        }
        finally
        {
            await done.CancelAsync();
            await Task.WhenAll(readA, readB);
        }
    }

    private async Task Run(NatsCluster c, CancellationTokenSource stop, WireClient publisher)
    {
        var publishing = new Publisher(publisher);
        var publish = Task.Run(() => publishing.RunAsync(stop.Token));

        // Two seconds of traffic, then kill -9 the nats-server A is connected to.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var info = await c.A.InfoAsync();
        Assert.Equal("1", info["nats_connected"]);
        var deadUrl = info["nats_url"];
        var deadPort = int.Parse(deadUrl[(deadUrl.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        Assert.Equal(c.A.NatsPort, deadPort);
        var receivedBefore = Volatile.Read(ref _receivedOnA);
        Assert.True(receivedBefore > 0, "A received nothing before the kill");
        c.KillNatsServer(deadPort);
        var killed = Stopwatch.StartNew();

        // A reconnects to another nats-server (the cluster told it of them) within a few seconds.
        await NatsCluster.WaitUntilAsync(async () =>
        {
            var now = await c.A.InfoAsync();
            return now["nats_connected"] == "1" && now["nats_url"].Length > 0 && now["nats_url"] != deadUrl;
        }, "A connected to another nats-server", TimeSpan.FromSeconds(8));
        var reconnected = killed.Elapsed;

        // Deliveries to A resume: messages published after the reconnect reach it.
        var atReconnect = Volatile.Read(ref _receivedOnA);
        await NatsCluster.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref _receivedOnA) > atReconnect + Rate / 2),
            "deliveries to A resumed after the reconnect", TimeSpan.FromSeconds(8));
        await Task.Delay(TimeSpan.FromSeconds(1));

        await stop.CancelAsync();
        var published = await publish;
        Assert.True(published >= Rate * 3, $"only {published} published");

        // Everything published was either received or counted lost, on each node, once quiet.
        foreach (var (node, name) in new[] { (c.A, "A"), (c.B, "B") })
        {
            var received = name == "A" ? (Func<long>)(() => Volatile.Read(ref _receivedOnA)) : () => Volatile.Read(ref _receivedOnB);
            long lost = 0;
            try
            {
                await NatsCluster.WaitUntilAsync(async () =>
                {
                    lost = await node.InfoNumberAsync("nats_lost");
                    return received() + lost >= published;
                }, $"{name}: received + nats_lost reached {published}", TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
            }

            output.WriteLine($"{name}: published {published}, received {received()}, nats_lost {lost}; A reconnected after {reconnected.TotalSeconds:0.00} s");
            Assert.True(received() + lost == published,
                $"{name}: received {received()} + lost {lost} != published {published} (A reconnected after {reconnected.TotalSeconds:0.0} s; {_orderErrors})");
        }

        Assert.Equal(0, await c.B.InfoNumberAsync("nats_lost"));
        Assert.True(reconnected < TimeSpan.FromSeconds(8), $"reconnected after {reconnected}");
        Assert.Null(_orderErrors);
        Assert.Equal(0, await c.C.InfoNumberAsync("nats_dropped"));
    }

    private long _receivedOnA;
    private long _receivedOnB;
    private string? _orderErrors;

    private Task Receive(WireClient subscriber, bool isA, CancellationToken done)
        => ReceiveNumbers(subscriber, isA ? "A" : "B", () => _ = isA ? Interlocked.Increment(ref _receivedOnA) : Interlocked.Increment(ref _receivedOnB),
            error => _orderErrors ??= error, done);

    /// <summary>Reads messages until <paramref name="done"/>; each must be a number above the one before (in order, no duplicate).</summary>
    internal static async Task ReceiveNumbers(WireClient subscriber, string name, Action received, Action<string> orderError, CancellationToken done)
    {
        long last = -1;
        while (!done.IsCancellationRequested)
        {
            object?[] frame;
            try
            {
                frame = (object?[])(await subscriber.ReadAsync(TimeSpan.FromMilliseconds(500)))!;
            }
            catch (OperationCanceledException)
            {
                continue;
            }

            var value = long.Parse(Encoding.ASCII.GetString((byte[])frame[^1]!), CultureInfo.InvariantCulture);
            if (value <= last)
            {
                orderError($"{name} got {value} after {last}");
            }

            last = value;
            received();
        }
    }

    /// <summary>Publishes "0", "1", "2"… at <see cref="Rate"/> a second, in pipelined bursts every 10 ms; reads the replies alongside.</summary>
    internal sealed class Publisher(WireClient client, string channel = Channel)
    {
        public async Task<long> RunAsync(CancellationToken stop)
        {
            long sent = 0;
            var clock = Stopwatch.StartNew();
            long replied = 0;
            var reading = Task.Run(async () =>
            {
                while (true)
                {
                    var target = Volatile.Read(ref sent);
                    if (replied < target)
                    {
                        _ = await client.ReadAsync(TimeSpan.FromSeconds(20));
                        replied++;
                    }
                    else if (stop.IsCancellationRequested && replied == Volatile.Read(ref sent))
                    {
                        return;
                    }
                    else
                    {
                        await Task.Delay(1);
                    }
                }
            });

            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            while (!stop.IsCancellationRequested)
            {
                var due = (long)(clock.Elapsed.TotalSeconds * Rate);
                if (due > sent)
                {
                    var burst = new MemoryStream();
                    for (var i = sent; i < due; i++)
                    {
                        burst.Write(WireClient.Command("PUBLISH", channel, i.ToString(CultureInfo.InvariantCulture)));
                    }

                    await client.SendAsync(burst.ToArray());
                    Volatile.Write(ref sent, due);
                }

                try
                {
                    await tick.WaitForNextTickAsync(stop);
                }
                catch (OperationCanceledException)
                {
                }
            }

            await reading;
            return sent;
        }
    }
}

/// <summary>
/// The same NATS server death with the channels' history in JetStream (docs/cluster.md#history): A's copy
/// of the stream reads on after the reconnect, so every message JetStream acknowledged (every PUBLISH
/// answered) reaches both subscribers, in order. A PUBLISH that JetStream could not confirm (the stream's
/// leader may have been on the server killed) closes the publisher's connection without its reply; the
/// publisher connects again and goes on, as a client would.
/// </summary>
[Collection(nameof(NatsFailoverCollection))]
public sealed class ClusterNatsFailoverWithHistoryTests(NatsCluster cluster, ITestOutputHelper output) : IClassFixture<NatsCluster>
{
    private const string Channel = "kept.ticks";
    private const int Burst = 50; // every 10 ms: 5,000 a second

    private readonly List<long>[] _received = [[], []];

    [Fact]
    public async Task Killing_the_nats_server_of_a_subscriber_node_at_5000_messages_a_second_loses_no_acknowledged_message()
    {
        ExternalProgram.Require("nats-server", "apt-get install nats-server");
        var c = cluster;
        await using var onA = await c.A.ConnectAsync();
        await using var onB = await c.B.ConnectAsync();
        foreach (var subscriber in new[] { onA, onB })
        {
            var reply = (object?[])(await subscriber.CallAsync("SUBSCRIBE", Channel))!;
            Assert.Equal("subscribe", Encoding.ASCII.GetString((byte[])reply[0]!));
        }

        using var done = new CancellationTokenSource();
        var reads = new[] { onA, onB }.Select((subscriber, i) => Task.Run(() => ReceiveAsync(subscriber, _received[i], done.Token))).ToArray();
        var acknowledged = new List<long>();
        var reconnects = 0;
        try
        {
            var publisher = await c.C.ConnectAsync();
            var next = 0L;
            var clock = Stopwatch.StartNew();
            string? deadUrl = null;
            TimeSpan reconnected = default;
            // Two seconds before the kill; then on until 15,000 are acknowledged (JetStream elects a new stream
            // leader within seconds when it was on the server killed; the replies wait meanwhile).
            while (acknowledged.Count < 15_000 && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                if (deadUrl is null && clock.Elapsed > TimeSpan.FromSeconds(2))
                {
                    deadUrl = (await c.A.InfoAsync())["nats_url"];
                    Assert.True(Count(0) > 0, "A received nothing before the kill");
                    c.KillNatsServer(int.Parse(deadUrl[(deadUrl.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture));
                    var killed = Stopwatch.StartNew();
                    await NatsCluster.WaitUntilAsync(async () =>
                    {
                        var now = await c.A.InfoAsync();
                        return now["nats_connected"] == "1" && now["nats_url"] != deadUrl;
                    }, "A connected to another nats-server", TimeSpan.FromSeconds(8));
                    reconnected = killed.Elapsed;
                }

                var burst = new MemoryStream();
                var first = next;
                for (var i = 0; i < Burst; i++, next++)
                {
                    burst.Write(WireClient.Command("PUBLISH", Channel, next.ToString(CultureInfo.InvariantCulture)));
                }

                try
                {
                    await publisher.SendAsync(burst.ToArray());
                    for (var n = first; n < next; n++)
                    {
                        _ = await publisher.ReadAsync(TimeSpan.FromSeconds(20));
                        acknowledged.Add(n);
                    }
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or EndOfStreamException)
                {
                    // Closed without the rest of its replies: those messages were not acknowledged.
                    await publisher.DisposeAsync();
                    publisher = await c.C.ConnectAsync();
                    reconnects++;
                }

                await Task.Delay(10);
            }

            await publisher.DisposeAsync();
            Assert.True(acknowledged.Count >= 15_000, $"only {acknowledged.Count} acknowledged in 30 s");
            await NatsCluster.WaitUntilAsync(() => Task.FromResult(Last(0) >= acknowledged[^1] && Last(1) >= acknowledged[^1]),
                $"A and B received up to {acknowledged[^1]}", TimeSpan.FromSeconds(20));
            output.WriteLine($"published {next}, acknowledged {acknowledged.Count}, A {Count(0)}, B {Count(1)}, publisher reconnects {reconnects}; A reconnected after {reconnected.TotalSeconds:0.00} s");
        }
        finally
        {
            await done.CancelAsync();
            await Task.WhenAll(reads);
        }

        for (var i = 0; i < 2; i++)
        {
            List<long> got;
            lock (_received[i])
            {
                got = [.. _received[i]];
            }

            // In order, each once, and every acknowledged one there.
            Assert.True(got.Zip(got.Skip(1)).All(p => p.First < p.Second), $"{(i == 0 ? "A" : "B")} got messages out of order or twice");
            var missing = acknowledged.Except(got).ToList();
            Assert.True(missing.Count == 0, $"{(i == 0 ? "A" : "B")} missed {missing.Count} acknowledged messages, first {missing.FirstOrDefault()}");
        }

        Assert.Equal(0, await c.A.InfoNumberAsync("nats_history_missed"));
    }

    private long Count(int i)
    {
        lock (_received[i])
        {
            return _received[i].Count;
        }
    }

    private long Last(int i)
    {
        lock (_received[i])
        {
            return _received[i].Count == 0 ? -1 : _received[i][^1];
        }
    }

    private static async Task ReceiveAsync(WireClient subscriber, List<long> received, CancellationToken done)
    {
        while (!done.IsCancellationRequested)
        {
            object?[] frame;
            try
            {
                frame = (object?[])(await subscriber.ReadAsync(TimeSpan.FromMilliseconds(500)))!;
            }
            catch (OperationCanceledException)
            {
                continue;
            }

            var value = long.Parse(Encoding.ASCII.GetString((byte[])frame[^1]!), CultureInfo.InvariantCulture);
            lock (received)
            {
                received.Add(value);
            }
        }
    }
}
