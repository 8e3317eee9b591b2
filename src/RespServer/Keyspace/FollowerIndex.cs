using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Keyspace;

/// <summary>
/// Who follows what (NOTI.SUBSCRIBE), looked up by every append to a channel history in the hold of
/// <see cref="KeyStore.Gate"/> that appends, so that a follower's active streams always include every stream
/// with entries after its cursor (see <see cref="Follower"/>). Also keeps what trims had removed from the
/// channel histories the history sweep or history-max-memory dropped whole, so a follower still learns of
/// those gaps. Every member is used under the gate.
/// <para>
/// Cost to an append: nothing when no one follows; else one dictionary look-up, plus one glob match per
/// pattern of each follower that follows patterns.
/// </para>
/// </summary>
internal sealed class FollowerIndex
{
    /// <summary>Dropped histories remembered at most; the oldest is forgotten first.</summary>
    public const int MaxDropped = 1024;

    private readonly Dictionary<byte[], List<Follower>> _byChannel = new(ByteArrayComparer.Instance);
    private readonly List<Follower> _withPatterns = [];
    private readonly Dictionary<byte[], TrimmedIds> _dropped = new(ByteArrayComparer.Instance);
    private readonly Queue<byte[]> _droppedOrder = new();

    /// <summary>Followers registered.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// Registers <paramref name="follower"/> and marks as active every stream of <paramref name="db"/> it
    /// follows that may hold entries, or removed entries, after its cursor: a pass over the named channels
    /// and, when it follows patterns, over the database's keys (as KEYS does) and the dropped histories.
    /// </summary>
    public void Register(Follower follower, Database? db)
    {
        Count++;
        foreach (var channel in follower.Channels)
        {
            if (!_byChannel.TryGetValue(channel, out var list))
            {
                _byChannel[channel] = list = [];
            }

            list.Add(follower);
        }

        if (follower.Patterns.Length > 0)
        {
            _withPatterns.Add(follower);
        }

        if (!follower.Cursor.TryIncrement(out var after))
        {
            return;
        }

        if (db is not null)
        {
            if (follower.Patterns.Length == 0)
            {
                foreach (var channel in follower.Channels)
                {
                    if (db.Find(channel) is StreamValue stream && Pending(stream.LastId, stream.Trimmed, follower.Cursor))
                    {
                        follower.Activate(channel, null, after);
                    }
                }
            }
            else
            {
                foreach (var (key, value) in db.Entries)
                {
                    if (value is StreamValue stream && Pending(stream.LastId, stream.Trimmed, follower.Cursor)
                        && follower.Follows(key, out var pattern))
                    {
                        follower.Activate(key, pattern, after);
                    }
                }
            }
        }

        foreach (var (key, trimmed) in _dropped)
        {
            if (trimmed.LastId > follower.Cursor && (db?.Find(key) is null) && follower.Follows(key, out var pattern))
            {
                follower.Activate(key, pattern, after);
            }
        }
    }

    public void Unregister(Follower follower)
    {
        Count--;
        foreach (var channel in follower.Channels)
        {
            if (_byChannel.TryGetValue(channel, out var list) && list.Remove(follower) && list.Count == 0)
            {
                _byChannel.Remove(channel);
            }
        }

        _withPatterns.Remove(follower);
    }

    /// <summary>An entry <paramref name="id"/> was appended to <paramref name="channel"/>'s stream in database 0: its followers have something to read.</summary>
    public void Appended(ReadOnlySpan<byte> channel, StreamId id)
    {
        if (Count == 0)
        {
            return;
        }

        if (_byChannel.Count > 0 && _byChannel.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var named))
        {
            foreach (var follower in named)
            {
                follower.Activate(channel, null, id);
                follower.Wake();
            }
        }

        foreach (var follower in _withPatterns)
        {
            if (follower.Follows(channel, out var pattern))
            {
                follower.Activate(channel, pattern, id);
                follower.Wake();
            }
        }
    }

    /// <summary>
    /// The history sweep or history-max-memory removed <paramref name="key"/>'s stream whole: what its trims
    /// removed is remembered (up to <see cref="MaxDropped"/> streams), and followers that may miss it are woken.
    /// </summary>
    public void Dropped(byte[] key, StreamValue stream)
    {
        if (stream.Trimmed is not { Count: > 0 } trimmed)
        {
            return;
        }

        _droppedOrder.Enqueue(key);
        _dropped[key] = trimmed;
        while (_dropped.Count > MaxDropped && _droppedOrder.TryDequeue(out var oldest))
        {
            _dropped.Remove(oldest);
        }

        if (_droppedOrder.Count > 2 * MaxDropped)
        {
            // Keys taken back (TakeDropped) or dropped again left stale places in the order: keep each key's last.
            var seen = new HashSet<byte[]>(ByteArrayComparer.Instance);
            var order = _droppedOrder.Reverse().Where(k => _dropped.ContainsKey(k) && seen.Add(k)).Reverse().ToArray();
            _droppedOrder.Clear();
            foreach (var k in order)
            {
                _droppedOrder.Enqueue(k);
            }
        }

        if (Count > 0)
        {
            Appended(key, trimmed.LastId);
        }
    }

    /// <summary>What trims removed from <paramref name="key"/>'s dropped stream, or null.</summary>
    public TrimmedIds? DroppedTrimmed(ReadOnlySpan<byte> key)
        => _dropped.Count > 0 && _dropped.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var trimmed) ? trimmed : null;

    /// <summary>A new stream for <paramref name="key"/> takes over its dropped predecessor's record (the ids only grow).</summary>
    public TrimmedIds? TakeDropped(ReadOnlySpan<byte> key)
    {
        if (_dropped.Count == 0 || !_dropped.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(key, out _, out var trimmed))
        {
            return null;
        }

        // Its place in the order queue is skipped when it comes up (the dictionary no longer has it).
        return trimmed;
    }

    /// <summary>FLUSHALL, FLUSHDB of database 0: deliberate deletions, nothing to report.</summary>
    public void ClearDropped()
    {
        _dropped.Clear();
        _droppedOrder.Clear();
    }

    private static bool Pending(StreamId last, TrimmedIds? trimmed, StreamId cursor)
        => last > cursor || (trimmed is not null && (trimmed.LastId > cursor || trimmed.ForgottenUpTo > cursor));
}
