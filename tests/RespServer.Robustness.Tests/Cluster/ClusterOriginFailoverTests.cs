using System.Diagnostics;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Cluster;

/// <summary>
/// The publisher's own nats-server dies and the channel then goes quiet (docs/cluster.md#ordering-and-loss):
/// no later message shows what was lost; the origin's gap messages (what it could not forward) and tails
/// (what it forwarded last) do. Its own cluster, run alone (it kills a nats-server).
/// </summary>
[Collection(nameof(NatsFailoverCollection))]
public sealed class ClusterOriginFailoverTests(NatsClusterWithoutHistory cluster, ITestOutputHelper output) : IClassFixture<NatsClusterWithoutHistory>
{
    private const string Channel = "last-words";

    [Fact]
    public async Task Killing_the_publishers_nats_server_loses_nothing_silently_though_nothing_is_published_after()
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

        await using var publisher = await c.C.ConnectAsync();
        long receivedA = 0, receivedB = 0;
        string? orderError = null;
        using var done = new CancellationTokenSource();
        var readA = Task.Run(() => ClusterFailoverTests.ReceiveNumbers(onA, "A", () => Interlocked.Increment(ref receivedA), e => orderError ??= e, done.Token));
        var readB = Task.Run(() => ClusterFailoverTests.ReceiveNumbers(onB, "B", () => Interlocked.Increment(ref receivedB), e => orderError ??= e, done.Token));
        try
        {
            // One second of traffic; kill C's nats-server; 200 ms more, then the channel goes quiet for good.
            using var stop = new CancellationTokenSource();
            var publish = Task.Run(() => new ClusterFailoverTests.Publisher(publisher, Channel).RunAsync(stop.Token));
            await Task.Delay(TimeSpan.FromSeconds(1));
            var deadUrl = (await c.C.InfoAsync())["nats_url"];
            c.KillNatsServer(c.C.NatsPort);
            await Task.Delay(TimeSpan.FromMilliseconds(200));
            await stop.CancelAsync();
            var published = await publish;
            var quiet = Stopwatch.StartNew();

            await NatsCluster.WaitUntilAsync(async () =>
            {
                var info = await c.C.InfoAsync();
                return info["nats_connected"] == "1" && info["nats_url"] != deadUrl;
            }, "C connected to another nats-server", TimeSpan.FromSeconds(8));

            foreach (var (node, name) in new[] { (c.A, "A"), (c.B, "B") })
            {
                var received = name == "A" ? (Func<long>)(() => Volatile.Read(ref receivedA)) : () => Volatile.Read(ref receivedB);
                long lost = 0;
                try
                {
                    await NatsCluster.WaitUntilAsync(async () =>
                    {
                        lost = await node.InfoNumberAsync("nats_lost");
                        return received() + lost >= published;
                    }, $"{name}'s received + nats_lost reached what was published", TimeSpan.FromSeconds(6));
                }
                catch (TimeoutException)
                {
                }

                output.WriteLine($"{name}: published {published}, received {received()}, nats_lost {lost}, "
                    + $"C's nats_dropped {await c.C.InfoNumberAsync("nats_dropped")}, {quiet.Elapsed.TotalSeconds:0.0} s after the channel went quiet");
                Assert.Equal(published, received() + lost);
            }

            Assert.Null(orderError);
        }
        finally
        {
            await done.CancelAsync();
            await Task.WhenAll(readA, readB);
        }
    }
}
