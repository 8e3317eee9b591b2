using System.Globalization;
using System.Text;

namespace Notistream.LoadGen.Wire;

/// <summary>
/// A buffer of <see cref="Depth"/> pre-encoded <c>PUBLISH channel payload</c> frames (or any command of
/// the shape <c>COMMAND key fixed-arguments... payload</c>, such as <c>XADD key MAXLEN ~ 1000 * message
/// payload</c>), all of the same length, sent as one pipelined write. Between writes only the key bytes
/// (same length) and the payload header are patched in place: nothing is encoded or allocated per message.
/// </summary>
internal sealed class PublishBatch
{
    private readonly byte[] _buffer;
    private readonly int _frameLength;
    private readonly int _channelOffset;
    private readonly int _channelLength;
    private readonly int _payloadOffset;
    private readonly int _payloadSize;

    public PublishBatch(string channel, int payloadSize, int depth)
        : this("PUBLISH", channel, [], payloadSize, depth)
    {
    }

    /// <summary>Frames of <c><paramref name="command"/> key <paramref name="arguments"/>... payload</c>.</summary>
    public PublishBatch(string command, string key, IReadOnlyList<string> arguments, int payloadSize, int depth)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentOutOfRangeException.ThrowIfLessThan(payloadSize, Payload.HeaderSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        var channelBytes = Encoding.UTF8.GetBytes(key);
        static string Bulk(string text) => $"${Encoding.UTF8.GetByteCount(text).ToString(CultureInfo.InvariantCulture)}\r\n{text}\r\n";
        var head = Encoding.UTF8.GetBytes(
            $"*{(arguments.Count + 3).ToString(CultureInfo.InvariantCulture)}\r\n{Bulk(command)}${channelBytes.Length.ToString(CultureInfo.InvariantCulture)}\r\n");
        var middle = Encoding.UTF8.GetBytes($"\r\n{string.Concat(arguments.Select(Bulk))}${payloadSize.ToString(CultureInfo.InvariantCulture)}\r\n");
        _channelOffset = head.Length;
        _channelLength = channelBytes.Length;
        _payloadOffset = head.Length + channelBytes.Length + middle.Length;
        _payloadSize = payloadSize;
        _frameLength = _payloadOffset + payloadSize + 2;
        Depth = depth;
        _buffer = new byte[_frameLength * depth];
        for (var i = 0; i < depth; i++)
        {
            var frame = _buffer.AsSpan(i * _frameLength, _frameLength);
            head.CopyTo(frame);
            channelBytes.CopyTo(frame[_channelOffset..]);
            middle.CopyTo(frame[(_channelOffset + _channelLength)..]);
            frame.Slice(_payloadOffset, payloadSize).Fill((byte)'x');
            "\r\n"u8.CopyTo(frame[(_payloadOffset + payloadSize)..]);
        }
    }

    public int Depth { get; }

    public int FrameLength => _frameLength;

    /// <summary><c>XADD key MAXLEN ~ <paramref name="maxLength"/> * message payload</c>, or without MAXLEN when it is null.</summary>
    public static PublishBatch Xadd(string key, long? maxLength, int payloadSize, int depth) => new(
        "XADD",
        key,
        maxLength is { } max ? ["MAXLEN", "~", max.ToString(CultureInfo.InvariantCulture), "*", "message"] : ["*", "message"],
        payloadSize,
        depth);

    /// <summary>Replaces the channel of frame <paramref name="slot"/>; the new name must have the same length.</summary>
    public void SetChannel(int slot, ReadOnlySpan<byte> channel)
    {
        if (channel.Length != _channelLength)
        {
            throw new ArgumentException($"channel must be {_channelLength} bytes", nameof(channel));
        }

        channel.CopyTo(_buffer.AsSpan((slot * _frameLength) + _channelOffset));
    }

    public void SetMessage(int slot, int stream, long sequence, long intendedTimestamp) =>
        Payload.Write(_buffer.AsSpan((slot * _frameLength) + _payloadOffset, _payloadSize), stream, sequence, intendedTimestamp);

    /// <summary>As <see cref="SetMessage"/>, the fields written as <see cref="TextPayload"/> (hex text).</summary>
    public void SetTextMessage(int slot, int stream, long sequence, long intendedTimestamp) =>
        TextPayload.Write(_buffer.AsSpan((slot * _frameLength) + _payloadOffset, _payloadSize), stream, sequence, intendedTimestamp);

    /// <summary>The first <paramref name="count"/> frames, ready to send.</summary>
    public ReadOnlyMemory<byte> Frames(int count) => _buffer.AsMemory(0, count * _frameLength);
}
