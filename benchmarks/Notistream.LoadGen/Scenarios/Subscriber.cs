using System.Diagnostics;
using Notistream.LoadGen.Verification;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>
/// One subscriber connection and its reader: parses every push straight out of the receive buffer, hands
/// each payload's stream and sequence to its <see cref="DeliveryVerifier"/> and, when latency is measured,
/// the publish-to-delivery time to its own histogram (or to its thread's, with <paramref name="sharedLatency"/>:
/// a thousand subscribers need not hold a thousand histograms). Payloads are <see cref="Payload"/>'s binary
/// header, or <see cref="TextPayload"/>'s with <paramref name="textPayload"/>. Owned by its reader task until it ends.
/// </summary>
internal sealed class Subscriber(
    LoadConnection connection,
    RunState run,
    LatencyHistogram? latency,
    bool textPayload = false,
    ThreadLocal<LatencyHistogram>? sharedLatency = null) : IReceiver
{
    private static readonly double NanosPerTick = 1e9 / Stopwatch.Frequency;

    public LoadConnection Connection { get; } = connection;

    public DeliveryVerifier Verifier { get; } = new();

    public LatencyHistogram? Latency { get; } = latency;

    /// <summary>Channel indexes whose messages this subscriber must receive.</summary>
    public List<int> Receives { get; } = [];

    public string? Problem { get; private set; }

    public async Task ReadAsync()
    {
        try
        {
            while (true)
            {
                var count = Process();
                if (count > 0)
                {
                    run.AddDelivered(count);
                }

                if (!await Connection.FillAsync().ConfigureAwait(false))
                {
                    if (!run.Stopping)
                    {
                        Problem ??= "the server closed a subscriber connection (output buffer limit?)";
                    }

                    return;
                }
            }
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            if (!run.Stopping)
            {
                Problem ??= $"subscriber connection failed: {ex.Message}";
            }
        }
        catch (InvalidDataException ex)
        {
            Problem ??= $"subscriber received bad data: {ex.Message}";
        }
    }

    private int Process()
    {
        var data = Connection.Unparsed;
        var position = 0;
        var count = 0;
        var now = Stopwatch.GetTimestamp();
        while (true)
        {
            var frame = data[position..];
            var used = RespParser.TryParse(frame, out var reply);
            if (used == 0)
            {
                break;
            }

            position += used;
            if (reply.Kind != RespKind.Array || reply.Count < 3 || reply.E0.Kind != RespKind.Bulk
                || !(reply.E0.Length == 7 || reply.E0.Length == 8))
            {
                Problem ??= "a subscriber received something other than a message";
                continue;
            }

            var payload = reply[reply.Count - 1];
            int stream;
            long sequence;
            long intended;
            if (textPayload)
            {
                TextPayload.Read(frame.Slice(payload.Offset, payload.Length), out stream, out sequence, out intended);
            }
            else
            {
                Payload.Read(frame.Slice(payload.Offset, payload.Length), out stream, out sequence, out intended);
            }

            Verifier.Observe(stream, sequence);
            if (intended >= run.MeasureFrom && (Latency ?? sharedLatency?.Value) is { } histogram)
            {
                histogram.Record((long)((now - intended) * NanosPerTick));
            }

            count++;
        }

        Connection.Consume(position);
        return count;
    }
}
