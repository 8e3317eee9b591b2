using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>
/// <c>--print</c>: every message on stdout, one line each: <c>channel: message</c> (control characters
/// removed, so a message cannot drive the terminal), or with <c>--json</c> one JSON object per line
/// with the exact message. A gap in history is one line too. Flushes when the queue is empty (and at
/// least every <see cref="FlushEvery"/> lines), not per line; a message counts as delivered once flushed.
/// </summary>
internal sealed class PrintSink : IMessageSink
{
    public const int FlushEvery = 256;

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

    public async Task RunAsync(ChannelReader<IncomingMessage> reader, Action<IncomingMessage> delivered, CancellationToken cancellationToken)
    {
        var written = new List<IncomingMessage>();
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (written.Count < FlushEvery && reader.TryRead(out var message))
            {
                if (message.Kind == IncomingKind.CaughtUp)
                {
                    continue;
                }

                await _output.WriteLineAsync(Format(message, _json).AsMemory(), cancellationToken).ConfigureAwait(false);
                written.Add(message);
                if (message.Kind == IncomingKind.Message)
                {
                    Printed++;
                }
            }

            await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
            foreach (var message in written)
            {
                delivered(message);
            }

            written.Clear();
        }
    }

    /// <summary>
    /// Plain: <c>channel: message</c>; a gap as <c>gap on X: history no longer covers N messages on X</c>.
    /// JSON: <c>event</c> ("message" or "gap"), <c>id</c> (messages; null without history), <c>time</c>,
    /// <c>channel</c>, <c>pattern</c>, <c>message</c> (for a gap, the notice) and, for a gap, <c>missed</c>.
    /// </summary>
    public static string Format(IncomingMessage message, bool json)
    {
        var gap = message.Kind == IncomingKind.Gap;
        if (!json)
        {
            return gap
                ? $"gap on {TextSanitizer.StripControls(message.Subject)}: {TextSanitizer.StripControls(message.Payload)}"
                : $"{TextSanitizer.StripControls(message.Channel)}: {TextSanitizer.StripControls(message.Payload)}";
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("event", gap ? "gap" : "message");
            if (!gap)
            {
                WriteStringOrNull(writer, "id", message.Id?.ToString());
            }

            writer.WriteString("time", message.ReceivedAt);
            WriteStringOrNull(writer, "channel", gap && message.Pattern is not null ? null : message.Channel);
            WriteStringOrNull(writer, "pattern", message.Pattern);
            writer.WriteString("message", message.Payload);
            if (gap)
            {
                if (message.Missed is { } missed)
                {
                    writer.WriteNumber("missed", missed);
                }
                else
                {
                    writer.WriteNull("missed");
                }
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteStringOrNull(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }
}
