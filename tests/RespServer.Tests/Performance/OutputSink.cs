using System.IO.Pipelines;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Tests.Performance;

/// <summary>
/// A subscriber with a real <see cref="ConnectionOutput"/> and its writer, whose pipe is drained by a
/// reader task as a socket would be: the whole path a published frame takes except the kernel.
/// </summary>
internal sealed class OutputSink : ISubscriber, IAsyncDisposable
{
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Task _writer;
    private readonly Task _reader;
    private long _received;

    public OutputSink(OutputBufferLimit? limit = null)
    {
        var applied = limit ?? OutputBufferLimit.Normal;
        Output = new ConnectionOutput(() => applied, (_, _) => { });
        _writer = Output.RunAsync(_pipe.Writer);
        _reader = DrainAsync();
    }

    public ConnectionOutput Output { get; }

    public int Protocol => 2;

    /// <summary>Bytes the writer has put through the pipe and the reader has consumed.</summary>
    public long Received => Volatile.Read(ref _received);

    public void Deliver(MessageFrame frame, DeliveryBatch? batch) => Output.Enqueue(frame);

    /// <summary>Spins until everything queued has been written and flushed (no allocation, no timer).</summary>
    public void WaitUntilDrained()
    {
        var spin = new SpinWait();
        var deadline = Environment.TickCount64 + 10_000;
        while (Output.BufferedBytes > 0)
        {
            spin.SpinOnce();
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException("the output writer did not drain within 10 s");
            }
        }
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            var result = await _pipe.Reader.ReadAsync().ConfigureAwait(false);
            Interlocked.Add(ref _received, result.Buffer.Length);
            _pipe.Reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Output.Complete();
        await _writer.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await _pipe.Writer.CompleteAsync().ConfigureAwait(false);
        await _reader.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }
}
