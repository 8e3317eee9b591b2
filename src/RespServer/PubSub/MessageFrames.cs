using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.PubSub;

/// <summary>Encodes a published message once per protocol; every subscriber of that protocol gets the same bytes.</summary>
internal static class MessageFrames
{
    /// <summary>[kind, (pattern,) channel, message] as a RESP2 array or a RESP3 push, in a pooled frame held once by the caller.</summary>
    public static MessageFrame Encode(ReadOnlySpan<byte> kind, ReadOnlySpan<byte> pattern, bool hasPattern,
        ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, bool resp3)
    {
        var count = hasPattern ? 4 : 3;
        var size = 4 + RespWriter.BulkSize(kind.Length) + RespWriter.BulkSize(channel.Length) + RespWriter.BulkSize(message.Length);
        if (hasPattern)
        {
            size += RespWriter.BulkSize(pattern.Length);
        }

        var frame = MessageFrame.Rent(size);
        var span = frame.Buffer;
        span[0] = resp3 ? (byte)'>' : (byte)'*';
        span[1] = (byte)('0' + count);
        span[2] = (byte)'\r';
        span[3] = (byte)'\n';
        var at = 4;
        at += WriteBulk(span[at..], kind);
        if (hasPattern)
        {
            at += WriteBulk(span[at..], pattern);
        }

        at += WriteBulk(span[at..], channel);
        WriteBulk(span[at..], message);
        return frame;
    }

    private static int WriteBulk(Span<byte> destination, ReadOnlySpan<byte> value)
    {
        destination[0] = (byte)'$';
        var n = 1 + RespNumber.Format(value.Length, destination[1..]);
        destination[n++] = (byte)'\r';
        destination[n++] = (byte)'\n';
        value.CopyTo(destination[n..]);
        n += value.Length;
        destination[n++] = (byte)'\r';
        destination[n++] = (byte)'\n';
        return n;
    }
}
