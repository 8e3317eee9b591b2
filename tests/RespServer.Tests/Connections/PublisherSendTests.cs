using System.Net;
using System.Net.Sockets;
using System.Text;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;
using Notistream.Testing;
using static Notistream.RespServer.Tests.Connections.OutputTesting;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>
/// Messages and replies a batch queues for idle writers are sent from the batch's own thread at the
/// end of the batch (<see cref="DeliveryBatch"/>). Whatever the socket refuses goes back to the head of
/// the queue for the writer: every byte arrives once, in queue order, and every frame is given back.
/// </summary>
public sealed class PublisherSendTests : IAsyncDisposable
{
    private readonly Socket _client;
    private readonly Socket _server;
    private readonly ConnectionOutput _output = NewOutput();
    private readonly Task _writer;

    public PublisherSendTests()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        _client.Connect(listener.LocalEndPoint!);
        _server = listener.Accept();
        _server.SendBufferSize = 4096;
        _writer = _output.RunAsync(_server);
    }

    public async ValueTask DisposeAsync()
    {
        _output.Complete();
        await _writer.WithTimeout();
        _server.Dispose();
        _client.Dispose();
    }

    private async Task<string> ReceiveAsync(int length)
    {
        var buffer = new byte[length];
        var received = 0;
        while (received < length)
        {
            var read = await _client.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None).AsTask().WithTimeout();
            Assert.True(read > 0, $"the connection closed after {received} of {length} bytes");
            received += read;
        }

        return Encoding.ASCII.GetString(buffer);
    }

    /// <summary>A reply, read back, so the writer has sent everything and is idle.</summary>
    private async Task WriterIdleAsync()
    {
        var reply = "+PONG\r\n"u8.ToArray();
        Assert.True(_output.Queue(reply));
        Assert.Equal("+PONG\r\n", await ReceiveAsync(reply.Length));
        await TaskTimeoutExtensions.WaitUntil(() => _output.BufferedBytes == 0, "the writer went idle");
    }

    [Fact]
    public async Task A_batch_is_sent_by_the_publisher_when_it_ends_not_by_waking_the_writer()
    {
        await WriterIdleAsync();
        var frames = Enumerable.Range(0, 20).Select(i => Frame($"message {i:D2}\r\n")).ToArray();

        var batch = Begin();
        try
        {
            foreach (var frame in frames)
            {
                Assert.True(batch.Queue(_output, frame));
            }

            Assert.Equal(20 * 12, _output.BufferedBytes); // queued, not yet sent: the writer was not woken
        }
        finally
        {
            batch.End();
        }

        Assert.Equal(0, _output.BufferedBytes); // sent before End returned, from this thread
        Assert.Equal(string.Concat(Enumerable.Range(0, 20).Select(i => $"message {i:D2}\r\n")), await ReceiveAsync(20 * 12));
        Assert.All(frames, f => Assert.Equal(1, f.References));
        Assert.False(batch.SendsInline);
    }

    [Fact]
    public async Task A_reply_queued_in_a_batch_leaves_with_its_messages_in_queue_order()
    {
        await WriterIdleAsync();
        var first = Frame("message 1\r\n");
        var last = Frame("message 2\r\n");
        var reply = ":50\r\n"u8.ToArray();

        var batch = Begin();
        try
        {
            Assert.True(batch.Queue(_output, first));
            Assert.True(batch.Queue(_output, reply));
            Assert.True(batch.Queue(_output, last));
            Assert.Equal(11 + 5 + 11, _output.BufferedBytes); // the reply did not wake the writer either
        }
        finally
        {
            batch.End();
        }

        Assert.Equal(0, _output.BufferedBytes); // sent before End returned, from this thread
        Assert.Equal("message 1\r\n:50\r\nmessage 2\r\n", await ReceiveAsync(11 + 5 + 11));
        Assert.Equal(1, first.References);
        Assert.Equal(1, last.References);
    }

    [Fact]
    public async Task A_large_batch_hands_its_messages_to_the_writer()
    {
        await WriterIdleAsync();
        var batch = Begin();
        try
        {
            for (var i = 0; i < Tuning.LargeBatch; i++)
            {
                var frame = Frame($"message {i:D2}\r\n");
                Assert.True(batch.Queue(_output, frame));
                frame.Release();
                batch.AfterCommand();
            }

            Assert.False(batch.SendsInline);

            // The writer sends while the batch is still running.
            var expected = string.Concat(Enumerable.Range(0, Tuning.LargeBatch).Select(i => $"message {i:D2}\r\n"));
            Assert.Equal(expected, await ReceiveAsync(expected.Length));
        }
        finally
        {
            batch.End();
        }
    }

    [Fact]
    public async Task What_the_socket_refuses_goes_to_the_writer_and_arrives_in_order()
    {
        await WriterIdleAsync();

        // Far more than the socket buffers hold: most of it waits until the client reads.
        const int count = 4000;
        var frames = new MessageFrame[count];
        for (var i = 0; i < count; i++)
        {
            frames[i] = Frame($"{i:D6}:" + new string((char)('a' + (i % 26)), 90) + "\r\n");
        }

        var batch = Begin();
        try
        {
            foreach (var frame in frames)
            {
                Assert.True(batch.Queue(_output, frame));
            }
        }
        finally
        {
            batch.End();
        }

        Assert.True(_output.BufferedBytes > 0, "the socket took 390 KB without a reader");
        var expected = string.Concat(frames.Select(f => Encoding.ASCII.GetString(f.Span)));
        Assert.Equal(expected, await ReceiveAsync(expected.Length));
        await TaskTimeoutExtensions.WaitUntil(() => _output.BufferedBytes == 0, "the output drained");
        Assert.All(frames, f => Assert.Equal(1, f.References));
    }

    [Fact]
    public async Task Frames_larger_than_one_send_are_left_to_the_writer_uncopied()
    {
        await WriterIdleAsync();
        var small = Frame("before\r\n");
        var large = Frame(new string('L', 200 * 1024) + "\r\n");
        var after = Frame("after\r\n");
        var batch = Begin();
        try
        {
            Assert.True(batch.Queue(_output, small));
            Assert.True(batch.Queue(_output, large));
            Assert.True(batch.Queue(_output, after));
        }
        finally
        {
            batch.End();
        }

        var expected = "before\r\n" + new string('L', 200 * 1024) + "\r\nafter\r\n";
        Assert.Equal(expected, await ReceiveAsync(expected.Length));
        await TaskTimeoutExtensions.WaitUntil(() => large.References == 1 && after.References == 1 && small.References == 1, "every frame given back");
    }

    [Fact]
    public async Task Publishers_on_several_threads_and_replies_keep_each_ones_order()
    {
        await WriterIdleAsync();
        const int publishers = 4;
        const int batches = 200;
        const int perBatch = 10;
        var reading = ReceiveAsync(publishers * batches * perBatch * 12);

        var threads = Enumerable.Range(0, publishers).Select(p => Task.Run(() =>
        {
            for (var b = 0; b < batches; b++)
            {
                var batch = Begin();
                try
                {
                    for (var m = 0; m < perBatch; m++)
                    {
                        var frame = Frame($"{p}:{(b * perBatch) + m:D8}\r\n"); // 12 bytes
                        Assert.True(batch.Queue(_output, frame));
                        frame.Release();
                    }
                }
                finally
                {
                    batch.End();
                }
            }
        })).ToArray();
        await Task.WhenAll(threads).WithTimeout();

        var lines = (await reading).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(publishers * batches * perBatch, lines.Length);
        for (var p = 0; p < publishers; p++)
        {
            var own = lines.Where(l => l.StartsWith($"{p}:", StringComparison.Ordinal)).Select(l => int.Parse(l[2..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(Enumerable.Range(0, batches * perBatch), own);
        }
    }

    [Fact]
    public async Task A_held_output_is_not_sent_by_the_publisher_until_released()
    {
        await WriterIdleAsync();
        var frame = Frame("held\r\n");
        _output.Hold();
        var batch = Begin();
        try
        {
            Assert.True(batch.Queue(_output, frame));
        }
        finally
        {
            batch.End();
        }

        Assert.Equal(6, _output.BufferedBytes);
        var reply = "+confirmed\r\n"u8.ToArray();
        Assert.True(_output.Queue(reply));
        _output.Release();
        Assert.Equal("held\r\n+confirmed\r\n", await ReceiveAsync(18));
        await TaskTimeoutExtensions.WaitUntil(() => frame.References == 1, "the frame given back");
    }
}
