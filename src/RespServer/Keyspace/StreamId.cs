using System.Buffers.Text;

namespace Notistream.RespServer.Keyspace;

/// <summary>A stream entry id, "ms-seq": two unsigned 64-bit numbers compared as one 128-bit number.</summary>
internal readonly record struct StreamId(ulong Ms, ulong Seq) : IComparable<StreamId>
{
    public static readonly StreamId Min = new(0, 0);
    public static readonly StreamId Max = new(ulong.MaxValue, ulong.MaxValue);

    /// <summary>"18446744073709551615-18446744073709551615" is the longest id text.</summary>
    public const int MaxTextLength = 41;

    public bool IsZero => Ms == 0 && Seq == 0;

    public int CompareTo(StreamId other)
        => Ms != other.Ms ? Ms.CompareTo(other.Ms) : Seq.CompareTo(other.Seq);

    public static bool operator <(StreamId a, StreamId b) => a.CompareTo(b) < 0;

    public static bool operator >(StreamId a, StreamId b) => a.CompareTo(b) > 0;

    public static bool operator <=(StreamId a, StreamId b) => a.CompareTo(b) <= 0;

    public static bool operator >=(StreamId a, StreamId b) => a.CompareTo(b) >= 0;

    /// <summary>The next id, as Redis's streamIncrID; false (and 0-0) past the last possible id.</summary>
    public bool TryIncrement(out StreamId next)
    {
        // Copies first: a caller may pass this very id as the out argument.
        var (ms, seq) = (Ms, Seq);
        if (seq != ulong.MaxValue)
        {
            next = new StreamId(ms, seq + 1);
            return true;
        }

        next = ms != ulong.MaxValue ? new StreamId(ms + 1, 0) : Min;
        return ms != ulong.MaxValue;
    }

    /// <summary>The previous id, as Redis's streamDecrID; false before 0-0.</summary>
    public bool TryDecrement(out StreamId previous)
    {
        var (ms, seq) = (Ms, Seq);
        if (seq != 0)
        {
            previous = new StreamId(ms, seq - 1);
            return true;
        }

        previous = ms != 0 ? new StreamId(ms - 1, ulong.MaxValue) : Max;
        return ms != 0;
    }

    /// <summary>Writes "ms-seq" and returns its length; <paramref name="destination"/> holds <see cref="MaxTextLength"/>.</summary>
    public int Format(Span<byte> destination)
    {
        Utf8Formatter.TryFormat(Ms, destination, out var n);
        destination[n++] = (byte)'-';
        Utf8Formatter.TryFormat(Seq, destination[n..], out var m);
        return n + m;
    }

    public override string ToString() => $"{Ms}-{Seq}";
}
