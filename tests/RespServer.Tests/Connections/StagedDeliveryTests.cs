using System.IO.Pipelines;
using System.Text;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;
using Notistream.Testing;
using static Notistream.RespServer.Tests.Connections.OutputTesting;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>
/// A publisher's batch stages its deliveries and queues them on each output in one step
/// (<see cref="DeliveryBatch.Stage"/>, <see cref="ConnectionOutput.EnqueueStaged"/>): every output gets
/// its messages once and in order, every frame reference comes back whatever happens to the output,
/// and messages with one receiver are copied together into chunks.
/// </summary>
public class StagedDeliveryTests
{
    [Fact]
    public async Task A_batch_queues_each_outputs_messages_in_order_at_its_end_and_every_reference_comes_back()
    {
        var pipes = Enumerable.Range(0, 3).Select(_ => new Pipe()).ToArray();
        var outputs = pipes.Select(_ => NewOutput()).ToArray();
        var writers = outputs.Select((o, i) => o.RunAsync(pipes[i].Writer)).ToArray();
        var frames = Enumerable.Range(0, 10).Select(i => Frame($"message {i}\r\n")).ToArray();

        var batch = Begin();
        try
        {
            foreach (var frame in frames)
            {
                foreach (var output in outputs)
                {
                    Assert.True(batch.InBatch);
                    batch.Stage(output, frame);
                }
            }

            Assert.All(outputs, o => Assert.Equal(0, o.BufferedBytes)); // staged, not queued yet
            Assert.All(frames, f => Assert.Equal(4, f.References));
        }
        finally
        {
            batch.End();
        }

        Assert.False(batch.InBatch);
        var expected = string.Concat(Enumerable.Range(0, 10).Select(i => $"message {i}\r\n"));
        foreach (var pipe in pipes)
        {
            Assert.Equal(expected, await ReadAsync(pipe.Reader, expected.Length));
        }

        await TaskTimeoutExtensions.WaitUntil(() => frames.All(f => f.References == 1), "every output gave its references back");
        foreach (var output in outputs)
        {
            output.Complete();
        }

        await Task.WhenAll(writers).WithTimeout();
        Assert.All(frames, f => f.Release());
    }

    [Fact]
    public async Task Messages_with_one_receiver_are_copied_into_chunks_and_keep_their_order_around_large_ones()
    {
        var pipe = new Pipe();
        var output = NewOutput();
        var writer = output.RunAsync(pipe.Writer);
        output.Hold(); // queued, not sent: the segments can be counted

        // 2 small, one of 8 KiB (shared as it is), then 400 small of 100 bytes: 40,000 bytes, three chunks.
        var texts = new List<string> { "a\r\n", "b\r\n", new string('L', 8190) + "\r\n" };
        texts.AddRange(Enumerable.Range(0, 400).Select(i => $"{i:D4}" + new string('s', 94) + "\r\n"));
        var frames = new List<MessageFrame>();
        var batch = Begin();
        try
        {
            foreach (var text in texts)
            {
                var frame = Frame(text);
                frames.Add(frame);
                batch.Stage(output, frame);
                frame.Release(); // as the publisher does after its fan-out: the staged delivery holds the only reference
            }
        }
        finally
        {
            batch.End();
        }

        // Held, not sent: the two small ones in a chunk of their own, the large frame, three chunks.
        var total = texts.Sum(t => t.Length);
        Assert.InRange(output.BufferedBytes, total, total + (4 * 16 * 1024));
        Assert.Equal(1 + 1 + 3, output.QueuedItems);

        // Nothing has been sent and nothing rented on this thread since: a copied frame was given back
        // by the copy (its count read after its release, before anything could reuse it); the large
        // one is still held by the queue.
        Assert.Equal(1, frames[2].References);
        Assert.All(frames.Where((_, i) => i != 2), f => Assert.Equal(0, f.References));

        output.Release();
        Assert.Equal(string.Concat(texts), await ReadAsync(pipe.Reader, total));
        output.Complete();
        await writer.WithTimeout();
    }

    [Fact]
    public async Task Past_the_limit_a_staged_batch_drops_the_queue_and_gives_every_frame_back()
    {
        string? reason = null;
        var output = new ConnectionOutput(() => new OutputBufferLimit(100, 0, 0), (_, r) => reason = r);
        var writer = output.RunAsync(new Pipe().Writer);
        output.Hold();
        var frames = Enumerable.Range(0, 3).Select(_ => Frame(new string('x', 60))).ToArray();

        var batch = Begin();
        try
        {
            foreach (var frame in frames)
            {
                batch.Stage(output, frame);
            }
        }
        finally
        {
            batch.End();
        }

        Assert.All(frames, f => Assert.Equal(1, f.References));
        Assert.Equal(0, output.BufferedBytes);
        await TaskTimeoutExtensions.WaitUntil(() => reason is not null, "the over-limit callback");
        Assert.Contains("hard limit of 100 bytes", reason);
        await writer.WithTimeout();
        Assert.All(frames, f => f.Release());
    }

    [Fact]
    public async Task A_closed_output_gives_staged_frames_back()
    {
        var output = NewOutput();
        var writer = output.RunAsync(new Pipe().Writer);
        var frames = Enumerable.Range(0, 2).Select(i => Frame($"message {i}\r\n")).ToArray();

        var batch = Begin();
        try
        {
            foreach (var frame in frames)
            {
                batch.Stage(output, frame);
            }

            output.Complete();
        }
        finally
        {
            batch.End();
        }

        await writer.WithTimeout();
        Assert.All(frames, f => Assert.Equal(1, f.References));
        Assert.All(frames, f => f.Release());
    }

    [Fact]
    public async Task A_batch_queues_what_it_staged_once_it_reaches_its_bound()
    {
        var pipe = new Pipe();
        var output = NewOutput();
        var writer = output.RunAsync(pipe.Writer);
        output.Hold();
        var frame = Frame("m\r\n");

        var batch = Begin();
        try
        {
            for (var i = 0; i < Tuning.MaxStaged - 1; i++)
            {
                batch.Stage(output, frame);
            }

            Assert.Equal(0, output.BufferedBytes);
            batch.Stage(output, frame);
            Assert.Equal(3 * Tuning.MaxStaged, output.BufferedBytes); // all MaxStaged, queued as the last was staged
            batch.Stage(output, frame);
            Assert.Equal(3 * Tuning.MaxStaged, output.BufferedBytes);
        }
        finally
        {
            batch.End();
        }

        Assert.Equal(3 * (Tuning.MaxStaged + 1), output.BufferedBytes);
        output.Release();
        var expected = 3 * (Tuning.MaxStaged + 1);
        Assert.Equal(string.Concat(Enumerable.Repeat("m\r\n", Tuning.MaxStaged + 1)), await ReadAsync(pipe.Reader, expected));
        await TaskTimeoutExtensions.WaitUntil(() => frame.References == 1, "every reference given back");
        output.Complete();
        await writer.WithTimeout();
        frame.Release();
    }

    /// <summary>
    /// The unsubscribe barrier: once an unsubscribing connection has registered with the batches fanning
    /// out, what it queues next (its confirmation) is sent only after each of those batches has queued
    /// what it staged, and what those batches queue goes ahead of the confirmation. Nobody waits:
    /// registering returns at once.
    /// </summary>
    [Fact]
    public async Task A_confirmation_waits_behind_the_barrier_until_the_publishers_batch_has_queued_its_message()
    {
        var pipe = new Pipe();
        var tracker = new FanOutTracker();
        var output = NewOutput();
        var writer = output.RunAsync(pipe.Writer);
        var publisher = Begin(tracker);
        publisher.BeginFanOut(); // as a PUBLISH does before it reads the subscriber list
        var frame = Frame("message\r\n");
        publisher.Stage(output, frame);
        frame.Release();
        Assert.Equal(1, tracker.ActiveCount);

        var own = Begin(tracker);
        tracker.AwaitFanOuts(output, own); // the unsubscriber, after leaving the lists
        var confirmation = "confirmation\r\n"u8.ToArray();
        Assert.True(own.Queue(output, confirmation));
        own.End();
        await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.Equal(0, output.TotalBytesWritten); // held behind the barrier, not sent

        publisher.End(); // queues the message, leaves the tracker, and lifts the barrier
        Assert.Equal(0, tracker.ActiveCount);
        Assert.Equal("message\r\nconfirmation\r\n", await ReadAsync(pipe.Reader, 23));
        output.Complete();
        await writer.WithTimeout();
    }

    /// <summary>A batch that an output waits for queues what it staged after its current command,
    /// not at the end of its whole batch.</summary>
    [Fact]
    public async Task A_batch_with_a_waiting_output_queues_its_staged_deliveries_after_the_command()
    {
        var pipe = new Pipe();
        var tracker = new FanOutTracker();
        var output = NewOutput();
        var writer = output.RunAsync(pipe.Writer);
        var publisher = Begin(tracker);
        publisher.BeginFanOut();
        var frame = Frame("message\r\n");
        publisher.Stage(output, frame);
        frame.Release();

        tracker.AwaitFanOuts(output, null);
        Assert.True(output.Queue("confirmation\r\n"u8.ToArray()));
        publisher.AfterCommand(); // the PUBLISH ends: a waiter is there, so its deliveries are queued now
        Assert.Equal(0, tracker.ActiveCount);
        Assert.Equal("message\r\nconfirmation\r\n", await ReadAsync(pipe.Reader, 23));
        publisher.End();
        output.Complete();
        await writer.WithTimeout();
    }

    /// <summary>
    /// Whatever throws inside queuing, every staged frame is given back exactly once: here the output's
    /// limit check throws after the first of several chunks was queued.
    /// </summary>
    [Fact]
    public async Task A_throw_while_queuing_staged_frames_gives_each_back_exactly_once()
    {
        var calls = 0;
        var output = new ConnectionOutput(
            () => ++calls == 2 ? throw new InvalidOperationException("limit lookup failed") : OutputBufferLimit.Normal, (_, _) => { });
        var writer = output.RunAsync(new Pipe().Writer);
        output.Hold();
        var large = Enumerable.Range(0, 3).Select(_ => Frame(new string('L', 5000))).ToArray(); // never copied: one segment each
        var batch = Begin();
        foreach (var frame in large)
        {
            batch.Stage(output, frame);
        }

        Assert.Throws<InvalidOperationException>(batch.FlushStaged);
        batch.End();

        // The first two are the queue's (queued before the throw); the third was given back, once.
        Assert.Equal(2, large[0].References);
        Assert.Equal(2, large[1].References);
        Assert.Equal(1, large[2].References);
        output.Abort();
        await writer.WithTimeout();
        Assert.All(large, f => Assert.Equal(1, f.References));
        Assert.All(large, f => f.Release());
    }

    /// <summary>
    /// While a publisher pipelines messages to a channel, a subscriber leaves it again and again, by
    /// UNSUBSCRIBE or RESET: after the confirmation the next reply it reads is its PING's, never a
    /// message (Redis's order; a message staged before the unsubscribe must be queued before it).
    /// </summary>
    [Theory]
    [InlineData("UNSUBSCRIBE", "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n")]
    [InlineData("RESET", "+RESET\r\n")]
    public async Task No_message_follows_an_unsubscribe_confirmation(string command, string confirmation)
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        await using var subscriber = await RawClient.ConnectAsync(server.Port);
        using var stop = new CancellationTokenSource();
        var write = string.Concat(Enumerable.Repeat(Encoding.Latin1.GetString(RawClient.Command("PUBLISH", "ch", "m")), 256));
        var publishing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await publisher.SendAsync(write);
                await publisher.DrainAsync();
            }
        });

        const string Message = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n";
        var end = confirmation + "+PONG\r\n";

        // Six bytes tell a message ("*3\r\n$7") from either confirmation ("*3\r\n$1", "+RESET").
        const int Prefix = 6;
        try
        {
            for (var round = 0; round < 200; round++)
            {
                await subscriber.SendAsync(RawClient.Command("SUBSCRIBE", "ch"));
                await subscriber.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
                await subscriber.SendAsync(command == "RESET" ? RawClient.Command("RESET") : RawClient.Command(command, "ch"));
                await subscriber.SendAsync(RawClient.Command("PING"));
                while (true)
                {
                    var next = await subscriber.ReadAsync(Prefix);
                    if (next == Message[..Prefix])
                    {
                        await subscriber.ExpectAsync(Message[Prefix..]);
                        continue;
                    }

                    Assert.Equal(end[..Prefix], next);
                    break;
                }

                await subscriber.ExpectAsync(end[Prefix..]);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await publishing.WithTimeout();
        }
    }

    /// <summary>
    /// One write of 120 PUBLISHes, alternating between a channel with 50 subscribers (shared frames,
    /// 6,000 deliveries: more than a batch stages at once) and one with a single subscriber (copied
    /// into chunks), every tenth message larger than what is copied: every subscriber gets its
    /// channel's messages once and in order, and the publisher its 120 counts.
    /// </summary>
    [Fact]
    public async Task One_write_of_many_publishes_reaches_every_subscriber_in_order()
    {
        await using var server = await NotistreamServer.StartAsync();
        var crowd = new List<RawClient>();
        try
        {
            for (var i = 0; i < 50; i++)
            {
                var subscriber = await RawClient.ConnectAsync(server.Port);
                crowd.Add(subscriber);
                await subscriber.SendAsync(RawClient.Command("SUBSCRIBE", "crowd"));
                await subscriber.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$5\r\ncrowd\r\n:1\r\n");
            }

            await using var solo = await RawClient.ConnectAsync(server.Port);
            await solo.SendAsync(RawClient.Command("SUBSCRIBE", "solo"));
            await solo.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$4\r\nsolo\r\n:1\r\n");

            string Message(int i) => i % 10 == 0 ? $"{i:D3}" + new string('x', 6000) : $"{i:D3}";
            string Push(string channel, string message) => $"*3\r\n$7\r\nmessage\r\n${channel.Length}\r\n{channel}\r\n${message.Length}\r\n{message}\r\n";
            var write = new List<byte>();
            var replies = new StringBuilder();
            var toCrowd = new StringBuilder();
            var toSolo = new StringBuilder();
            for (var i = 0; i < 120; i++)
            {
                var channel = i % 2 == 0 ? "crowd" : "solo";
                write.AddRange(RawClient.Command("PUBLISH", channel, Message(i)));
                replies.Append(i % 2 == 0 ? ":50\r\n" : ":1\r\n");
                (i % 2 == 0 ? toCrowd : toSolo).Append(Push(channel, Message(i)));
            }

            await using var publisher = await RawClient.ConnectAsync(server.Port);
            await publisher.SendAsync([.. write]);
            await publisher.ExpectAsync(replies.ToString());
            await solo.ExpectAsync(toSolo.ToString());
            foreach (var subscriber in crowd)
            {
                await subscriber.ExpectAsync(toCrowd.ToString());
            }
        }
        finally
        {
            foreach (var subscriber in crowd)
            {
                await subscriber.DisposeAsync();
            }
        }
    }
}
