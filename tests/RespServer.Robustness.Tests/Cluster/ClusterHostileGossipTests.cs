using System.Diagnostics;
using System.Text;
using NATS.Client.Core;
using Notistream.RespServer.Cluster;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Cluster;

/// <summary>
/// A plain NATS client on the gossip subjects (docs/cluster.md#counting-across-the-cluster, what the
/// gossip does not protect against): it can make the nodes count what it says, but not make every
/// SUBSCRIBE wait, nor make a node send its whole state more than once a second.
/// </summary>
public sealed class ClusterHostileGossipTests(NatsCluster cluster) : IClassFixture<NatsCluster>
{
    private const string Prefix = "notistream";

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
    public async Task A_fake_node_that_never_answers_probes_stops_delaying_SUBSCRIBE_after_three_misses()
    {
        var c = Cluster;
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = $"nats://127.0.0.1:{c.A.NatsPort}" });
        await nats.ConnectAsync();
        var fake = new string('f', 40);
        var stream = $"{Prefix}.sys.i.{fake}";
        await nats.PublishAsync(stream, Message(InterestGossip.SnapshotStart, 1));
        await nats.PublishAsync(stream, Message(InterestGossip.SnapshotPart, 2, "fake.x"));
        await nats.PublishAsync(stream, Message(InterestGossip.SnapshotEnd, 3));
        using var stop = new CancellationTokenSource();
        var heartbeats = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await nats.PublishAsync(stream, Message(InterestGossip.Heartbeat, 3));
                await Task.Delay(300);
            }
        });

        try
        {
            await using var publisher = await c.A.ConnectAsync();
            await NatsCluster.WaitUntilAsync(async () => (long)(await publisher.CallAsync("PUBLISH", "fake.x", "m"))! == 1,
                "A counts the fake node's subscriber");
            var timeouts = await c.A.InfoNumberAsync("nats_probe_timeouts");

            await using var subscriber = await c.A.ConnectAsync();
            var run = Guid.NewGuid().ToString("N")[..8];
            var took = new List<long>();
            for (var i = 0; i < ClusterLink.MaxProbeMisses + 3; i++)
            {
                var watch = Stopwatch.StartNew();
                await subscriber.SendAsync("SUBSCRIBE", $"hostile.{run}.{i}");
                Assert.Equal("subscribe", Text(((object?[])(await subscriber.ReadAsync(ReadLimit))!)[0]));
                took.Add(watch.ElapsedMilliseconds);
            }

            // Each of the first rounds waited for the fake node's answer until the probe's limit; then it is not waited for.
            Assert.Equal(timeouts + ClusterLink.MaxProbeMisses, await c.A.InfoNumberAsync("nats_probe_timeouts"));
            Assert.All(took.Skip(ClusterLink.MaxProbeMisses), ms => Assert.True(ms < ClusterLink.ProbeTimeout / 2,
                $"SUBSCRIBE confirmations took {string.Join(", ", took)} ms"));
        }
        finally
        {
            await stop.CancelAsync();
            await heartbeats;
            await nats.PublishAsync(stream, Message(InterestGossip.Bye, 0));
        }
    }

    [Fact]
    public async Task A_node_set_aside_for_missed_probes_is_waited_for_again_once_it_answers_one()
    {
        var c = Cluster;
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = $"nats://127.0.0.1:{c.C.NatsPort}" });
        await nats.ConnectAsync();
        var slow = new string('e', 40);
        var stream = $"{Prefix}.sys.i.{slow}";
        await nats.PublishAsync(stream, Message(InterestGossip.SnapshotStart, 1));
        await nats.PublishAsync(stream, Message(InterestGossip.SnapshotPart, 2, "slow.x"));
        await nats.PublishAsync(stream, Message(InterestGossip.SnapshotEnd, 3));
        var nodeId = (await c.C.InfoAsync())["nats_node_id"];
        var answering = 0;
        var answered = 0;
        using var stop = new CancellationTokenSource();
        var probes = Task.Run(async () =>
        {
            try
            {
                await foreach (var message in nats.SubscribeAsync<byte[]>($"{Prefix}.sys.p", cancellationToken: stop.Token))
                {
                    if (Volatile.Read(ref answering) == 1 && message.Data is { } data
                        && InterestGossip.TryReadProbe(data, InterestGossip.Probe, out var id, out var asker) && asker == nodeId)
                    {
                        await nats.PublishAsync($"{Prefix}.sys.a.{asker}", InterestGossip.ProbeMessage(InterestGossip.Answer, id, slow));
                        Interlocked.Increment(ref answered);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var heartbeats = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await nats.PublishAsync(stream, Message(InterestGossip.Heartbeat, 3));
                await Task.Delay(300);
            }
        });

        try
        {
            await nats.PingAsync();
            await using var publisher = await c.C.ConnectAsync();
            await NatsCluster.WaitUntilAsync(async () => (long)(await publisher.CallAsync("PUBLISH", "slow.x", "m"))! == 1,
                "C counts the slow node's subscriber");
            await using var subscriber = await c.C.ConnectAsync();
            var run = Guid.NewGuid().ToString("N")[..8];
            var round = 0;
            async Task SubscribeAsync()
            {
                await subscriber.SendAsync("SUBSCRIBE", $"slow.{run}.{round++}");
                Assert.Equal("subscribe", Text(((object?[])(await subscriber.ReadAsync(ReadLimit))!)[0]));
            }

            // Three misses set it aside.
            var timeouts = await c.C.InfoNumberAsync("nats_probe_timeouts");
            for (var i = 0; i < ClusterLink.MaxProbeMisses; i++)
            {
                await SubscribeAsync();
            }

            Assert.Equal(timeouts + ClusterLink.MaxProbeMisses, await c.C.InfoNumberAsync("nats_probe_timeouts"));

            // It answers the next probe, although no one waits for it: that takes it back.
            Volatile.Write(ref answering, 1);
            await SubscribeAsync();
            await NatsCluster.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref answered) >= 1), "the slow node got a probe to answer");
            Volatile.Write(ref answering, 0);

            // Silent again: the next round waits for it again, until the probe's limit.
            await SubscribeAsync();
            Assert.Equal(timeouts + ClusterLink.MaxProbeMisses + 1, await c.C.InfoNumberAsync("nats_probe_timeouts"));
        }
        finally
        {
            await stop.CancelAsync();
            await heartbeats;
            await probes;
            await nats.PublishAsync(stream, Message(InterestGossip.Bye, 0));
        }
    }

    [Fact]
    public async Task Requests_for_a_node_s_whole_state_get_at_most_one_a_second()
    {
        var c = Cluster;
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = $"nats://127.0.0.1:{c.B.NatsPort}" });
        await nats.ConnectAsync();
        var nodeId = (await c.B.InfoAsync())["nats_node_id"];
        var starts = 0;
        using var listening = new CancellationTokenSource();
        var ready = new TaskCompletionSource();
        var listener = Task.Run(async () =>
        {
            try
            {
                await foreach (var message in nats.SubscribeAsync<byte[]>($"{Prefix}.sys.i.{nodeId}", cancellationToken: listening.Token))
                {
                    if (message.Data is { Length: >= InterestGossip.HeaderLength } data && data[1] == InterestGossip.SnapshotStart)
                    {
                        Interlocked.Increment(ref starts);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        await nats.PingAsync();

        // 50 requests for every node's state over 2.5 s.
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 50; i++)
        {
            await nats.PublishAsync($"{Prefix}.sys.r", new byte[] { InterestGossip.Version, InterestGossip.Request });
            await Task.Delay(50);
        }

        await Task.Delay(500);
        var seconds = watch.Elapsed.TotalSeconds;
        await listening.CancelAsync();
        await listener;
        Assert.True(starts >= 1, "B never sent its whole state");
        Assert.True(starts <= Math.Ceiling(seconds) + 1, $"B sent its whole state {starts} times in {seconds:0.0} s");
    }

    private static byte[] Message(byte kind, ulong sequence, string? channel = null)
    {
        var name = channel is null ? [] : Encoding.UTF8.GetBytes(channel);
        var bytes = new byte[InterestGossip.HeaderLength + (channel is null ? 0 : InterestGossip.EntryOverhead + name.Length)];
        InterestGossip.WriteHeader(bytes, kind, sequence);
        if (channel is not null)
        {
            InterestGossip.WriteEntry(bytes.AsSpan(InterestGossip.HeaderLength), false, 1, name);
        }

        return bytes;
    }

    private static string Text(object? value) => Encoding.UTF8.GetString((byte[])value!);
}
