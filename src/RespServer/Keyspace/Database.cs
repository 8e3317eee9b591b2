using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Keyspace;

/// <summary>
/// One numbered database (SELECT): keys to values. Not thread-safe: every use holds
/// <see cref="KeyStore.Gate"/>.
/// </summary>
internal sealed class Database
{
    private readonly Dictionary<byte[], KeyValue> _keys = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], KeyValue>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public Database() => _lookup = _keys.GetAlternateLookup<ReadOnlySpan<byte>>();

    /// <summary>Commands blocked on a key, in the order they blocked (Redis serves them in that order).</summary>
    private Dictionary<byte[], List<BlockedCommand>>? _blocked;

    public int Count => _keys.Count;

    /// <summary>Registers <paramref name="command"/> on each of its keys.</summary>
    public void Block(BlockedCommand command)
    {
        _blocked ??= new Dictionary<byte[], List<BlockedCommand>>(ByteArrayComparer.Instance);
        foreach (var key in command.Keys)
        {
            if (!_blocked.TryGetValue(key, out var list))
            {
                _blocked[key] = list = [];
            }

            if (!list.Contains(command))
            {
                list.Add(command);
            }
        }
    }

    /// <summary>Removes <paramref name="command"/> from each of its keys.</summary>
    public void Unblock(BlockedCommand command)
    {
        if (_blocked is null)
        {
            return;
        }

        foreach (var key in command.Keys)
        {
            if (_blocked.TryGetValue(key, out var list) && list.Remove(command) && list.Count == 0)
            {
                _blocked.Remove(key);
            }
        }
    }

    /// <summary>Wakes every command blocked on <paramref name="key"/>: it may now have something to answer.</summary>
    public void Signal(ReadOnlySpan<byte> key)
    {
        if (_blocked is { Count: > 0 } && _blocked.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var list))
        {
            foreach (var command in list)
            {
                command.Wake();
            }
        }
    }

    /// <summary>Commands blocked on some key of this database (INFO's blocked_keys counts keys).</summary>
    public int BlockedKeys => _blocked?.Count ?? 0;

    public KeyValue? Find(ReadOnlySpan<byte> key) => _lookup.TryGetValue(key, out var value) ? value : null;

    /// <summary>Adds <paramref name="value"/> under <paramref name="key"/>; the caller has found the key absent.</summary>
    public void Add(ReadOnlySpan<byte> key, KeyValue value) => _lookup.TryAdd(key, value);

    public bool Remove(ReadOnlySpan<byte> key) => _lookup.Remove(key);

    public void Clear()
    {
        _keys.Clear();
        _keys.TrimExcess();
    }

    public IEnumerable<KeyValuePair<byte[], KeyValue>> Entries => _keys;

    /// <summary>
    /// One SCAN step. The cursor is a position in a fixed order of all possible keys, that of
    /// <see cref="ScanHash"/>: a call returns the keys at or after <paramref name="cursor"/>, at least
    /// <paramref name="count"/> of them when there are, plus every other key of the last one's position, so a
    /// key present from the first call to the last is returned at least once whatever is added or removed
    /// meanwhile, as Redis promises. The next cursor is 0 when no key lies further on. Each call reads every
    /// key twice and keeps the lowest <paramref name="count"/> in a heap, O(keys × log count) (Redis's
    /// dictionary walk reads about <paramref name="count"/>).
    /// </summary>
    public ulong Scan(ulong cursor, int count, List<byte[]> found)
    {
        // The count lowest positions at or after the cursor, kept in a heap whose top is the highest of them.
        var lowest = new PriorityQueue<byte[], ulong>(Math.Min(count, _keys.Count), Comparer<ulong>.Create(static (a, b) => b.CompareTo(a)));
        foreach (var key in _keys.Keys)
        {
            var position = ScanHash(key);
            if (position < cursor)
            {
                continue;
            }

            if (lowest.Count < count)
            {
                lowest.Enqueue(key, position);
            }
            else if (lowest.TryPeek(out _, out var highest) && position < highest)
            {
                lowest.EnqueueDequeue(key, position);
            }
        }

        if (!lowest.TryPeek(out _, out var boundary))
        {
            return 0;
        }

        // Every key up to the boundary, those that share its position included; whether any lies beyond.
        var beyond = false;
        foreach (var key in _keys.Keys)
        {
            var position = ScanHash(key);
            if (position >= cursor && position <= boundary)
            {
                found.Add(key);
            }
            else if (position > boundary)
            {
                beyond = true;
            }
        }

        found.Sort(static (a, b) => ScanHash(a).CompareTo(ScanHash(b)));
        return beyond ? boundary + 1 : 0;
    }

    /// <summary>FNV-1a, 64 bits: a key's place in SCAN's order, the same in every process.</summary>
    public static ulong ScanHash(ReadOnlySpan<byte> key)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in key)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }
}
