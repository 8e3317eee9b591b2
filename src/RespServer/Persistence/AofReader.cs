namespace Notistream.RespServer.Persistence;

/// <summary>How a line read ended.</summary>
internal enum LineRead
{
    /// <summary>A whole line, its newline included.</summary>
    Line,

    /// <summary>The file ended before the line began.</summary>
    End,

    /// <summary>The file ended inside the line (a short read).</summary>
    Short,

    /// <summary>No newline within the longest line allowed.</summary>
    TooLong,
}

/// <summary>
/// Reads an AOF file forward in 64 KiB blocks, as Redis's loader reads it with fgets and fread: lines, and
/// payloads of a given length, with the file offset of the next byte. Used by one thread at a time.
/// </summary>
internal sealed class AofReader : IDisposable
{
    private readonly FileStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public AofReader(string path, long from = 0)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        _stream.Position = from;
        Position = from;
    }

    /// <summary>The file offset of the next byte to read.</summary>
    public long Position { get; private set; }

    public long Length => _stream.Length;

    /// <summary>
    /// The next line (through its '\n') in <paramref name="line"/>, valid until the next read; at most
    /// <paramref name="max"/> bytes.
    /// </summary>
    public LineRead ReadLine(int max, out ReadOnlySpan<byte> line)
    {
        line = default;
        var scanned = 0;
        while (true)
        {
            var newline = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = scanned + newline + 1;
                if (length > max)
                {
                    return LineRead.TooLong;
                }

                line = _buffer.AsSpan(_start, length);
                _start += length;
                Position += length;
                return LineRead.Line;
            }

            scanned = _end - _start;
            if (scanned >= max)
            {
                return LineRead.TooLong;
            }

            if (!Fill())
            {
                if (_end == _start)
                {
                    return LineRead.End;
                }

                // What is left is the start of a line the file cut short.
                Position += _end - _start;
                _start = _end;
                return LineRead.Short;
            }
        }
    }

    /// <summary>
    /// Passes over <paramref name="count"/> bytes, adding them to the running checksum <paramref name="crc"/>;
    /// returns how many there were (fewer at the end of the file).
    /// </summary>
    public long Skip(long count, ref uint crc)
    {
        long done = 0;
        while (done < count)
        {
            if (_start == _end && !Fill())
            {
                break;
            }

            var take = (int)Math.Min(count - done, _end - _start);
            crc = Crc32C.Append(crc, _buffer.AsSpan(_start, take));
            _start += take;
            Position += take;
            done += take;
        }

        return done;
    }

    /// <summary>Reads <paramref name="destination"/>'s length of bytes into it; returns how many there were.</summary>
    public int ReadInto(Span<byte> destination)
    {
        var done = 0;
        while (done < destination.Length)
        {
            if (_start == _end && !Fill())
            {
                break;
            }

            var take = Math.Min(destination.Length - done, _end - _start);
            _buffer.AsSpan(_start, take).CopyTo(destination[done..]);
            _start += take;
            Position += take;
            done += take;
        }

        return done;
    }

    /// <summary>Moves the buffer's unread bytes to its front and reads more; false at the end of the file.</summary>
    private bool Fill()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            return false;
        }

        var n = _stream.Read(_buffer, _end, _buffer.Length - _end);
        _end += n;
        return n > 0;
    }

    public void Dispose() => _stream.Dispose();
}
