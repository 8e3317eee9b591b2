using System.Buffers;

namespace Notistream.RespServer.Protocol;

internal enum ScanStatus
{
    /// <summary>More bytes are needed; nothing may be consumed.</summary>
    Incomplete,

    /// <summary>A whole request is ready (<see cref="RequestScanner.FrameLength"/> bytes).</summary>
    Request,

    /// <summary>A request with no arguments ("*0", "*-1", a blank inline line): consume and ignore.</summary>
    Empty,

    /// <summary>The bytes break the protocol: reply <see cref="RequestScanner.Error"/> and close.</summary>
    ProtocolError,
}

/// <summary>
/// Frames requests out of the unconsumed input with Redis's rules (networking.c
/// processMultibulkBuffer / processInlineBuffer), keeping its place across reads so a partial
/// frame is never scanned twice. Owned by one connection's read loop.
/// </summary>
internal sealed class RequestScanner
{
    /// <summary>PROTO_INLINE_MAX_SIZE: longest inline request or header line without its newline.</summary>
    public const int InlineMaxSize = 64 * 1024;

    private ArgSlot[] _slots = new ArgSlot[8];
    private byte[] _inlineBytes = [];
    private byte[] _lineScratch = [];
    private bool _inFrame;
    private bool _inline;
    private long _argsExpected;
    private int _argCount;
    private long _position;
    private long _bulkLength = -1;
    private long _lineSearchedTo;
    private long _nulAt = -1;

    public long ProtoMaxBulkLength { get; set; } = 512L * 1024 * 1024;

    public long FrameLength { get; private set; }

    public string? Error { get; private set; }

    public ReadOnlySpan<ArgSlot> Slots => _slots.AsSpan(0, _argCount);

    /// <summary>For an inline request the unescaped arguments live here, not in the input.</summary>
    public bool IsInline => _inline;

    public ReadOnlySpan<byte> InlineBytes => _inlineBytes;

    /// <summary>
    /// While a multibulk frame waits for a bulk payload: the frame length needed to finish it; otherwise
    /// -1 (a header line is awaited). Lets a caller that assembles a large frame copy exactly its bytes.
    /// </summary>
    public long LineStart => _position;

    public long BulkBytesWanted => _inFrame && !_inline && _argsExpected >= 0 && _bulkLength >= 0 ? _position + _bulkLength + 2 : -1;

    /// <summary>
    /// Scans from the start of <paramref name="buffer"/>, which must begin at the current frame.
    /// <paramref name="authRequired"/> applies Redis's tighter limits before AUTH.
    /// </summary>
    public ScanStatus Scan(in ReadOnlySequence<byte> buffer, bool authRequired)
    {
        if (!_inFrame)
        {
            if (buffer.IsEmpty)
            {
                return ScanStatus.Incomplete;
            }

            _inFrame = true;
            _inline = buffer.FirstSpan[0] != (byte)'*';
            _position = 0;
            _lineSearchedTo = 0;
            _nulAt = -1;
            _argCount = 0;
            _argsExpected = -1;
            _bulkLength = -1;
        }

        return _inline ? ScanInline(buffer) : ScanMultibulk(buffer, authRequired);
    }

    /// <summary>Forget the finished frame; the caller consumed <see cref="FrameLength"/> bytes.</summary>
    public void Reset()
    {
        _inFrame = false;
        _argCount = 0;
        FrameLength = 0;
        Error = null;
    }

    private ScanStatus ScanInline(in ReadOnlySequence<byte> buffer)
    {
        var newline = Find(buffer, (byte)'\n');
        if (newline < 0)
        {
            if (buffer.Length > InlineMaxSize)
            {
                return Fail("Protocol error: too big inline request");
            }

            return ScanStatus.Incomplete;
        }

        var lineLength = newline;
        if (lineLength > 0 && ByteAt(buffer, lineLength - 1) == (byte)'\r')
        {
            lineLength--;
        }

        // The unescaped arguments are never longer than the line: one buffer of its size holds them all.
        if (_inlineBytes.Length < lineLength)
        {
            _inlineBytes = new byte[Math.Max(lineLength, 256)];
        }

        var line = buffer.Slice(0, lineLength);
        ReadOnlySpan<byte> lineBytes;
        if (line.IsSingleSegment)
        {
            lineBytes = line.FirstSpan;
        }
        else
        {
            // Across pipe segments: copied once into a scratch array kept for the next line.
            if (_lineScratch.Length < lineLength)
            {
                _lineScratch = new byte[Math.Max(lineLength, 256)];
            }

            line.CopyTo(_lineScratch);
            lineBytes = _lineScratch.AsSpan(0, (int)lineLength);
        }

        if (!InlineSplitter.TrySplit(lineBytes, _inlineBytes, ref _slots, out var count))
        {
            return Fail("Protocol error: unbalanced quotes in request");
        }

        FrameLength = newline + 1;
        if (count == 0)
        {
            return ScanStatus.Empty;
        }

        _argCount = count;
        return ScanStatus.Request;
    }

    private ScanStatus ScanMultibulk(in ReadOnlySequence<byte> buffer, bool authRequired)
    {
        if (_argsExpected < 0)
        {
            // "*<count>\r\n": Redis looks for '\r' and skips the byte after it unchecked.
            var cr = Find(buffer, (byte)'\r');
            if (cr < 0)
            {
                if (buffer.Length > InlineMaxSize)
                {
                    return Fail("Protocol error: too big mbulk count string");
                }

                return ScanStatus.Incomplete;
            }

            if (cr + 2 > buffer.Length)
            {
                return ScanStatus.Incomplete;
            }

            if (!TryParseNumber(buffer.Slice(1, cr - 1), out var count) || count > int.MaxValue)
            {
                return Fail("Protocol error: invalid multibulk length");
            }

            if (count > 10 && authRequired)
            {
                return Fail("Protocol error: unauthenticated multibulk length");
            }

            _position = cr + 2;
            _lineSearchedTo = _position;
            if (count <= 0)
            {
                FrameLength = _position;
                return ScanStatus.Empty;
            }

            _argsExpected = count;
        }

        while (_argCount < _argsExpected)
        {
            if (_bulkLength < 0)
            {
                var cr = Find(buffer, (byte)'\r');
                if (cr < 0)
                {
                    if (buffer.Length - _position > InlineMaxSize)
                    {
                        return Fail("Protocol error: too big bulk count string");
                    }

                    return ScanStatus.Incomplete;
                }

                if (cr + 2 > buffer.Length)
                {
                    return ScanStatus.Incomplete;
                }

                var marker = ByteAt(buffer, _position);
                if (marker != (byte)'$')
                {
                    // '%c' of a NUL byte ends the C string there.
                    return Fail(marker == 0
                        ? "Protocol error: expected '$', got '"
                        : $"Protocol error: expected '$', got '{(char)marker}'");
                }

                if (!TryParseNumber(buffer.Slice(_position + 1, cr - _position - 1), out var length)
                    || length < 0 || length > ProtoMaxBulkLength)
                {
                    return Fail("Protocol error: invalid bulk length");
                }

                if (length > 16384 && authRequired)
                {
                    return Fail("Protocol error: unauthenticated bulk length");
                }

                _position = cr + 2;
                _lineSearchedTo = _position;
                _bulkLength = length;
            }

            // The two bytes after the payload are skipped unchecked, as Redis does.
            if (buffer.Length - _position < _bulkLength + 2)
            {
                return ScanStatus.Incomplete;
            }

            EnsureSlots(_argCount + 1);
            _slots[_argCount++] = new ArgSlot(checked((int)_position), (int)_bulkLength);
            _position += _bulkLength + 2;
            _lineSearchedTo = _position;
            _bulkLength = -1;
        }

        FrameLength = _position;
        return ScanStatus.Request;
    }

    private ScanStatus Fail(string error)
    {
        Error = error;
        return ScanStatus.ProtocolError;
    }

    /// <summary>Offset of <paramref name="value"/> at or after the current position, resuming where the
    /// previous search of this line stopped; -1 when absent. Redis searches lines with strchr, which stops
    /// at a NUL byte: a line with a NUL before its end never ends (until the line-length limit refuses it).</summary>
    private long Find(in ReadOnlySequence<byte> buffer, byte value)
    {
        if (_nulAt >= _position)
        {
            return -1;
        }

        var from = Math.Max(_position, _lineSearchedTo);
        if (from >= buffer.Length)
        {
            return -1;
        }

        var offset = from;
        foreach (var segment in buffer.Slice(from))
        {
            var at = segment.Span.IndexOfAny(value, (byte)0);
            if (at >= 0)
            {
                if (segment.Span[at] == 0)
                {
                    _nulAt = offset + at;
                    return -1;
                }

                return offset + at;
            }

            offset += segment.Length;
        }

        _lineSearchedTo = buffer.Length;
        return -1;
    }

    private static byte ByteAt(in ReadOnlySequence<byte> buffer, long offset)
    {
        var first = buffer.FirstSpan;
        return offset < first.Length ? first[(int)offset] : buffer.Slice(offset, 1).FirstSpan[0];
    }

    private static bool TryParseNumber(in ReadOnlySequence<byte> digits, out long value)
    {
        if (digits.Length > 32)
        {
            value = 0;
            return false;
        }

        Span<byte> scratch = stackalloc byte[32];
        digits.CopyTo(scratch);
        return RespNumber.TryParseInt64(scratch[..(int)digits.Length], out value);
    }

    private void EnsureSlots(int count)
    {
        if (_slots.Length < count)
        {
            Array.Resize(ref _slots, Math.Max(count, _slots.Length * 2));
        }
    }
}
