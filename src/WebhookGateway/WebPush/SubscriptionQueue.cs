namespace Notistream.Gateway.WebPush;

/// <summary>A message from the pub/sub server as Web Push received it: <paramref name="Source"/> is the subscribed channel or pattern it came through.</summary>
internal sealed record IncomingMessage(string Channel, byte[] Payload, string Source, DateTimeOffset Time)
{
    /// <summary>Its id in the channel's history when it was followed (NOTI.SUBSCRIBE); null when subscribed.</summary>
    public string? Id { get; init; }

    /// <summary>Its place in the position a restart resumes from (followed messages only); copies made with <c>with</c> share it.</summary>
    public PushReceipt? Receipt { get; init; }

    /// <summary>
    /// Above 0, this is no message but the server's notice that this many messages of <see cref="Source"/>
    /// (a channel or a pattern) were lost from history before they were read: counted as missed.
    /// </summary>
    public int Gap { get; init; }
}

/// <summary>A message waiting for one registration; <paramref name="Attempt"/> counts the 429s it has met.</summary>
internal sealed record PendingPush(IncomingMessage Message, int Attempt);

/// <summary>
/// The messages waiting for one registration, at most <c>capacity</c>: when full, the oldest is
/// dropped and counted as missed for its channel, and the next push on that channel carries the
/// count, so a push service that is slow or down costs bounded memory.
/// <para>
/// Concurrency: the dispatcher adds (<see cref="Offer"/>); the one sender that holds the queue
/// takes, puts back and counts failures. <see cref="_lock"/> protects every field. A queue is in the
/// senders' ready queue, or waiting out a 429, at most once: <see cref="_scheduled"/> is set by the
/// <see cref="Offer"/> that makes it ready and cleared only by the sender that finds it empty, so
/// one sender at a time holds a queue and the ready queue never holds more than one entry per registration.
/// </para>
/// </summary>
internal sealed class SubscriptionQueue(string endpoint, int capacity)
{
    /// <summary>Channels whose missed count is kept; past this, misses on further channels are not counted.</summary>
    private const int MaxMissedChannels = 256;

    private readonly Lock _lock = new();
    private readonly LinkedList<PendingPush> _items = new();
    private readonly Dictionary<string, int> _missed = new(StringComparer.Ordinal);
    private bool _scheduled;
    private bool _closed;

    public string Endpoint { get; } = endpoint;

    /// <summary>Adds <paramref name="message"/>; true when the caller must hand the queue to the senders.</summary>
    public bool Offer(IncomingMessage message)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return false;
            }

            _items.AddLast(new PendingPush(message, 0));
            message.Receipt?.Hold(); // let go when it leaves this queue: sent, given up, dropped or closed
            TrimLocked();
            if (_scheduled)
            {
                return false;
            }

            _scheduled = true;
            return true;
        }
    }

    /// <summary>The oldest message and the count missed on its channel before it (which the caller now owns); false, and the queue unscheduled, when empty.</summary>
    public bool TryTake(out PendingPush pending, out int missed)
    {
        lock (_lock)
        {
            if (_items.First is not { } first || _closed)
            {
                _scheduled = false;
                pending = null!;
                missed = 0;
                return false;
            }

            _items.RemoveFirst();
            pending = first.Value;
            _missed.Remove(pending.Message.Channel, out missed);
            if (pending.Message.Source != pending.Message.Channel && _missed.Remove(pending.Message.Source, out var throughPattern))
            {
                missed += throughPattern; // gaps reported for the pattern it came through
            }

            return true;
        }
    }

    /// <summary>Puts a throttled message back in front, with its missed count; the queue stays scheduled for the retry.</summary>
    public void PutBack(PendingPush pending, int missed)
    {
        lock (_lock)
        {
            AddMissedLocked(pending.Message.Channel, missed);
            _items.AddFirst(pending);
            TrimLocked();
        }
    }

    /// <summary>Messages of <paramref name="source"/> (a channel, or a pattern) that will not come: counted in the next push through it.</summary>
    public void AddMissed(string source, int count)
    {
        lock (_lock)
        {
            if (!_closed)
            {
                AddMissedLocked(source, count);
            }
        }
    }

    /// <summary>A message given up: it and the misses before it count for the next push on its channel.</summary>
    public void Failed(PendingPush pending, int missed)
    {
        lock (_lock)
        {
            AddMissedLocked(pending.Message.Channel, missed + 1);
        }

        pending.Message.Receipt?.Release();
    }

    /// <summary>A message taken and pushed, or dropped with its registration: it leaves the queue.</summary>
    public static void Done(PendingPush pending) => pending.Message.Receipt?.Release();

    /// <summary>The registration is gone: nothing more is queued or sent.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            foreach (var item in _items)
            {
                item.Message.Receipt?.Release();
            }

            _items.Clear();
            _missed.Clear();
        }
    }

    private void TrimLocked()
    {
        while (_items.Count > capacity)
        {
            var dropped = _items.First!.Value;
            _items.RemoveFirst();
            AddMissedLocked(dropped.Message.Channel, 1);
            dropped.Message.Receipt?.Release();
        }
    }

    private void AddMissedLocked(string channel, int count)
    {
        if (count > 0 && (_missed.Count < MaxMissedChannels || _missed.ContainsKey(channel)))
        {
            _missed[channel] = _missed.GetValueOrDefault(channel) + count;
        }
    }
}
