using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Fuzz;

/// <summary>
/// Many connections send fuzzed bytes at once, in random pieces, while a healthy subscriber must get
/// every sequence-numbered message and a healthy client's PING must always get PONG. Each bad
/// connection, once it has sent its bytes and half-closed, must get its replies (at most one
/// protocol error, last) and be closed within a bounded time: never a hang.
/// </summary>
public sealed class SocketFuzzTests
{
    private static readonly TimeSpan PerConnection = TimeSpan.FromSeconds(10);

    /// <summary>In this process, and as the executable, where every connection's reads run on the socket
    /// event threads: a connection that sends garbage must not hold up the others there either.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Concurrent_garbage_gets_a_protocol_error_or_a_close_and_the_healthy_clients_lose_nothing(bool executable)
    {
        var seed = FuzzInput.Seed();
        TestContext.Current.TestOutputHelper?.WriteLine($"seed {seed} (replay: NOTISTREAM_FUZZ_SEED={seed})");
        await using var server = executable ? await ServerProcess.StartAsync(FreePort.Next()) : null;
        await using var inProcess = executable ? null : await NotistreamServer.StartAsync();
        var port = server?.Port ?? inProcess!.Port;
        await using var subscriber = await SequenceSubscriber.StartAsync(port, "seq:healthy");
        var publisher = await SequencePublisher.ConnectAsync(port, "seq:healthy", payloadSize: 64);
        await using var pinger = await WireClient.ConnectAsync(port);
        var budget = TimeSpan.FromSeconds(FuzzInput.Seconds(20) / 4.0);
        var watch = Stopwatch.StartNew();
        var failures = new List<string>();
        var connections = 0;

        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var random = new Random(seed + worker);
            while (watch.Elapsed < budget)
            {
                var input = new List<byte>();
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    input.AddRange(random.Next(3) == 0 ? FuzzInput.ValidFrame(random, out _) : FuzzInput.Garbage(random));
                }

                var bytes = input.ToArray();
                var failure = await PlayAsync(port, bytes, FuzzInput.Cuts(random, bytes.Length));
                Interlocked.Increment(ref connections);
                if (failure is not null)
                {
                    lock (failures)
                    {
                        failures.Add($"worker seed {seed + worker}: sent {WireClient.Escape(bytes)}\n  {failure}");
                    }
                }
            }
        })).ToArray();

        while (!workers.All(w => w.IsCompleted))
        {
            await publisher.PublishAsync(50);
            Assert.Equal("PONG", await pinger.CallAsync("PING").WithTimeout(TimeSpan.FromSeconds(5)));
        }

        await Task.WhenAll(workers);
        await subscriber.WaitForAsync(publisher.Acknowledged);
        Assert.True(failures.Count == 0, $"{failures.Count} bad connection(s) not answered as expected:\n{string.Join("\n", failures)}");
        var gone = Stopwatch.StartNew();
        int clients;
        while ((clients = await ConnectedClientsAsync(pinger)) != 3)
        {
            Assert.True(gone.Elapsed < TaskTimeoutExtensions.DefaultTimeout, $"fuzz connections to be gone: {clients} clients remain");
            await Task.Delay(50);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{connections} fuzz connections, {publisher.Acknowledged} messages delivered, none lost");
    }

    /// <summary>INFO's connected_clients, asked over <paramref name="client"/>.</summary>
    private static async Task<int> ConnectedClientsAsync(WireClient client)
    {
        var info = Encoding.UTF8.GetString((byte[])(await client.CallAsync("INFO", "clients").WithTimeout(TimeSpan.FromSeconds(5)))!);
        var line = info.Split("\r\n").Single(l => l.StartsWith("connected_clients:", StringComparison.Ordinal));
        return int.Parse(line["connected_clients:".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Sends the pieces, half-closes, and checks what comes back; returns what went wrong, or null.</summary>
    private static async Task<string?> PlayAsync(int port, byte[] bytes, int[] cuts)
    {
        await using var client = await WireClient.ConnectAsync(port);
        var start = 0;
        try
        {
            foreach (var cut in cuts.Append(bytes.Length))
            {
                await client.Socket.SendAsync(bytes.AsMemory(start, cut - start));
                start = cut;
            }

            client.Socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The server closed first (a protocol error, QUIT): fine, the reply is checked below.
        }

        byte[] received;
        try
        {
            received = await client.ReadToCloseAsync(PerConnection);
        }
        catch (TimeoutException ex)
        {
            return ex.Message;
        }

        var text = Encoding.Latin1.GetString(received);
        var error = text.IndexOf("-ERR Protocol error: ", StringComparison.Ordinal);
        if (error >= 0 && text.IndexOf("\r\n", error, StringComparison.Ordinal) != text.Length - 2)
        {
            return $"bytes after the protocol error: {WireClient.Escape(received)}";
        }

        return null;
    }
}
