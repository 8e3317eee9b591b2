using System.Diagnostics;
using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>
/// Megabyte patterns against the pattern index, with the server as its own process: a stack
/// overflow there ends the process, which an in-process server would take the test host down with.
/// </summary>
public sealed class LongPatternTests
{
    private const int Rounds = 100;
    private const int PatternSize = 1024 * 1024;
    private static readonly TimeSpan SlowWait = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task Megabyte_patterns_subscribed_and_dropped_leave_the_server_alive_small_and_publishers_unstalled()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "reads the server's memory through /proc");
        await using var server = await ServerProcess.StartAsync(FreePort.Next());

        // A standing pattern, so that every PUBLISH takes the pattern index's read lock.
        await using var standing = await WireClient.ConnectAsync(server.Port);
        await standing.CallAsync("PSUBSCRIBE", "standing.*");
        await using var subscriber = await WireClient.ConnectAsync(server.Port);
        await using var publisher = await WireClient.ConnectAsync(server.Port);
        Assert.Equal(0L, await publisher.CallAsync("PUBLISH", "news", "warm-up"));

        // Plain letters, a different start each round. The commands and their replies are built once
        // and the start rewritten in place, and the replies are read into one buffer: the test host
        // allocates nothing per round, so its own GC does not pause the publisher.
        var filler = new string('p', PatternSize);
        byte[][] commands = [WireClient.Command("PSUBSCRIBE", filler), WireClient.Command("PUNSUBSCRIBE", filler)];
        byte[][] replies = [Reply("psubscribe", filler, 1), Reply("punsubscribe", filler, 0)];
        var received = new byte[replies.Max(r => r.Length)];
        var rssBefore = ProcStatus(server, "VmRSS");

        // Publishes one at a time, keeping the longest wait for a reply and counting the waits over
        // SlowWait. A lock held for the pattern's length would make one or two every round; on a
        // shared machine a few come from the scheduler or a GC (up to 2 per run, of 100 to 200 ms, measured).
        using var stop = new CancellationTokenSource();
        long published = 0, slowWaits = 0, longestTicks = 0;
        var publishing = Task.Run(async () =>
        {
            var command = WireClient.Command("PUBLISH", "news", "hello");
            var watch = new Stopwatch();
            while (!stop.IsCancellationRequested)
            {
                watch.Restart();
                await publisher.SendAsync(command);
                Assert.Equal(0L, await publisher.ReadAsync());
                longestTicks = Math.Max(longestTicks, watch.Elapsed.Ticks);
                slowWaits += watch.Elapsed > SlowWait ? 1 : 0;
                published++;
            }
        });

        var round = 0;
        long peak = 0;
        try
        {
            for (; round < Rounds; round++)
            {
                foreach (var bytes in commands.Concat(replies))
                {
                    var start = PatternOffset(bytes);
                    bytes[start] = (byte)('a' + round / 26);
                    bytes[start + 1] = (byte)('a' + round % 26);
                }

                for (var i = 0; i < commands.Length; i++)
                {
                    await subscriber.SendAsync(commands[i]);
                    var reply = received.AsMemory(0, replies[i].Length);
                    await ReceiveExactlyAsync(subscriber, reply);
                    Assert.True(reply.Span.SequenceEqual(replies[i]), $"round {round}: unexpected reply {WireClient.Escape(reply.ToArray())}");
                    peak = ProcStatus(server, "VmHWM");
                }
            }

            Assert.False(publishing.IsCompleted, $"the publisher stopped: {publishing.Exception}");
            await stop.CancelAsync();
            await publishing.WithTimeout();
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException && server.Process.WaitForExit(5000))
        {
            var output = server.Output;
            Assert.Fail($"the server ended with exit code {server.Process.ExitCode} in round {round}, after {published} publishes " +
                        $"with a longest wait of {TimeSpan.FromTicks(longestTicks).TotalMilliseconds:0.0} ms and a peak RSS " +
                        $"{(peak - rssBefore) / (1024 * 1024)} MB above the start:\n{output[..Math.Min(output.Length, 2000)]}");
        }

        await using var check = await WireClient.ConnectAsync(server.Port);
        Assert.Equal("PONG", await check.CallAsync("PING"));
        peak = ProcStatus(server, "VmHWM");
        var longest = TimeSpan.FromTicks(longestTicks);
        var growth = peak - rssBefore;
        var summary = $"{published} publishes, {slowWaits} waits over {SlowWait.TotalMilliseconds} ms, the longest " +
                      $"{longest.TotalMilliseconds:0.0} ms; peak RSS {growth / (1024 * 1024)} MB above the start";
        TestContext.Current.TestOutputHelper?.WriteLine(summary);

        // Each round leaves a few copies of the pattern (the request, the keys, the reply) to the GC,
        // which takes them back every few rounds: 25 to 70 MB measured. A node per byte was about
        // 110 MB for one pattern.
        Assert.True(growth < 128L * 1024 * 1024, summary);
        Assert.True(slowWaits < Rounds / 10, summary);
    }

    /// <summary>A (un)subscribe confirmation as RESP2 sends it.</summary>
    private static byte[] Reply(string kind, string pattern, int count)
        => Encoding.ASCII.GetBytes($"*3\r\n${kind.Length}\r\n{kind}\r\n${pattern.Length}\r\n{pattern}\r\n:{count}\r\n");

    /// <summary>Where the pattern starts in a command or a reply: after its length line.</summary>
    private static int PatternOffset(byte[] bytes)
    {
        var header = Encoding.ASCII.GetBytes($"${PatternSize}\r\n");
        return bytes.AsSpan().IndexOf(header) + header.Length;
    }

    private static async Task ReceiveExactlyAsync(WireClient client, Memory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var n = await client.Socket.ReceiveAsync(buffer).WithTimeout();
            if (n == 0)
            {
                throw new EndOfStreamException("the server closed the connection");
            }

            buffer = buffer[n..];
        }
    }

    /// <summary>A size line of /proc/&lt;pid&gt;/status (VmRSS, VmHWM), in bytes.</summary>
    private static long ProcStatus(ServerProcess server, string field)
    {
        var line = File.ReadLines($"/proc/{server.Process.Id}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
