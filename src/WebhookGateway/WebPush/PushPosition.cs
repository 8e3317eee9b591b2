using System.Globalization;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// Where Web Push may resume after a restart: the id up to which every message it read has been dealt
/// with — pushed, given up after its retries, dropped from a full queue (counted as missed), or left
/// because its registration went away. A message still waiting in a queue, or in a 429's wait, holds the
/// position back, so a restart pushes it again instead of losing it.
/// <para>
/// Each message read gets a <see cref="PushReceipt"/> with one hold (the dispatcher's); the dispatcher
/// adds one per registration queue that takes it and then lets its own go; whoever ends the message's
/// stay in a queue lets that one go. Receipts are kept in the order read (ids increase), and
/// <see cref="Committed"/> moves past the oldest once nothing holds it. <see cref="_lock"/> protects the
/// list and <see cref="_committed"/>; a receipt's count is changed with interlocked operations by the
/// dispatcher, the queues and the senders.
/// </para>
/// <para>
/// At most <see cref="MaxOpen"/> receipts are kept: past that (a registration stuck on retries while
/// thousands of messages pass), the oldest is given up as if dealt with, so a restart would not push it
/// again. Memory stays bounded.
/// </para>
/// </summary>
internal sealed class PushPosition(string? committed)
{
    internal const int MaxOpen = 100_000;

    private readonly Lock _lock = new();
    private readonly Queue<PushReceipt> _open = new();
    private string? _committed = committed;

    /// <summary>The id every message up to which has been dealt with; null before anything was read or confirmed.</summary>
    public string? Committed
    {
        get
        {
            lock (_lock)
            {
                return _committed;
            }
        }
    }

    /// <summary>Receipts not yet passed (for tests and the bound).</summary>
    public int Open
    {
        get
        {
            lock (_lock)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>A message with <paramref name="id"/> was read: its receipt, with the dispatcher's hold.</summary>
    public PushReceipt Read(string id)
    {
        var receipt = new PushReceipt(this, id);
        lock (_lock)
        {
            _open.Enqueue(receipt);
            while (_open.Count > MaxOpen)
            {
                var given = _open.Dequeue();
                if (!given.Abandoned)
                {
                    _committed = given.Id;
                }
            }
        }

        return receipt;
    }

    /// <summary>
    /// Nothing up to <paramref name="id"/> is left to read (NOTI.SUBSCRIBE's confirmation, or its caught-up
    /// notice): the position may move there once what was read before it is dealt with.
    /// </summary>
    public void Passed(string id) => Read(id).Release();

    internal void Advance()
    {
        lock (_lock)
        {
            while (_open.TryPeek(out var oldest) && oldest.Done)
            {
                _open.Dequeue();
                if (!oldest.Abandoned && (_committed is null || Compare(oldest.Id, _committed) > 0))
                {
                    _committed = oldest.Id;
                }
            }
        }
    }

    /// <summary>Orders two ids, <c>ms-seq</c> (or <c>ms</c>).</summary>
    internal static int Compare(string a, string b)
    {
        var (aMs, aSeq) = Parse(a);
        var (bMs, bSeq) = Parse(b);
        return aMs != bMs ? aMs.CompareTo(bMs) : aSeq.CompareTo(bSeq);
    }

    private static (ulong Ms, ulong Seq) Parse(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        var ms = ulong.Parse(dash < 0 ? id : id[..dash], NumberStyles.None, CultureInfo.InvariantCulture);
        var seq = dash < 0 ? 0 : ulong.Parse(id[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
        return (ms, seq);
    }
}

/// <summary>One read message's holds: see <see cref="PushPosition"/>.</summary>
internal sealed class PushReceipt(PushPosition owner, string id)
{
    private int _holds = 1;
    private volatile bool _abandoned;

    public string Id { get; } = id;

    public bool Done => Volatile.Read(ref _holds) <= 0;

    /// <summary>Never handed on (the read was cut short): passed without moving the position to it.</summary>
    public bool Abandoned => _abandoned;

    public void Hold() => Interlocked.Increment(ref _holds);

    public void Release()
    {
        if (Interlocked.Decrement(ref _holds) == 0)
        {
            owner.Advance();
        }
    }

    /// <summary>The message was read but not handed on; it will be read again from the position.</summary>
    public void Abandon()
    {
        _abandoned = true;
        Release();
    }
}
