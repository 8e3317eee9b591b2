using System.Text;

namespace Notistream.LoadGen.Wire;

/// <summary>One stream entry of a parsed reply: where its id and its <c>message</c> value lie in the buffer.</summary>
internal readonly record struct StreamEntry(int IdOffset, int IdLength, int MessageOffset, int MessageLength);

/// <summary>
/// Parses RESP2 <c>XREAD</c> replies of one stream (<c>*1 *2 key [entries]</c>, or a null array when
/// nothing is new) in place, without copying: each entry is <c>*2 id [field value ...]</c>, of which the
/// value of the field <c>message</c> is kept. Returns how many bytes the whole reply takes, 0 while only
/// part of it has arrived (then nothing is added to the list); throws <see cref="InvalidDataException"/>
/// on anything else.
/// </summary>
internal static class StreamReplyParser
{
    private static ReadOnlySpan<byte> MessageField => "message"u8;

    /// <summary>
    /// One XREAD reply: its entries are appended to <paramref name="entries"/>; <paramref name="error"/>
    /// is the text of an error reply; a null reply (no new entries) adds none.
    /// </summary>
    public static int TryParseXRead(ReadOnlySpan<byte> buffer, List<StreamEntry> entries, out string? error)
    {
        ArgumentNullException.ThrowIfNull(entries);
        error = null;
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (buffer[0] == (byte)'-')
        {
            var lf = buffer.IndexOf((byte)'\n');
            if (lf < 0)
            {
                return 0;
            }

            error = Encoding.UTF8.GetString(buffer[1..Math.Max(1, lf - 1)]);
            return lf + 1;
        }

        var start = entries.Count;
        var used = TryParseStreams(buffer, entries);
        if (used == 0)
        {
            entries.RemoveRange(start, entries.Count - start);
        }

        return used;
    }

    private static int TryParseStreams(ReadOnlySpan<byte> buffer, List<StreamEntry> entries)
    {
        var position = Header(buffer, 0, (byte)'*', out var streams);
        if (position == 0 || streams < 0)
        {
            return position;
        }

        for (var s = 0; s < streams; s++)
        {
            position = Header(buffer, position, (byte)'*', out var pair);
            if (position == 0)
            {
                return 0;
            }

            if (pair != 2)
            {
                throw new InvalidDataException($"a stream of an XREAD reply has {pair} elements instead of 2");
            }

            position = Bulk(buffer, position, out _, out _);
            if (position == 0)
            {
                return 0;
            }

            position = Header(buffer, position, (byte)'*', out var count);
            if (position == 0)
            {
                return 0;
            }

            for (var i = 0; i < count; i++)
            {
                position = Entry(buffer, position, entries);
                if (position == 0)
                {
                    return 0;
                }
            }
        }

        return position;
    }

    /// <summary><c>*2 $id *2k field value ...</c>: the entry, with the value of its <c>message</c> field (-1 without one).</summary>
    private static int Entry(ReadOnlySpan<byte> buffer, int position, List<StreamEntry> entries)
    {
        position = Header(buffer, position, (byte)'*', out var two);
        if (position == 0)
        {
            return 0;
        }

        if (two != 2)
        {
            throw new InvalidDataException($"a stream entry has {two} elements instead of 2");
        }

        position = Bulk(buffer, position, out var idOffset, out var idLength);
        if (position == 0)
        {
            return 0;
        }

        position = Header(buffer, position, (byte)'*', out var fields);
        if (position == 0)
        {
            return 0;
        }

        var (messageOffset, messageLength) = (0, -1);
        for (var f = 0; f + 1 < fields; f += 2)
        {
            position = Bulk(buffer, position, out var nameOffset, out var nameLength);
            if (position == 0)
            {
                return 0;
            }

            position = Bulk(buffer, position, out var valueOffset, out var valueLength);
            if (position == 0)
            {
                return 0;
            }

            if (buffer.Slice(nameOffset, nameLength).SequenceEqual(MessageField))
            {
                (messageOffset, messageLength) = (valueOffset, valueLength);
            }
        }

        entries.Add(new StreamEntry(idOffset, idLength, messageOffset, messageLength));
        return position;
    }

    /// <summary>A <c>&lt;prefix&gt;number\r\n</c> line at <paramref name="position"/>; returns the index after it, 0 when incomplete.</summary>
    private static int Header(ReadOnlySpan<byte> buffer, int position, byte prefix, out long value)
    {
        value = 0;
        if (position >= buffer.Length)
        {
            return 0;
        }

        if (buffer[position] != prefix)
        {
            throw new InvalidDataException($"unexpected byte '{(char)buffer[position]}' where a stream reply has '{(char)prefix}'");
        }

        return RespParser.TryReadLine(buffer, position + 1, out value);
    }

    private static int Bulk(ReadOnlySpan<byte> buffer, int position, out int offset, out int length)
    {
        (offset, length) = (0, 0);
        var start = Header(buffer, position, (byte)'$', out var size);
        if (start == 0)
        {
            return 0;
        }

        if (size < 0)
        {
            throw new InvalidDataException("a null string in a stream reply");
        }

        var end = start + (int)size + 2;
        if (end > buffer.Length)
        {
            return 0;
        }

        (offset, length) = (start, (int)size);
        return end;
    }
}
