using Notistream.Client.Resume;

namespace Notistream.Client.Delivery;

/// <summary>
/// For one output: which messages it has been given and which it has finished with (printed,
/// notified, folded into a notification that was shown, run through --exec, or dropped). The
/// <see cref="Watermark"/> is the last id up to which it has finished with every message, so a cursor
/// saved from it never passes a message not yet shown, even when outputs finish out of order (a
/// notification held for a summary while later channels' messages are shown).
/// </summary>
/// <remarks>Threads: <see cref="Posted"/> from the subscription, <see cref="Done"/> from the output; one lock.</remarks>
internal sealed class DeliveryTracker
{
    private readonly Lock _lock = new();
    private readonly Queue<Entry> _order = new();
    private readonly Dictionary<MessageId, Entry> _pending = [];
    private MessageId? _watermark;
    private MessageId? _lastPosted;

    /// <summary>Every message up to this id that was posted is finished with; null while none is.</summary>
    public MessageId? Watermark
    {
        get
        {
            lock (_lock)
            {
                return _order.Count == 0 ? _lastPosted ?? _watermark : _watermark;
            }
        }
    }

    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Ids must come in increasing order; a repeat is ignored.</summary>
    public void Posted(MessageId id)
    {
        lock (_lock)
        {
            if (_lastPosted is { } last && id <= last)
            {
                return;
            }

            var entry = new Entry(id);
            _order.Enqueue(entry);
            _pending[id] = entry;
            _lastPosted = id;
        }
    }

    public void Done(MessageId id)
    {
        lock (_lock)
        {
            if (!_pending.Remove(id, out var entry))
            {
                return;
            }

            entry.Done = true;
            while (_order.TryPeek(out var first) && first.Done)
            {
                _watermark = _order.Dequeue().Id;
            }
        }
    }

    private sealed class Entry(MessageId id)
    {
        public MessageId Id { get; } = id;

        public bool Done { get; set; }
    }
}
