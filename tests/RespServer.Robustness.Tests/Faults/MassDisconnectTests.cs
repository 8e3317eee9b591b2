using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>
/// Ten thousand subscribers vanish at once (the host running them dies, a balancer drops them): while the
/// server cleans up after them, a client that stays is still answered. The executable reads on the socket
/// event threads (Program.cs), each serving many clients; the clean-up used to run there too, and a client
/// on those threads waited for nearly all of it (0.7 to 0.9 s on two cores).
/// </summary>
[Collection(nameof(TimingMeasuredCollection))]
public sealed partial class MassDisconnectTests
{
    private const int Connections = 10_000;

    /// <summary>A few channels each, as a dashboard has: each end then has some clean-up of its own to do,
    /// beyond closing the socket, and the test tells clean-up on the event threads from clean-up off them
    /// with a wide margin.</summary>
    private const int ChannelsEach = 8;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_client_is_answered_while_ten_thousand_subscribers_are_cleaned_up()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "stops the server with SIGSTOP and reads /proc");

        // Each side holds one descriptor per connection; the server inherits this process's limit.
        var limit = ProcessControl.RaiseOwnDescriptorLimit(Connections + 1_000);
        var count = (int)Math.Min(Connections, limit - 1_000);
        Assert.SkipWhen(count < 2_000, $"the open-file limit is {limit}; raise it (ulimit -n {Connections + 1_000})");

        await using var server = await ServerProcess.StartAsync(FreePort.Next(), "--maxclients", "100000");
        var endPoint = new IPEndPoint(IPAddress.Loopback, server.Port);
        await using var probe = await WireClient.ConnectAsync(server.Port);
        await using var watcher = await WireClient.ConnectAsync(server.Port);

        // Warm up the path a connection's end takes, so that its compilation is not what is measured.
        ResetAll(await SubscribeAsync(endPoint, 1_000));
        await WaitForClientsAsync(watcher, 2, Stopwatch.GetTimestamp());

        var subscribers = await SubscribeAsync(endPoint, count);
        Assert.Equal("PONG", await probe.CallAsync("PING"));

        // All of them reach the server at once: it is stopped while they are reset (SO_LINGER 0), so
        // it finds every one ended when it runs again.
        await ProcessControl.StopAsync(server.Process.Id);
        long resumed;
        try
        {
            ResetAll(subscribers);
        }
        finally
        {
            resumed = Stopwatch.GetTimestamp();
            ProcessControl.Continue(server.Process.Id);
        }

        // The probe pings about once a millisecond, while the watcher waits for the server to have
        // cleaned up after every one of them.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var pinging = PingAsync(probe, resumed, stop.Token);
        var cleanup = await WaitForClientsAsync(watcher, 2, resumed);
        await Task.Delay(200, Token);
        await stop.CancelAsync();
        var longestGap = await pinging;

        // The server's own clean-up time is the yardstick, since on a busy machine everything takes longer.
        // With the clean-up on the event threads the client waited nearly all of it; off them it waits for
        // the event threads to see the resets, 15 to 20 % of it on two cores.
        var bound = TimeSpan.FromMilliseconds(100) + (0.4 * cleanup);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{count} subscribers ({ChannelsEach} channels each) reset at once: cleaned up in {cleanup.TotalMilliseconds:F0} ms; " +
            $"longest wait for PONG {longestGap.TotalMilliseconds:F0} ms (bound {bound.TotalMilliseconds:F0} ms)");
        Assert.True(longestGap < bound,
            $"a client waited {longestGap.TotalMilliseconds:F0} ms for PONG while the server cleaned up after {count} connections " +
            $"in {cleanup.TotalMilliseconds:F0} ms (bound {bound.TotalMilliseconds:F0} ms)");
    }

    /// <summary>Opens <paramref name="count"/> connections, each subscribed to <see cref="ChannelsEach"/> channels.</summary>
    private static async Task<Socket[]> SubscribeAsync(IPEndPoint endPoint, int count)
    {
        var request = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{ChannelsEach + 1}\r\n$9\r\nSUBSCRIBE\r\n");
        var reply = new StringBuilder();
        for (var i = 0; i < ChannelsEach; i++)
        {
            var channel = $"news:{i}";
            request.Append(CultureInfo.InvariantCulture, $"${channel.Length}\r\n{channel}\r\n");
            reply.Append(CultureInfo.InvariantCulture, $"*3\r\n$9\r\nsubscribe\r\n${channel.Length}\r\n{channel}\r\n:{i + 1}\r\n");
        }

        var requestBytes = Encoding.ASCII.GetBytes(request.ToString());
        var replyBytes = Encoding.ASCII.GetBytes(reply.ToString());
        var sockets = new Socket[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Token }, async (i, token) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            sockets[i] = socket;
            await socket.ConnectAsync(endPoint, token);
            await socket.SendAsync(requestBytes, token);
            var received = new byte[replyBytes.Length];
            var filled = 0;
            while (filled < received.Length)
            {
                var n = await socket.ReceiveAsync(received.AsMemory(filled), token);
                Assert.NotEqual(0, n);
                filled += n;
            }

            Assert.Equal(replyBytes, received);
        });
        return sockets;
    }

    /// <summary>Resets every connection (SO_LINGER 0), as a host that died would.</summary>
    private static void ResetAll(Socket[] sockets)
    {
        foreach (var socket in sockets)
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Dispose();
        }
    }

    /// <summary>PINGs until cancelled; returns the longest wait for a PONG since the previous one (or since <paramref name="from"/>).</summary>
    private static async Task<TimeSpan> PingAsync(WireClient probe, long from, CancellationToken token)
    {
        var longest = TimeSpan.Zero;
        var last = from;
        while (!token.IsCancellationRequested)
        {
            await probe.SendAsync("PING");
            Assert.Equal("PONG", await probe.ReadAsync(TimeSpan.FromSeconds(30)));
            var now = Stopwatch.GetTimestamp();
            var gap = Stopwatch.GetElapsedTime(last, now);
            longest = gap > longest ? gap : longest;
            last = now;
            try
            {
                await Task.Delay(1, token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return longest;
    }

    /// <summary>Asks INFO every few milliseconds until the server lists no more than <paramref name="clients"/>
    /// clients; returns the time from <paramref name="from"/> until then.</summary>
    private static async Task<TimeSpan> WaitForClientsAsync(WireClient watcher, int clients, long from)
    {
        while (true)
        {
            var info = Encoding.UTF8.GetString((byte[])(await watcher.CallAsync("INFO", "clients"))!);
            var connected = int.Parse(ConnectedClients().Match(info).Groups[1].Value, CultureInfo.InvariantCulture);
            var elapsed = Stopwatch.GetElapsedTime(from);
            if (connected <= clients)
            {
                return elapsed;
            }

            Assert.True(elapsed < TimeSpan.FromSeconds(60), $"the server still lists {connected} clients after {elapsed.TotalSeconds:F0} s");
            await Task.Delay(5, Token);
        }
    }

    [GeneratedRegex(@"connected_clients:(\d+)")]
    private static partial Regex ConnectedClients();
}
