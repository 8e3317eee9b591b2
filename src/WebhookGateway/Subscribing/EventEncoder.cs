using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Notistream.Gateway.Subscribing;

/// <summary>
/// Frames one HTTP subscriber's events as ntfy's encoders do: a JSON line (<c>json</c>), an SSE event with
/// <c>id:</c> on messages (<c>sse</c>), the message text (<c>raw</c>), or the bare JSON (a WebSocket frame).
/// <para>
/// One per subscriber, used by its writer loop alone: the buffer and the JSON writer are reused from event to
/// event, so an event costs no allocation of its own (a new writer per event grew a fresh buffer to the
/// largest size a string could escape to, several KiB, each time). What <see cref="Encode"/> returns is valid
/// until the next call. A buffer that grew past <see cref="KeptBytes"/> for large messages is let go once
/// <see cref="SmallEventsBeforeShrink"/> events in a row have fitted in <see cref="KeptBytes"/> (keepalives count, so
/// an idle subscriber lets it go within minutes); not after each one, which with a stream of large messages and
/// many subscribers allocated a large array per event and subscriber.
/// </para>
/// </summary>
internal sealed class EventEncoder
{
    internal const int KeptBytes = 64 * 1024;

    /// <summary>A buffer grown past <see cref="KeptBytes"/> is let go only after this many events in a row that fit in it.</summary>
    internal const int SmallEventsBeforeShrink = 16;

    private ArrayBufferWriter<byte> _buffer = new(1024);
    private Utf8JsonWriter? _json;
    private int _smallEvents;

    public ReadOnlyMemory<byte> Encode(string format, NtfyMessage message)
    {
        Reset();
        switch (format)
        {
            case "raw":
                if (message.IsMessage)
                {
                    Encoding.UTF8.GetBytes((message.Message ?? string.Empty).Replace('\n', ' '), _buffer);
                }

                _buffer.Write("\n"u8);
                break;
            case "sse":
                _buffer.Write(message.IsMessage ? "id: "u8 : "event: "u8);
                Encoding.UTF8.GetBytes(message.IsMessage ? message.Id : message.Event, _buffer);
                _buffer.Write("\ndata: "u8);
                WriteJson(message);
                _buffer.Write("\n\n"u8);
                break;
            case "ws":
                WriteJson(message);
                break;
            default:
                WriteJson(message);
                _buffer.Write("\n"u8);
                break;
        }

        _smallEvents = _buffer.WrittenCount <= KeptBytes ? _smallEvents + 1 : 0;
        return _buffer.WrittenMemory;
    }

    private void WriteJson(NtfyMessage message)
    {
        if (_json is null)
        {
            _json = new Utf8JsonWriter(_buffer);
        }
        else
        {
            _json.Reset(_buffer);
        }

        message.WriteJson(_json);
    }

    private void Reset()
    {
        if (_buffer.Capacity > KeptBytes && _smallEvents >= SmallEventsBeforeShrink)
        {
            _buffer = new ArrayBufferWriter<byte>(1024);
        }
        else
        {
            _buffer.ResetWrittenCount();
        }
    }
}
