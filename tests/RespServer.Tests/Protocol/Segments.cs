using System.Buffers;

namespace Notistream.RespServer.Tests.Protocol;

/// <summary>Builds a ReadOnlySequence from pieces, to put segment boundaries anywhere in a frame.</summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> Of(params byte[][] pieces)
    {
        var nonEmpty = pieces.Where(p => p.Length > 0).ToArray();
        if (nonEmpty.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(nonEmpty[0], 0);
        var last = first;
        foreach (var piece in nonEmpty.Skip(1))
        {
            last = last.Append(piece);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>The bytes split in two at <paramref name="at"/>.</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] bytes, int at) => Of(bytes[..at], bytes[at..]);

    /// <summary>One byte per segment.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] bytes) => Of(bytes.Select(b => new[] { b }).ToArray());

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
