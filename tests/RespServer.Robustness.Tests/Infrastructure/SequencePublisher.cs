using System.Globalization;
using System.Text;

namespace Notistream.RespServer.Robustness.Tests.Infrastructure;

/// <summary>
/// Publishes 1, 2, 3, … (optionally padded to a payload size) to one channel, pipelined in batches,
/// and counts the acknowledged ones: a message counts once its PUBLISH reply has been read.
/// </summary>
internal sealed class SequencePublisher(WireClient client, string channel, int payloadSize = 0)
{
    private long _acknowledged;

    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    public static async Task<SequencePublisher> ConnectAsync(int port, string channel, int payloadSize = 0)
        => new(await WireClient.ConnectAsync(port), channel, payloadSize);

    public WireClient Client => client;

    /// <summary>Publishes the next <paramref name="count"/> messages, <paramref name="batch"/> per write.</summary>
    public async Task PublishAsync(long count, int batch = 100, CancellationToken token = default)
    {
        var end = Acknowledged + count;
        while (Acknowledged < end && !token.IsCancellationRequested)
        {
            var first = Acknowledged + 1;
            var n = (int)Math.Min(batch, end - Acknowledged);
            var bytes = new List<byte>();
            for (var i = 0; i < n; i++)
            {
                bytes.AddRange(WireClient.Command("PUBLISH", channel, Payload(first + i)));
            }

            await client.SendAsync(bytes.ToArray());
            for (var i = 0; i < n; i++)
            {
                var reply = await client.ReadAsync();
                if (reply is not long)
                {
                    throw new InvalidDataException($"PUBLISH got {reply}");
                }

                Interlocked.Increment(ref _acknowledged);
            }
        }
    }

    private string Payload(long number)
    {
        var text = number.ToString(CultureInfo.InvariantCulture);
        return payloadSize <= text.Length ? text : new StringBuilder(text).Append('-').Append('x', payloadSize - text.Length - 1).ToString();
    }
}
