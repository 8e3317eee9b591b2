using System.Buffers;
using System.IO.Pipelines;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Output;
using Notistream.Testing;
using static Notistream.RespServer.Tests.Connections.OutputTesting;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>
/// An output counts the memory its queue keeps alive, not the bytes it will send, so the
/// client-output-buffer-limit and CLIENT LIST omem see what a client that does not read really costs;
/// small replies are packed into the last reply array so the two stay close; and a burst's peak
/// capacity is not kept once the queue is empty.
/// </summary>
public class OutputMemoryTests
{
    /// <summary>The read loop hands each flush of replies over in a pooled array of at least 4 KiB.</summary>
    private static (byte[] Array, int Length) PooledReply(string text)
    {
        var array = ArrayPool<byte>.Shared.Rent(4096);
        var length = System.Text.Encoding.ASCII.GetBytes(text, array);
        return (array, length);
    }

    [Fact]
    public async Task Small_replies_are_packed_into_the_last_reply_array_and_arrive_in_order()
    {
        var pipe = new Pipe();
        var output = NewOutput();
        var writer = output.RunAsync(pipe.Writer);
        output.Hold();
        const int Replies = 10_000;
        var expected = new System.Text.StringBuilder();
        for (var i = 0; i < Replies; i++)
        {
            var text = $"*3\r\n$9\r\nsubscribe\r\n$6\r\n{i:D6}\r\n:{i + 1}\r\n";
            expected.Append(text);
            var (array, length) = PooledReply(text);
            Assert.Equal(Queued.Yes, output.Enqueue(array, length, pooled: true));
        }

        // ~40 bytes each: about a hundred per 4 KiB array, not one 4 KiB array each (40 MB).
        Assert.InRange(output.BufferedBytes, expected.Length, expected.Length + (expected.Length / 4));
        Assert.InRange(output.QueuedItems, 1, Replies / 50);
        output.Release();
        Assert.Equal(expected.ToString(), await ReadAsync(pipe.Reader, expected.Length));
        output.Complete();
        await writer.WithTimeout();
    }

    [Fact]
    public async Task A_reply_array_counts_its_whole_capacity_when_it_cannot_be_packed()
    {
        var output = NewOutput();
        var writer = output.RunAsync(new Pipe().Writer);
        output.Hold();
        var frame = Frame(new string('f', 100));
        for (var i = 0; i < 10; i++)
        {
            var (array, length) = PooledReply(":1\r\n");
            output.Enqueue(array, length, pooled: true);
            output.Enqueue(frame); // between two replies: the next reply cannot join the last array
        }

        Assert.Equal(10 * (4096 + 100), output.BufferedBytes);
        output.Abort();
        await writer.WithTimeout();
        frame.Release();
    }

    /// <summary>
    /// A client that pipelines commands and reads nothing is cut off by what its queue holds: 4 KiB
    /// arrays holding 4-byte replies pass a 64 KiB limit after 16, where counting bytes sent would
    /// have let it hold over a thousand of them (4 MB) before noticing.
    /// </summary>
    [Fact]
    public async Task The_output_limit_counts_memory_held_not_bytes_queued()
    {
        string? reason = null;
        var output = new ConnectionOutput(() => new OutputBufferLimit(64 * 1024, 0, 0), (_, r) => reason = r);
        var writer = output.RunAsync(new Pipe().Writer);
        output.Hold();
        var frame = Frame("x");
        var accepted = 0;
        for (var i = 0; i < 1000; i++)
        {
            var (array, length) = PooledReply(":1\r\n");
            if (output.Enqueue(array, length, pooled: true) == Queued.No || output.Enqueue(frame) == Queued.No)
            {
                break;
            }

            accepted++;
        }

        Assert.InRange(accepted, 14, 16);
        await TaskTimeoutExtensions.WaitUntil(() => reason is not null, "the over-limit callback");
        Assert.Contains("hard limit of 65536 bytes", reason);
        await writer.WithTimeout();
        Assert.Equal(1, frame.References);
        frame.Release();
    }

    [Fact]
    public async Task A_queue_does_not_keep_the_capacity_of_a_burst_once_it_has_drained()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var output = NewOutput();
        var writer = output.RunAsync(pipe.Writer);
        var draining = Task.Run(async () =>
        {
            while (true)
            {
                var result = await pipe.Reader.ReadAsync();
                pipe.Reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        });
        output.Hold();
        var frame = Frame("m\r\n");
        for (var i = 0; i < 200_000; i++)
        {
            output.Enqueue(frame);
        }

        Assert.True(output.QueueCapacity >= 200_000);
        output.Release();
        await TaskTimeoutExtensions.WaitUntil(() => output.BufferedBytes == 0, "the burst was written");

        // One more small write: the writer's next turn finds its lists empty.
        output.Enqueue(frame);
        await TaskTimeoutExtensions.WaitUntil(() => output.BufferedBytes == 0, "the last write");
        Assert.InRange(output.QueueCapacity, 0, 4 * Tuning.KeptQueueCapacity);
        output.Complete();
        await writer.WithTimeout();
        await pipe.Writer.CompleteAsync();
        await draining.WithTimeout();
        Assert.Equal(1, frame.References);
        frame.Release();
    }
}
