using System.Buffers;
using System.Text;

namespace Notistream.RespServer.Protocol;

/// <summary>
/// Writes RESP2/RESP3 values into a buffer, choosing the type markers Redis uses for the
/// connection's protocol (map, push, null, verbatim string fall back to their RESP2 forms).
/// </summary>
internal readonly struct RespWriter(IBufferWriter<byte> output, int protocol)
{
    public int Protocol => protocol;

    public bool Resp3 => protocol >= 3;

    public void WriteRaw(ReadOnlySpan<byte> bytes) => output.Write(bytes);

    public void WriteSimpleString(string text)
    {
        var span = output.GetSpan(text.Length * 3 + 3);
        span[0] = (byte)'+';
        var n = 1 + Encoding.UTF8.GetBytes(text, span[1..]);
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        output.Advance(n);
    }

    /// <summary>An error reply; "-ERR " is prefixed unless the text carries its own code ("-NOAUTH ...").
    /// Newlines in the text become spaces, as Redis does, so user input cannot break the framing.</summary>
    public void WriteError(string text)
    {
        var body = text.StartsWith('-') ? text : "-ERR " + text;
        WriteErrorRaw(Encoding.UTF8.GetBytes(body));
    }

    /// <summary>Error from raw bytes (may hold a client's binary argument); must start with '-'.</summary>
    public void WriteErrorRaw(ReadOnlySpan<byte> body)
    {
        var span = output.GetSpan(body.Length + 2);
        body.CopyTo(span);
        for (var i = 0; i < body.Length; i++)
        {
            if (span[i] is (byte)'\r' or (byte)'\n')
            {
                span[i] = (byte)' ';
            }
        }

        span[body.Length] = (byte)'\r';
        span[body.Length + 1] = (byte)'\n';
        output.Advance(body.Length + 2);
    }

    public void WriteInteger(long value)
    {
        if ((ulong)value < 10000)
        {
            output.Write(RespConstants.Integer(value));
            return;
        }

        WriteLengthLine((byte)':', value);
    }

    public void WriteBulk(ReadOnlySpan<byte> value)
    {
        WriteLengthLine((byte)'$', value.Length);
        var span = output.GetSpan(value.Length + 2);
        value.CopyTo(span);
        span[value.Length] = (byte)'\r';
        span[value.Length + 1] = (byte)'\n';
        output.Advance(value.Length + 2);
    }

    public void WriteBulk(in ReadOnlySequence<byte> value)
    {
        if (value.IsSingleSegment)
        {
            WriteBulk(value.FirstSpan);
            return;
        }

        WriteLengthLine((byte)'$', value.Length);
        foreach (var segment in value)
        {
            output.Write(segment.Span);
        }

        output.Write("\r\n"u8);
    }

    public void WriteBulk(string value) => WriteBulk(Encoding.UTF8.GetBytes(value));

    /// <summary>Null bulk string: "$-1" in RESP2, "_" in RESP3.</summary>
    public void WriteNull() => output.Write(Resp3 ? RespConstants.Null3 : RespConstants.NullBulk2);

    /// <summary>Null array: "*-1" in RESP2, "_" in RESP3.</summary>
    public void WriteNullArray() => output.Write(Resp3 ? RespConstants.Null3 : "*-1\r\n"u8);

    public void WriteArrayHeader(long count) => WriteLengthLine((byte)'*', count);

    public void WriteSetHeader(long count) => WriteLengthLine(Resp3 ? (byte)'~' : (byte)'*', count);

    public void WritePushHeader(long count) => WriteLengthLine(Resp3 ? (byte)'>' : (byte)'*', count);

    public void WriteMapHeader(long pairs)
    {
        if (Resp3)
        {
            WriteLengthLine((byte)'%', pairs);
        }
        else
        {
            WriteLengthLine((byte)'*', pairs * 2);
        }
    }

    public void WriteBoolean(bool value)
    {
        if (Resp3)
        {
            output.Write(value ? "#t\r\n"u8 : "#f\r\n"u8);
        }
        else
        {
            WriteInteger(value ? 1 : 0);
        }
    }

    /// <summary>Verbatim string ("=len\r\ntxt:...") in RESP3, bulk string in RESP2 (INFO, CLIENT LIST).</summary>
    public void WriteVerbatim(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (!Resp3)
        {
            WriteBulk(bytes);
            return;
        }

        WriteLengthLine((byte)'=', bytes.Length + 4);
        output.Write("txt:"u8);
        output.Write(bytes);
        output.Write("\r\n"u8);
    }

    public void WriteLengthLine(byte marker, long value)
    {
        var span = output.GetSpan(24);
        span[0] = marker;
        var n = 1 + RespNumber.Format(value, span[1..]);
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        output.Advance(n);
    }

    public static byte[] EncodeInteger(long value)
    {
        var buffer = new ArrayBufferWriter<byte>(24);
        new RespWriter(buffer, 2).WriteLengthLine((byte)':', value);
        return buffer.WrittenSpan.ToArray();
    }

    public static int LengthLineSize(long value) => 1 + RespNumber.DigitCount(value) + 2;

    public static int BulkSize(long length) => LengthLineSize(length) + (int)length + 2;
}
