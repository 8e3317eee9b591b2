using System.Numerics;

namespace Notistream.LoadGen.Verification;

/// <summary>
/// Latencies in nanoseconds, HdrHistogram-style: exact below 256 ns, then 128 buckets per power of two
/// (under 1% error), so recording is an array increment and any number of samples fits in ~60 KB.
/// Percentiles report the highest value of the bucket holding the rank (never below the true value).
/// Single writer; <see cref="Add"/> merges after the writers have stopped.
/// </summary>
public sealed class LatencyHistogram
{
    private const int Exact = 256;
    private const int SubBuckets = 128;
    private readonly long[] _counts = new long[Exact + ((64 - 8) * SubBuckets)];

    public long Count { get; private set; }

    public long Max { get; private set; }

    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }

        _counts[Index(nanoseconds)]++;
        Count++;
        if (nanoseconds > Max)
        {
            Max = nanoseconds;
        }
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>The value at or below which <paramref name="percent"/>% of the samples lie (0 when empty).</summary>
    public long Percentile(double percent)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(percent / 100.0 * Count));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestInBucket(i), Max);
            }
        }

        return Max;
    }

    private static int Index(long value)
    {
        if (value < Exact)
        {
            return (int)value;
        }

        var exponent = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var shift = exponent - 7;
        var top = (int)(value >> shift);
        return Exact + ((exponent - 8) * SubBuckets) + (top - SubBuckets);
    }

    private static long HighestInBucket(int index)
    {
        if (index < Exact)
        {
            return index;
        }

        var exponent = ((index - Exact) / SubBuckets) + 8;
        var top = ((index - Exact) % SubBuckets) + SubBuckets;
        var shift = exponent - 7;
        return ((long)(top + 1) << shift) - 1;
    }
}
