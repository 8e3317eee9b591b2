namespace Notistream.Client.Subscriptions;

/// <summary>One line of a stream: its bytes without the newline, or the note that it was longer than the bound (and skipped).</summary>
/// <param name="Head">Of a line skipped: its first <see cref="BoundedLineReader.HeadBytes"/> bytes (what it was about, if they say).</param>
internal readonly record struct StreamLine(byte[]? Bytes, long SkippedLength, byte[]? Head = null)
{
    public bool TooLong => Bytes is null;
}

/// <summary>
/// Reads newline-terminated lines from a stream, none longer than <see cref="MaxLineBytes"/>: a longer
/// one is read past (never held) and reported as <see cref="StreamLine.TooLong"/>, so a broken or hostile
/// peer costs at most the bound in memory. One reader at a time.
/// </summary>
internal sealed class BoundedLineReader
{
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    public BoundedLineReader(Stream stream, int maxLineBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _stream = stream;
        MaxLineBytes = maxLineBytes;
    }

    /// <summary>How much of a line over the bound is kept, to say what it was.</summary>
    public const int HeadBytes = 512;

    public int MaxLineBytes { get; }

    /// <returns>The next line; null at the end of the stream (a last line without its newline is dropped: the stream was cut).</returns>
    public async ValueTask<StreamLine?> ReadLineAsync(CancellationToken cancellationToken)
    {
        using var line = new MemoryStream();
        long skipped = 0;
        byte[]? head = null;
        while (true)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
                if (_end == 0)
                {
                    return null;
                }
            }

            var available = _buffer.AsSpan(_start, _end - _start);
            var newline = available.IndexOf((byte)'\n');
            var take = newline < 0 ? available : available[..newline];
            if (skipped == 0 && line.Length + take.Length <= MaxLineBytes)
            {
                line.Write(take);
            }
            else
            {
                if (skipped == 0)
                {
                    var kept = (int)Math.Min(line.Length, HeadBytes);
                    head = [.. line.GetBuffer().AsSpan(0, kept), .. take[..Math.Min(take.Length, HeadBytes - kept)]];
                }

                skipped += line.Length + take.Length;
                line.SetLength(0);
            }

            _start += newline < 0 ? available.Length : newline + 1;
            if (newline >= 0)
            {
                if (skipped > 0)
                {
                    return new StreamLine(null, skipped, head);
                }

                var bytes = line.ToArray();
                return new StreamLine(bytes.Length > 0 && bytes[^1] == '\r' ? bytes[..^1] : bytes, 0);
            }
        }
    }
}
