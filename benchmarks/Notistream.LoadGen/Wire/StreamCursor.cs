using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Notistream.LoadGen.Wire;

/// <summary>
/// Where a reader of one stream is: the id of the last entry it read, checked to rise strictly from entry
/// to entry, and the <c>XREAD [COUNT n] [BLOCK 0] STREAMS key last-id</c> that asks for what follows,
/// encoded into a reused buffer (only the id changes between reads).
/// </summary>
internal sealed class StreamCursor
{
    /// <summary>"18446744073709551615-18446744073709551615".</summary>
    private const int MaxIdLength = 41;

    private readonly byte[] _command;
    private readonly int _prefixLength;
    private readonly byte[] _lastId = new byte[MaxIdLength];
    private int _lastIdLength;
    private ulong _ms;
    private ulong _seq;

    public StreamCursor(string key, int? count, bool block)
    {
        List<string> args = ["XREAD"];
        if (count is { } n)
        {
            args.AddRange(["COUNT", n.ToString(CultureInfo.InvariantCulture)]);
        }

        if (block)
        {
            args.AddRange(["BLOCK", "0"]);
        }

        args.AddRange(["STREAMS", key, "0"]);

        // Everything up to the id argument, whose "$1\r\n0\r\n" (7 bytes) is written afresh for each read.
        var encoded = RespCommand.Encode(args);
        _prefixLength = encoded.Length - 7;
        _command = new byte[_prefixLength + MaxIdLength + 16];
        encoded.AsSpan(0, _prefixLength).CopyTo(_command);
        "0-0"u8.CopyTo(_lastId);
        _lastIdLength = 3;
    }

    public string LastId => Encoding.ASCII.GetString(_lastId, 0, _lastIdLength);

    /// <summary>The XREAD for the entries after the last one read (after 0-0 at first).</summary>
    public ReadOnlyMemory<byte> Command()
    {
        var span = _command.AsSpan(_prefixLength);
        span[0] = (byte)'$';
        Utf8Formatter.TryFormat(_lastIdLength, span[1..], out var digits);
        var position = 1 + digits;
        "\r\n"u8.CopyTo(span[position..]);
        position += 2;
        _lastId.AsSpan(0, _lastIdLength).CopyTo(span[position..]);
        position += _lastIdLength;
        "\r\n"u8.CopyTo(span[position..]);
        return _command.AsMemory(0, _prefixLength + position + 2);
    }

    /// <summary>Moves past <paramref name="id"/>; false (and no move) when it is not above the last id or is not an id.</summary>
    public bool Advance(ReadOnlySpan<byte> id)
    {
        var dash = id.IndexOf((byte)'-');
        if (dash <= 0 || id.Length > MaxIdLength
            || !Utf8Parser.TryParse(id[..dash], out ulong ms, out var msLength) || msLength != dash
            || !Utf8Parser.TryParse(id[(dash + 1)..], out ulong seq, out var seqLength) || seqLength != id.Length - dash - 1)
        {
            return false;
        }

        if (ms < _ms || (ms == _ms && seq <= _seq))
        {
            return false;
        }

        (_ms, _seq) = (ms, seq);
        id.CopyTo(_lastId);
        _lastIdLength = id.Length;
        return true;
    }
}
