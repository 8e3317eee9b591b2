using System.IO.Pipelines;
using System.Text;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;
using Notistream.Testing;
using static Notistream.RespServer.Tests.Connections.OutputTesting;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>
/// A shared message frame is referenced once per queue that holds it and given back exactly once,
/// whether it is written, dropped by Abort, dropped over the output limit, refused, or left behind
/// by a writer whose socket went away. Each test holds its own reference, so the frame is never
/// recycled under it and its count can be read.
/// </summary>
public class ConnectionOutputFrameTests
{
    [Fact]
    public async Task A_written_frame_is_given_back_by_every_writer()
    {
        var frame = Frame("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
        var pipes = Enumerable.Range(0, 3).Select(_ => new Pipe()).ToArray();
        var outputs = pipes.Select(_ => NewOutput()).ToArray();
        var writers = outputs.Select((o, i) => o.RunAsync(pipes[i].Writer)).ToArray();

        foreach (var output in outputs)
        {
            Assert.Equal(Queued.Yes, output.Enqueue(frame));
        }

        foreach (var pipe in pipes)
        {
            Assert.Equal("*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n", await ReadAsync(pipe.Reader, frame.Length));
        }

        await TaskTimeoutExtensions.WaitUntil(() => outputs.All(o => o.BufferedBytes == 0), "every output drained");
        Assert.Equal(1, frame.References);
        foreach (var output in outputs)
        {
            output.Complete();
        }

        await Task.WhenAll(writers).WithTimeout();
        frame.Release();
    }

    [Fact]
    public async Task Abort_gives_back_every_queued_frame()
    {
        var frame = Frame("frame");
        var output = NewOutput();
        var writer = output.RunAsync(new Pipe().Writer);
        output.Hold();
        Assert.Equal(Queued.Yes, output.Enqueue(frame));
        Assert.Equal(Queued.Yes, output.Enqueue(frame));
        Assert.Equal(3, frame.References);

        output.Abort();
        Assert.Equal(1, frame.References);
        Assert.Equal(Queued.No, output.Enqueue(frame)); // "an aborted output took a frame"
        Assert.Equal(1, frame.References);
        await writer.WithTimeout();
        frame.Release();
    }

    [Fact]
    public async Task Passing_the_hard_limit_drops_the_queue_and_gives_its_frames_back()
    {
        var frame = Frame(new string('x', 60));
        string? reason = null;
        var output = new ConnectionOutput(() => new OutputBufferLimit(100, 0, 0), (_, r) => reason = r);
        var writer = output.RunAsync(new Pipe().Writer);
        output.Hold();
        Assert.Equal(Queued.Yes, output.Enqueue(frame));
        Assert.Equal(Queued.No, output.Enqueue(frame)); // "the output took a frame past its hard limit"

        Assert.Equal(1, frame.References);
        Assert.Equal(0, output.BufferedBytes);
        await TaskTimeoutExtensions.WaitUntil(() => reason is not null, "the over-limit callback");
        Assert.Contains("hard limit of 100 bytes", reason);
        await writer.WithTimeout();
        frame.Release();
    }

    [Fact]
    public async Task A_completed_output_refuses_frames_without_keeping_a_reference()
    {
        var frame = Frame("frame");
        var output = NewOutput();
        var writer = output.RunAsync(new Pipe().Writer);
        output.Complete();
        await writer.WithTimeout();

        Assert.Equal(Queued.No, output.Enqueue(frame));
        Assert.Equal(1, frame.References);
        frame.Release();
    }

    [Fact]
    public async Task Frames_queued_when_the_socket_side_went_away_are_given_back()
    {
        var frame = Frame("frame");
        var pipe = new Pipe();
        var output = NewOutput();
        var writer = output.RunAsync(pipe.Writer);
        await pipe.Reader.CompleteAsync();

        // The first flush sees the reader gone and ends the writer; whatever is queued with or after it is given back.
        for (var i = 0; i < 100 && !writer.IsCompleted; i++)
        {
            output.Enqueue(frame);
            await Task.Yield();
        }

        await writer.WithTimeout();
        Assert.Equal(Queued.No, output.Enqueue(frame)); // "an output whose writer ended took a frame"
        Assert.Equal(1, frame.References);
        frame.Release();
    }
}
