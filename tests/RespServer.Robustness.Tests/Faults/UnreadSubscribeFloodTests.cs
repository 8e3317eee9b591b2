using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>
/// A RESP2 client pipelines a long run of <c>SUBSCRIBE ch&lt;i&gt;</c> as fast as it can and never reads
/// a reply. Its output class is pubsub, whose hard limit (32 MB by default) must count the memory its
/// unread replies hold, not only their bytes: counted by bytes, each small reply held a pooled array of
/// at least 4 KiB, and such a client drove the server to gigabytes before it was cut off. The same input
/// goes to redis-server and to notistream-server, each a fresh process, and the server's peak resident
/// memory must grow by at most a small multiple of what Redis's grows by.
/// </summary>
[Collection(nameof(MemoryMeasuredCollection))]
public sealed class UnreadSubscribeFloodTests
{
    /// <summary>About 40 MB of input. Its replies are about 44 bytes; with what the kernel's socket
    /// buffers hold, both servers pass the 32 MB pubsub hard limit near the 890,000th, so the rest is
    /// margin for larger socket buffers.</summary>
    private const int Subscribes = 1_200_000;

    // Measured on a loaded 2-core machine: redis-server 7.0.15 grew by 217 MB, notistream-server by
    // 517-532 MB (2.45x; 890,000 subscriptions alone take 495 MB there, 182 MB in Redis), and the
    // server that counted bytes written by 3.7 GB. 3x + 64 MB leaves room for a loaded CI machine and
    // still fails the old accounting.
    private const double AllowedRatio = 3;
    private const long AllowedExtraBytes = 64L * 1024 * 1024;

    [Fact]
    public async Task A_client_pipelining_subscribes_without_reading_is_cut_off_with_memory_comparable_to_redis()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "reads peak memory from /proc");
        var input = BuildInput();

        Flood redis;
        await using (var server = await RedisServerProcess.StartAsync())
        {
            redis = await FloodAsync(server.Port, input, () => server.Output);
        }

        Flood ours;
        await using (var server = await ServerProcess.StartAsync(FreePort.Next()))
        {
            ours = await FloodAsync(server.Port, input, () => server.Output);
            Assert.False(server.Process.HasExited, $"notistream-server exited:\n{server.Output}");
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{Subscribes} SUBSCRIBEs ({input.Length} bytes); redis-server: {redis}; notistream-server: {ours}");
        Assert.Equal("1", ours.OutputLimitDisconnections);
        var allowed = (long)(AllowedRatio * redis.PeakGrowth) + AllowedExtraBytes;
        Assert.True(ours.PeakGrowth <= allowed,
            $"notistream-server's peak RSS grew by {Mb(ours.PeakGrowth)}, over {AllowedRatio}x redis-server's {Mb(redis.PeakGrowth)} + {Mb(AllowedExtraBytes)}");
    }

    /// <summary>Pipelines <paramref name="input"/> on a connection that never reads; the server must
    /// close it at its output limit (both log it the same way) and go on serving another client.</summary>
    private static async Task<Flood> FloodAsync(int port, byte[] input, Func<string> log)
    {
        await using var probe = await WireClient.ConnectAsync(port);
        var pid = int.Parse(await InfoFieldAsync(probe, "server", "process_id") ?? "0", CultureInfo.InvariantCulture);
        var rssBefore = ProcStatusBytes(pid, "VmRSS");

        await using var hostile = await WireClient.ConnectAsync(port, receiveBufferSize: 16 * 1024);
        var clock = Stopwatch.StartNew();
        var sent = 0;
        var sending = Task.Run(() =>
        {
            try
            {
                while (sent < input.Length)
                {
                    sent += hostile.Socket.Send(input, sent, Math.Min(256 * 1024, input.Length - sent), SocketFlags.None);
                }

                return false;
            }
            catch (SocketException)
            {
                return true; // reset by the server while sending
            }
        });
        var resetWhileSending = await sending.WithTimeout(TimeSpan.FromSeconds(60));
        await TaskTimeoutExtensions.WaitUntil(() => log().Contains("for overcoming of output buffer limits", StringComparison.Ordinal),
            "the server to close the client at its output limit", TimeSpan.FromSeconds(30));
        var elapsed = clock.Elapsed;

        // The client sees the close (after whatever the kernel still held).
        await hostile.ReadToCloseAsync(TimeSpan.FromSeconds(10));
        var peak = ProcStatusBytes(pid, "VmHWM");

        // Still serving, on an old connection and a new one.
        Assert.Equal("PONG", await probe.CallAsync("PING"));
        await using var other = await WireClient.ConnectAsync(port);
        Assert.Equal("PONG", await other.CallAsync("PING"));
        var disconnections = await InfoFieldAsync(probe, "stats", "client_output_buffer_limit_disconnections");

        // And the closed client, with its ~900,000 subscriptions, has left the client list: its clean-up
        // is linear in what it held.
        var clients = "";
        for (var deadline = Stopwatch.StartNew(); deadline.Elapsed < TimeSpan.FromSeconds(20) && clients != "2";)
        {
            clients = await InfoFieldAsync(probe, "clients", "connected_clients") ?? "";
            await Task.Delay(100);
        }

        Assert.Equal("2", clients);
        return new Flood(peak - rssBefore, peak, resetWhileSending, sent, elapsed, disconnections);
    }

    private static byte[] BuildInput()
    {
        var text = new StringBuilder(Subscribes * 40);
        for (var i = 0; i < Subscribes; i++)
        {
            var channel = "ch" + i.ToString(CultureInfo.InvariantCulture);
            text.Append("*2\r\n$9\r\nSUBSCRIBE\r\n$").Append(channel.Length).Append("\r\n").Append(channel).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static async Task<string?> InfoFieldAsync(WireClient client, string section, string field)
    {
        var info = Encoding.UTF8.GetString((byte[])(await client.CallAsync("INFO", section))!);
        return info.Split("\r\n").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal))?[(field.Length + 1)..];
    }

    /// <summary>A "VmXXX: n kB" line of /proc/&lt;pid&gt;/status, in bytes.</summary>
    private static long ProcStatusBytes(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):0.#} MB";

    private sealed record Flood(long PeakGrowth, long Peak, bool ResetWhileSending, long BytesSent, TimeSpan Elapsed, string? OutputLimitDisconnections)
    {
        public override string ToString()
            => $"peak RSS grew by {Mb(PeakGrowth)} (to {Mb(Peak)}); {(ResetWhileSending ? "reset while sending" : "all sent")} ({BytesSent} bytes), cut off within {Elapsed.TotalSeconds:0.0} s";
    }
}
