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

    public int Count => _keys.Count;

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
    /// meanwhile, as Redis promises. The next cursor is 0 when no key lies further on. Each call reads
    /// every key and sorts those ahead of the cursor (Redis's dictionary walk reads about
    /// <paramref name="count"/>): a keyspace of channels with history holds thousands of keys, not millions.
    /// </summary>
    public ulong Scan(ulong cursor, int count, List<byte[]> found)
    {
        var ahead = new List<(ulong Position, byte[] Key)>();
        foreach (var key in _keys.Keys)
        {
            var position = ScanHash(key);
            if (position >= cursor)
            {
                ahead.Add((position, key));
            }
        }

        ahead.Sort(static (a, b) => a.Position.CompareTo(b.Position));
        var taken = 0;
        while (taken < ahead.Count && (taken < count || ahead[taken].Position == ahead[taken - 1].Position))
        {
            found.Add(ahead[taken].Key);
            taken++;
        }

        return taken < ahead.Count ? ahead[taken - 1].Position + 1 : 0;
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
