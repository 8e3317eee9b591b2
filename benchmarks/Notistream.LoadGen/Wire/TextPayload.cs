using System.Buffers;
using System.Buffers.Text;

namespace Notistream.LoadGen.Wire;

/// <summary>
/// <see cref="Payload"/>'s three fields as upper-case hex text, for messages that pass through the gateway's
/// JSON unchanged: stream id (8 digits), sequence number (16), intended send time (16, a Stopwatch
/// timestamp). The rest of the payload is filler ('x'), so a message is plain ASCII on every transport.
/// </summary>
internal static class TextPayload
{
    public const int HeaderSize = 40;

    private static readonly StandardFormat Hex8 = new('X', 8);
    private static readonly StandardFormat Hex16 = new('X', 16);

    public static void Write(Span<byte> payload, int stream, long sequence, long intendedTimestamp)
    {
        if (payload.Length < HeaderSize
            || !Utf8Formatter.TryFormat((uint)stream, payload, out _, Hex8)
            || !Utf8Formatter.TryFormat((ulong)sequence, payload[8..], out _, Hex16)
            || !Utf8Formatter.TryFormat((ulong)intendedTimestamp, payload[24..], out _, Hex16))
        {
            throw new ArgumentException($"a text payload needs at least {HeaderSize} bytes", nameof(payload));
        }
    }

    public static void Read(ReadOnlySpan<byte> payload, out int stream, out long sequence, out long intendedTimestamp)
    {
        if (payload.Length < HeaderSize
            || !Utf8Parser.TryParse(payload[..8], out uint s, out var used1, 'X') || used1 != 8
            || !Utf8Parser.TryParse(payload[8..24], out ulong q, out var used2, 'X') || used2 != 16
            || !Utf8Parser.TryParse(payload[24..40], out ulong t, out var used3, 'X') || used3 != 16)
        {
            throw new InvalidDataException($"not a text payload: '{System.Text.Encoding.ASCII.GetString(payload[..Math.Min(payload.Length, HeaderSize)])}'");
        }

        stream = (int)s;
        sequence = (long)q;
        intendedTimestamp = (long)t;
    }
}
