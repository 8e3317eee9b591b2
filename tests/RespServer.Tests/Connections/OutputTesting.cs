using System.IO.Pipelines;
using System.Text;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>What the tests of connection outputs share: a frame of given text, and a pipe read back as text.</summary>
internal static class OutputTesting
{
    /// <summary>An output with no limit whose ends are ignored.</summary>
    public static ConnectionOutput NewOutput(OutputBufferLimit? limit = null)
    {
        var applied = limit ?? OutputBufferLimit.Normal;
        return new ConnectionOutput(() => applied, (_, _) => { });
    }

    /// <summary>A started batch of its own (with a tracker of its own), as a connection's read loop begins one.</summary>
    public static DeliveryBatch Begin(FanOutTracker? tracker = null)
    {
        var batch = new DeliveryBatch(tracker ?? new FanOutTracker());
        batch.Begin();
        return batch;
    }

    /// <summary>Queues <paramref name="frame"/> on <paramref name="output"/> from <paramref name="batch"/> at once (not
    /// staged), taking a reference of its own, as a delivery of the batch does when it flushes.</summary>
    public static bool Queue(this DeliveryBatch batch, ConnectionOutput output, MessageFrame frame)
    {
        frame.AddRef();
        var queued = output.EnqueueStaged([frame], batch);
        batch.Track(output, queued);
        return queued != Queued.No;
    }

    /// <summary>Queues a reply of the batch's connection on <paramref name="output"/>.</summary>
    public static bool Queue(this DeliveryBatch batch, ConnectionOutput output, byte[] reply)
    {
        var queued = output.Enqueue(reply, reply.Length, pooled: false, batch);
        batch.Track(output, queued);
        return queued != Queued.No;
    }

    /// <summary>Queues a reply outside any batch.</summary>
    public static bool Queue(this ConnectionOutput output, byte[] reply) => output.Enqueue(reply, reply.Length, pooled: false) != Queued.No;

    /// <summary>A pooled frame holding <paramref name="text"/>, held once by the test.</summary>
    public static MessageFrame Frame(string text)
    {
        var frame = MessageFrame.Rent(text.Length);
        Encoding.ASCII.GetBytes(text, frame.Buffer);
        return frame;
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes from the pipe as ASCII text.</summary>
    public static async Task<string> ReadAsync(PipeReader reader, int length)
    {
        var text = new StringBuilder();
        while (text.Length < length)
        {
            var result = await reader.ReadAsync().AsTask().WithTimeout();
            text.Append(Encoding.ASCII.GetString(result.Buffer));
            reader.AdvanceTo(result.Buffer.End);
        }

        Assert.Equal(length, text.Length);
        return text.ToString();
    }
}
