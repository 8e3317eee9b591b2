using System.Buffers.Text;
using Notistream.RespServer.Keyspace;

namespace Notistream.RespServer.Persistence;

/// <summary>The RESP multibulk encoding of a record (what redis-cli sends and Redis's AOF holds): the header and bulk strings.</summary>
internal static class RespRecord
{
    /// <summary>"*" + at most 11 digits + CRLF.</summary>
    public const int HeaderSize = 16;

    /// <summary>Bytes <see cref="Bulk"/> may write for a value of <paramref name="length"/> bytes.</summary>
    public static int BulkSize(int length) => length + 24;

    /// <summary>Writes <c>*argc\r\n</c>; returns its length.</summary>
    public static int Header(Span<byte> span, int argc)
    {
        span[0] = (byte)'*';
        Utf8Formatter.TryFormat(argc, span[1..], out var n);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        return n + 3;
    }

    /// <summary>Writes <c>$len\r\nvalue\r\n</c>; returns its length.</summary>
    public static int Bulk(Span<byte> span, ReadOnlySpan<byte> value)
    {
        span[0] = (byte)'$';
        Utf8Formatter.TryFormat(value.Length, span[1..], out var n);
        n++;
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        value.CopyTo(span[n..]);
        n += value.Length;
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        return n;
    }

    /// <summary>Bytes <see cref="BulkId"/> and <see cref="BulkNumber"/> may write.</summary>
    public const int SmallBulkSize = StreamId.MaxTextLength + 24;

    /// <summary>Writes an id, "ms-seq", as a bulk string; returns its length.</summary>
    public static int BulkId(Span<byte> span, StreamId id)
    {
        Span<byte> text = stackalloc byte[StreamId.MaxTextLength];
        return Bulk(span, text[..id.Format(text)]);
    }

    /// <summary>Writes a number as a bulk string; returns its length.</summary>
    public static int BulkNumber(Span<byte> span, long value)
    {
        Span<byte> text = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, text, out var n);
        return Bulk(span, text[..n]);
    }
}
