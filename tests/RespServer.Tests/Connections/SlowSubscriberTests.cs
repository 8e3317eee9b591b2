using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Connections;

public class SlowSubscriberTests
{
    [Fact]
    public async Task A_subscriber_that_never_reads_is_cut_off_at_the_hard_limit_while_the_others_get_everything()
    {
        const int hardLimit = 4 * 1024 * 1024;
        await using var server = await NotistreamServer.StartAsync("--client-output-buffer-limit", "pubsub", "4mb", "0", "0");

        // A subscriber whose socket buffers are tiny and that never calls receive again.
        await using var stalled = await RawClient.ConnectAsync(server.Port, receiveBufferSize: 4096);
        await stalled.SendAsync(RawClient.Command("SUBSCRIBE", "feed"));
        await stalled.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n");

        // A subscriber that reads everything, concurrently.
        await using var healthy = await RawClient.ConnectAsync(server.Port);
        await healthy.SendAsync(RawClient.Command("SUBSCRIBE", "feed"));
        await healthy.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n");

        var payload = new string('x', 16 * 1024);
        const int messages = 1024; // 16 MiB in all: four times the limit
        var received = Task.Run(async () =>
        {
            for (var i = 0; i < messages; i++)
            {
                var body = $"{i:D6}{payload[6..]}";
                await healthy.ExpectAsync($"*3\r\n$7\r\nmessage\r\n$4\r\nfeed\r\n${body.Length}\r\n{body}\r\n");
            }
        });

        await using var publisher = await RawClient.ConnectAsync(server.Port);
        var slowest = TimeSpan.Zero;
        var receiverCounts = new List<string>();
        long mostQueued = 0;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < messages; i++)
        {
            var started = watch.Elapsed;
            await publisher.SendAsync(RawClient.Command("PUBLISH", "feed", $"{i:D6}{payload[6..]}"));
            var reply = await ReadLineAsync(publisher.Socket);
            receiverCounts.Add(reply);
            foreach (var client in server.Context.Clients.Snapshot())
            {
                mostQueued = Math.Max(mostQueued, client.Output.BufferedBytes);
            }

            var took = watch.Elapsed - started;
            slowest = took > slowest ? took : slowest;
        }

        await received.WithTimeout(TimeSpan.FromSeconds(60));

        // The stalled subscriber was counted while connected, then dropped: the publisher never waited for it.
        Assert.Equal(":2", receiverCounts[0]);
        Assert.Equal(":1", receiverCounts[^1]);
        Assert.True(slowest < TimeSpan.FromSeconds(5), $"a PUBLISH took {slowest}");
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Clients.Count == 2, "the stalled subscriber to be removed");
        Assert.Equal(1, Interlocked.Read(ref server.Context.Stats.ClientsClosedForOutputLimit));
        Assert.Equal(1, server.Context.Registry.SubscriberCount("feed"u8, shard: false));

        // What the server queued for any client never passed the hard limit (the frame that crossed it is dropped with the rest).
        Assert.InRange(mostQueued, 1, hardLimit);
    }

    private static async Task<string> ReadLineAsync(Socket socket)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            var n = await socket.ReceiveAsync(one).WithTimeout();
            Assert.NotEqual(0, n);
            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }
    }
}
