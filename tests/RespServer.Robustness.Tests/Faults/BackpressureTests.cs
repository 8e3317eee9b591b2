using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>A client that pipelines forever without reading its replies.</summary>
[Collection(nameof(MemoryMeasuredCollection))]
public sealed class BackpressureTests
{
    private const int Pings = 1_000_000;

    [Fact]
    public async Task A_client_pipelining_without_reading_is_paused_with_bounded_memory_then_gets_every_reply_in_order()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var subscriber = await SequenceSubscriber.StartAsync(server.Port, "news");
        var publisher = await SequencePublisher.ConnectAsync(server.Port, "news");

        await using var flooder = await WireClient.ConnectAsync(server.Port, receiveBufferSize: 32 * 1024, sendBufferSize: 32 * 1024);
        var request = new List<byte>();
        for (var i = 0; i < Pings; i++)
        {
            request.AddRange(WireClient.Command("PING", i.ToString(CultureInfo.InvariantCulture)));
        }

        var bytes = request.ToArray();
        request = null;
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        long sent = 0;
        var sending = Task.Run(async () =>
        {
            for (var offset = 0; offset < bytes.Length; offset += 16 * 1024)
            {
                var length = Math.Min(16 * 1024, bytes.Length - offset);
                var done = 0;
                while (done < length)
                {
                    done += await flooder.Socket.SendAsync(bytes.AsMemory(offset + done, length - done));
                }

                Interlocked.Add(ref sent, length);
            }
        });

        // TCP backpressure reaches the client: its sends stall well before all of it is out.
        long last = -1;
        while (Interlocked.Read(ref sent) != last)
        {
            last = Interlocked.Read(ref sent);
            await Task.Delay(700, TestContext.Current.CancellationToken);
        }

        Assert.False(sending.IsCompleted, $"all {bytes.Length} bytes were accepted without reading a reply");

        // Meanwhile the server keeps serving the others.
        await publisher.PublishAsync(1000);
        await subscriber.WaitForAsync(1000);

        var client = server.Context.Clients.Snapshot().Single(c => c.LastCommand == "ping");
        TestContext.Current.TestOutputHelper?.WriteLine($"sent {Interlocked.Read(ref sent)} of {bytes.Length} bytes before the stall; server output {client.Output.BufferedBytes} bytes, query buffer {client.QueryBufferLength} bytes");
        Assert.InRange(client.Output.BufferedBytes, 512 * 1024, 2 * 1024 * 1024);
        var heapGrowth = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        Assert.InRange(heapGrowth, long.MinValue, 16 * 1024 * 1024);

        // Not cut off: once it reads, every reply arrives, in order.
        var reader = ReadPongsAsync(flooder);
        await sending.WithTimeout(TimeSpan.FromSeconds(60));
        await reader.WithTimeout(TimeSpan.FromSeconds(60));
        Assert.Equal(0, server.Context.Stats.ClientsClosedForOutputLimit);

        // And it is still usable.
        Assert.Equal("PONG", await flooder.CallAsync("PING"));
    }

    [Fact]
    public async Task A_configured_normal_limit_still_cuts_off_a_client_that_does_not_read_as_redis_does()
    {
        await using var server = await NotistreamServer.StartAsync("--client-output-buffer-limit", "normal", "256kb", "0", "0");
        await using var subscriber = await SequenceSubscriber.StartAsync(server.Port, "news");
        await using var flooder = await WireClient.ConnectAsync(server.Port, receiveBufferSize: 16 * 1024);
        var frame = WireClient.Command("ECHO", new string('e', 1000));
        var batch = Enumerable.Repeat(frame, 100).SelectMany(b => b).ToArray();
        var sending = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < 200; i++)
                {
                    await flooder.Socket.SendAsync(batch);
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
                // The server closed it: that is the expected end.
            }
        });

        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Stats.ClientsClosedForOutputLimit == 1, "the normal client to be cut off");
        await sending.WithTimeout();
        var publisher = await SequencePublisher.ConnectAsync(server.Port, "news");
        await publisher.PublishAsync(100);
        await subscriber.WaitForAsync(100);
    }

    private static async Task ReadPongsAsync(WireClient client)
    {
        var chunk = new byte[64 * 1024];
        var expected = new StringBuilder();
        var next = 0;
        var pending = new List<byte>();
        while (next < Pings)
        {
            var n = await client.Socket.ReceiveAsync(chunk);
            Assert.NotEqual(0, n);
            pending.AddRange(chunk.AsSpan(0, n));
            var consumed = 0;
            while (next < Pings)
            {
                var text = next.ToString(CultureInfo.InvariantCulture);
                expected.Clear().Append('$').Append(text.Length).Append("\r\n").Append(text).Append("\r\n");
                if (pending.Count - consumed < expected.Length)
                {
                    break;
                }

                var got = Encoding.ASCII.GetString(pending.GetRange(consumed, expected.Length).ToArray());
                Assert.Equal(expected.ToString(), got);
                consumed += expected.Length;
                next++;
            }

            pending.RemoveRange(0, consumed);
        }

        Assert.Empty(pending);
    }
}
