using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>
/// <c>--print</c>: every message on stdout, one line each: <c>channel: message</c> (control characters
/// removed, so a message cannot drive the terminal), or with <c>--json</c> one JSON object per line
/// with the exact message. Flushes when the queue is empty, not per line.
/// </summary>
internal sealed class PrintSink : IMessageSink
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly TextWriter _output;
    private readonly bool _json;

    public PrintSink(TextWriter output, bool json)
    {
        _output = output;
        _json = json;
    }

    public string Name => "--print";

    public long Printed { get; private set; }

    public async Task RunAsync(ChannelReader<IncomingMessage> reader, CancellationToken cancellationToken)
    {
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var message))
            {
                await _output.WriteLineAsync(Format(message, _json).AsMemory(), cancellationToken).ConfigureAwait(false);
                Printed++;
            }

            await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public static string Format(IncomingMessage message, bool json)
    {
        if (!json)
        {
            return $"{TextSanitizer.StripControls(message.Channel)}: {TextSanitizer.StripControls(message.Payload)}";
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("time", message.ReceivedAt);
            writer.WriteString("channel", message.Channel);
            if (message.Pattern is null)
            {
                writer.WriteNull("pattern");
            }
            else
            {
                writer.WriteString("pattern", message.Pattern);
            }

            writer.WriteString("message", message.Payload);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
