namespace Notistream.LoadGen.Scenarios;

/// <summary>
/// Counters one case's publishers and subscribers share. Publishers add <see cref="Published"/> and the
/// receivers their PUBLISH replies counted (<see cref="ExpectedDeliveries"/>); subscriber readers add
/// <see cref="Delivered"/> once per chunk they parse. Everything is Interlocked or Volatile.
/// </summary>
internal sealed class RunState
{
    private long _published;
    private long _delivered;
    private long _expectedDeliveries;
    private long _replyMismatches;
    private int _stopping;

    public long Published => Volatile.Read(ref _published);

    public long Delivered => Volatile.Read(ref _delivered);

    public long ExpectedDeliveries => Volatile.Read(ref _expectedDeliveries);

    public long ReplyMismatches => Volatile.Read(ref _replyMismatches);

    public bool Stopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>Latency samples count only for messages meant to be sent at or after this timestamp.</summary>
    public long MeasureFrom { get; set; } = long.MaxValue;

    public void AddPublished(long count, long receivers, long mismatches)
    {
        Interlocked.Add(ref _published, count);
        Interlocked.Add(ref _expectedDeliveries, receivers);
        if (mismatches != 0)
        {
            Interlocked.Add(ref _replyMismatches, mismatches);
        }
    }

    public void AddDelivered(long count) => Interlocked.Add(ref _delivered, count);

    public void Stop() => Volatile.Write(ref _stopping, 1);
}
