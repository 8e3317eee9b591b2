using System.Buffers;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Output;

/// <summary>
/// One queued piece of output: a reply array (pooled or not) or a shared message frame. A queue owns
/// its segments: each is given back (<see cref="Release"/>) exactly once, after it was sent or dropped.
/// </summary>
internal readonly struct OutputSegment
{
    private readonly byte[]? _array;
    private readonly MessageFrame? _frame;
    private readonly int _length;
    private readonly bool _pooled;

    private OutputSegment(byte[]? array, MessageFrame? frame, int length, bool pooled)
    {
        _array = array;
        _frame = frame;
        _length = length;
        _pooled = pooled;
    }

    /// <summary>The first <paramref name="length"/> bytes of <paramref name="array"/>; a pooled array goes back to the pool on release.</summary>
    public static OutputSegment OfArray(byte[] array, int length, bool pooled) => new(array, null, length, pooled);

    /// <summary>A shared frame; the segment holds one reference to it, given back on release.</summary>
    public static OutputSegment OfFrame(MessageFrame frame) => new(null, frame, frame.Length, pooled: false);

    public MessageFrame? Frame => _frame;

    /// <summary>Bytes to send.</summary>
    public int Length => _length;

    /// <summary>
    /// Bytes of memory this segment keeps alive, which output limits and CLIENT LIST omem count (as
    /// Redis counts its reply blocks' allocations): a reply array's whole capacity, since a pooled
    /// array of 4 KiB holding a 30-byte reply holds 4 KiB. A shared frame counts its length in every
    /// queue it is in, as if each had its own copy (Redis copies a message into each client's buffer).
    /// </summary>
    public int Held => _frame is not null ? _length : _array!.Length;

    /// <summary>Free bytes after the data of a pooled reply array, which later small replies may fill.</summary>
    public int Room => _frame is null && _pooled ? _array!.Length - _length : 0;

    public ReadOnlySpan<byte> Span => _frame is not null ? _frame.Span : _array.AsSpan(0, _length);

    public ReadOnlyMemory<byte> Memory => _frame is not null ? _frame.Memory : _array.AsMemory(0, _length);

    /// <summary>Copies <paramref name="bytes"/> after this segment's data (there must be <see cref="Room"/>); returns the longer segment.</summary>
    public OutputSegment Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_array.AsSpan(_length));
        return new OutputSegment(_array, null, _length + bytes.Length, _pooled);
    }

    /// <summary>Gives the segment back: the queue's reference to a frame, or a pooled array to its pool.</summary>
    public void Release()
    {
        if (_frame is not null)
        {
            _frame.Release();
        }
        else if (_pooled)
        {
            ArrayPool<byte>.Shared.Return(_array!);
        }
    }

    public static long HeldBy(List<OutputSegment> segments)
    {
        long held = 0;
        foreach (var segment in segments)
        {
            held += segment.Held;
        }

        return held;
    }

    /// <summary>Gives back every segment of <paramref name="segments"/> from <paramref name="from"/> on, and empties the list.</summary>
    public static void ReleaseAll(List<OutputSegment>? segments, int from = 0)
    {
        if (segments is null)
        {
            return;
        }

        for (var i = from; i < segments.Count; i++)
        {
            segments[i].Release();
        }

        segments.Clear();
    }
}
