namespace Notistream.RespServer.PubSub;

/// <summary>
/// The subscribers of one channel or pattern: O(1) to add or remove one, read by publishers without a lock.
/// <para>
/// Who writes: <see cref="Add"/> and <see cref="Remove"/>, always under the registry's write lock.
/// Who reads: publishers, on any thread, through <see cref="Snapshot"/>, with no lock. A slot of the
/// published array only ever goes from empty to a subscriber to empty again (a removal leaves a hole),
/// and a subscriber that comes back while its old hole is in the array goes into a fresh copy, so a
/// publisher walking one array meets each subscriber at most once. Holes are squeezed out by copying
/// when they outnumber the live entries, which keeps the cost amortised O(1) per change.
/// </para>
/// </summary>
internal sealed class SubscriberList
{
    private const int MinCapacity = 4;

    /// <summary>Slot of each subscriber in <see cref="_items"/>, or -1 for a hole it left there.</summary>
    private readonly Dictionary<ISubscriber, int> _slots = new(ReferenceEqualityComparer.Instance);
    private ISubscriber?[] _items = [];
    private int _used;
    private int _holes;
    private volatile int _count;

    /// <summary>Live subscribers (PUBSUB NUMSUB); readable from any thread.</summary>
    public int Count => _count;

    /// <summary>The current array: deliver to every non-null entry. Never changed except holes punched and empty slots filled.</summary>
    public ISubscriber?[] Snapshot => Volatile.Read(ref _items);

    /// <summary>Adds the subscriber; false when it is here already.</summary>
    public bool Add(ISubscriber subscriber)
    {
        if (_slots.TryGetValue(subscriber, out var slot))
        {
            if (slot >= 0)
            {
                return false;
            }

            // Back while its hole is still here: a publisher walking this array may already have
            // passed the hole, so a second slot in the same array could deliver one message twice.
            Rebuild(_items.Length);
        }
        else if (_used == _items.Length)
        {
            Rebuild(Math.Max(MinCapacity, (_count + 1) * 2));
        }

        _slots[subscriber] = _used;
        Volatile.Write(ref _items[_used], subscriber);
        _used++;
        _count++;
        return true;
    }

    public bool Remove(ISubscriber subscriber)
    {
        if (!_slots.TryGetValue(subscriber, out var slot) || slot < 0)
        {
            return false;
        }

        Volatile.Write(ref _items[slot], null);
        _slots[subscriber] = -1;
        _holes++;
        _count--;
        if (_holes > MinCapacity && _holes > _count)
        {
            Rebuild(Math.Max(MinCapacity, _count * 2));
        }

        return true;
    }

    /// <summary>Copies the live entries into a new array of <paramref name="capacity"/> and publishes it.</summary>
    private void Rebuild(int capacity)
    {
        var next = new ISubscriber?[Math.Max(capacity, _count + 1)];
        var used = 0;
        for (var i = 0; i < _used; i++)
        {
            if (_items[i] is { } subscriber)
            {
                next[used] = subscriber;
                _slots[subscriber] = used++;
            }
        }

        foreach (var (subscriber, slot) in _slots)
        {
            if (slot < 0)
            {
                _slots.Remove(subscriber);
            }
        }

        _used = used;
        _holes = 0;
        Volatile.Write(ref _items, next);
    }
}
