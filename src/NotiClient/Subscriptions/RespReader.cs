using System.Buffers;
using System.Globalization;

namespace Notistream.Client.Subscriptions;

/// <summary>
/// Reads RESP2 frames from a stream (RESP3's push, null and number types too, in case a server sends
/// them). Buffered: <see cref="HasBufferedFrame"/> tells whether the next frame can be read without
/// waiting for the network, which is how the subscription knows that a burst has been read.
/// </summary>
internal sealed class RespReader
{
    private const int MaxBulkLength = 512 * 1024 * 1024;
    private const int MaxDepth = 8;

    private readonly Stream _stream;
    /// <summary>A buffer grown for a large frame is let go only after this many frames in a row that fit the initial size.</summary>
    internal const int SmallFramesBeforeShrink = 16;

    private readonly int _initialSize;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _smallFrames;

    /// <param name="initialSize">the buffer's size to start with; it doubles for a frame that does not fit, and a
    /// buffer over four times this goes back to this size once <see cref="SmallFramesBeforeShrink"/> frames in a row
    /// have fitted this size and nothing else is buffered (not after each large frame: a stream of them would
    /// allocate a large array for each)</param>
    public RespReader(Stream stream, int initialSize = 64 * 1024)
    {
        _stream = stream;
        _initialSize = initialSize;
        _buffer = new byte[initialSize];
    }

    /// <summary>Bytes received and not yet read as frames.</summary>
    public bool HasBufferedBytes => _end > _start;

    /// <summary>Reads one frame; throws <see cref="EndOfStreamException"/> when the server closed the connection.</summary>
    public async ValueTask<RespFrame> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var span = new ReadOnlySpan<byte>(_buffer, _start, _end - _start);
            var consumed = 0;
            if (TryParse(span, ref consumed, 0, out var frame))
            {
                _start += consumed;
                _smallFrames = consumed <= _initialSize ? _smallFrames + 1 : 0;
                if (_start == _end)
                {
                    _start = _end = 0;
                    if (_buffer.Length > _initialSize * 4 && _smallFrames >= SmallFramesBeforeShrink)
                    {
                        _buffer = new byte[_initialSize]; // large frames have stopped coming: their buffer is not kept
                    }
                }

                return frame!;
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            System.Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new EndOfStreamException("the server closed the connection");
        }

        _end += read;
    }

    /// <returns>False when <paramref name="data"/> does not hold the whole frame yet.</returns>
    internal static bool TryParse(ReadOnlySpan<byte> data, ref int position, int depth, out RespFrame? frame)
    {
        frame = null;
        if (depth > MaxDepth)
        {
            throw new InvalidDataException("RESP frame nested too deeply");
        }

        if (position >= data.Length)
        {
            return false;
        }

        var type = data[position];
        var lineEnd = data[position..].IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            if (data.Length - position > 64 * 1024)
            {
                throw new InvalidDataException("RESP line too long");
            }

            return false;
        }

        var line = data.Slice(position + 1, lineEnd - 1);
        var next = position + lineEnd + 2;
        switch (type)
        {
            case (byte)'+':
                frame = RespFrame.Simple(line.ToArray());
                position = next;
                return true;
            case (byte)'-':
                frame = RespFrame.Error(line.ToArray());
                position = next;
                return true;
            case (byte)':':
                frame = RespFrame.Number(ParseLong(line));
                position = next;
                return true;
            case (byte)'_':
                frame = RespFrame.Null;
                position = next;
                return true;
            case (byte)'$':
            {
                var length = ParseLong(line);
                if (length < 0)
                {
                    frame = RespFrame.Null;
                    position = next;
                    return true;
                }

                if (length > MaxBulkLength)
                {
                    throw new InvalidDataException($"RESP bulk string of {length} bytes");
                }

                if (data.Length - next < length + 2)
                {
                    return false;
                }

                frame = RespFrame.Bulk(data.Slice(next, (int)length).ToArray());
                position = next + (int)length + 2;
                return true;
            }

            case (byte)'*' or (byte)'>':
            {
                var count = ParseLong(line);
                if (count < 0)
                {
                    frame = RespFrame.Null;
                    position = next;
                    return true;
                }

                if (count > 1024 * 1024)
                {
                    throw new InvalidDataException($"RESP array of {count} items");
                }

                var items = new RespFrame[count];
                var at = next;
                for (var i = 0; i < count; i++)
                {
                    if (!TryParse(data, ref at, depth + 1, out var item))
                    {
                        return false;
                    }

                    items[i] = item!;
                }

                frame = RespFrame.Array(items);
                position = at;
                return true;
            }

            default:
                throw new InvalidDataException($"unexpected RESP type byte 0x{type:x2}");
        }
    }

    private static long ParseLong(ReadOnlySpan<byte> digits) =>
        System.Buffers.Text.Utf8Parser.TryParse(digits, out long value, out var used) && used == digits.Length
            ? value
            : throw new InvalidDataException($"bad RESP number '{System.Text.Encoding.ASCII.GetString(digits)}'");

    /// <summary>A command as a RESP array of bulk strings.</summary>
    public static byte[] Encode(IReadOnlyList<string> arguments)
    {
        var writer = new ArrayBufferWriter<byte>();
        Write(writer, $"*{arguments.Count.ToString(CultureInfo.InvariantCulture)}\r\n");
        foreach (var argument in arguments)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(argument);
            Write(writer, $"${bytes.Length.ToString(CultureInfo.InvariantCulture)}\r\n");
            writer.Write(bytes);
            Write(writer, "\r\n");
        }

        return writer.WrittenSpan.ToArray();
    }

    private static void Write(ArrayBufferWriter<byte> writer, string ascii) => writer.Write(System.Text.Encoding.ASCII.GetBytes(ascii));
}
