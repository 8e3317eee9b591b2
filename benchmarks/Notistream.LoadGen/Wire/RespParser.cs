namespace Notistream.LoadGen.Wire;

/// <summary>
/// A minimal RESP2 reply parser over a span: no allocation, no copy. <see cref="TryParse"/> returns how
/// many bytes the first complete reply takes (0 when the buffer holds only part of one) and throws
/// <see cref="InvalidDataException"/> on bytes that are not a reply it understands.
/// </summary>
internal static class RespParser
{
    public static int TryParse(ReadOnlySpan<byte> buffer, out RespReply reply)
    {
        reply = default;
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (buffer[0] != (byte)'*')
        {
            var consumed = TryParseElement(buffer, 0, out var element);
            if (consumed > 0)
            {
                reply.Kind = element.Kind;
                reply.Integer = element.Integer;
                reply.Offset = element.Offset;
                reply.Length = element.Length;
            }

            return consumed;
        }

        var headerEnd = TryReadLine(buffer, 1, out var count);
        if (headerEnd == 0)
        {
            return 0;
        }

        if (count < 0)
        {
            reply.Kind = RespKind.Null;
            return headerEnd;
        }

        if (count > RespReply.MaxElements)
        {
            throw new InvalidDataException($"unexpected array of {count} elements");
        }

        reply.Kind = RespKind.Array;
        reply.Count = (int)count;
        var position = headerEnd;
        for (var i = 0; i < count; i++)
        {
            var used = TryParseElement(buffer[position..], position, out var element);
            if (used == 0)
            {
                return 0;
            }

            reply.Set(i, element);
            position += used;
        }

        return position;
    }

    /// <summary>Parses one non-array element at the start of <paramref name="span"/>, which begins at <paramref name="baseOffset"/> of the whole buffer.</summary>
    private static int TryParseElement(ReadOnlySpan<byte> span, int baseOffset, out RespElement element)
    {
        element = default;
        if (span.IsEmpty)
        {
            return 0;
        }

        switch (span[0])
        {
            case (byte)':':
                {
                    var end = TryReadLine(span, 1, out var value);
                    element = new RespElement(RespKind.Integer, value, 0, 0);
                    return end;
                }

            case (byte)'+':
            case (byte)'-':
                {
                    var lf = span.IndexOf((byte)'\n');
                    if (lf < 0)
                    {
                        return 0;
                    }

                    var kind = span[0] == (byte)'+' ? RespKind.Simple : RespKind.Error;
                    element = new RespElement(kind, 0, baseOffset + 1, lf - 2);
                    return lf + 1;
                }

            case (byte)'$':
                {
                    var headerEnd = TryReadLine(span, 1, out var length);
                    if (headerEnd == 0)
                    {
                        return 0;
                    }

                    if (length < 0)
                    {
                        element = new RespElement(RespKind.Null, 0, 0, 0);
                        return headerEnd;
                    }

                    var total = headerEnd + (int)length + 2;
                    if (span.Length < total)
                    {
                        return 0;
                    }

                    element = new RespElement(RespKind.Bulk, 0, baseOffset + headerEnd, (int)length);
                    return total;
                }

            default:
                throw new InvalidDataException($"unexpected reply byte 0x{span[0]:x2}");
        }
    }

    /// <summary>Reads a signed decimal from <paramref name="start"/> up to CRLF; returns the index after LF, or 0 when incomplete.</summary>
    internal static int TryReadLine(ReadOnlySpan<byte> span, int start, out long value)
    {
        value = 0;
        var negative = false;
        var i = start;
        if (i < span.Length && span[i] == (byte)'-')
        {
            negative = true;
            i++;
        }

        for (; i < span.Length; i++)
        {
            var b = span[i];
            if (b == (byte)'\r')
            {
                if (i + 1 >= span.Length)
                {
                    return 0;
                }

                if (span[i + 1] != (byte)'\n')
                {
                    throw new InvalidDataException("CR not followed by LF");
                }

                value = negative ? -value : value;
                return i + 2;
            }

            if (b is < (byte)'0' or > (byte)'9')
            {
                throw new InvalidDataException($"unexpected byte 0x{b:x2} in a number");
            }

            value = (value * 10) + (b - '0');
        }

        return 0;
    }
}
