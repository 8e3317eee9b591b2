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

    /// <summary>Memory the dropped histories' records may hold at most; the oldest is forgotten first.</summary>
    public const long MaxDroppedBytes = 8L * 1024 * 1024;

    private readonly Dictionary<byte[], List<Follower>> _byChannel = new(ByteArrayComparer.Instance);
    private readonly List<Follower> _withPatterns = [];
    private readonly HashSet<Follower> _all = [];
    private readonly Dictionary<byte[], (TrimmedIds Record, long Place)> _dropped = new(ByteArrayComparer.Instance);
    private readonly Queue<(byte[] Key, long Place)> _droppedOrder = new();
    private long _places;
    private long _droppedBytes;

    /// <summary>
    /// The greatest id of a dropped history's record that was forgotten (past <see cref="MaxDropped"/> or
    /// <see cref="MaxDroppedBytes"/>): a follower from below it may miss a gap, so it is told of one of unknown size.
    /// </summary>
    public StreamId ForgottenUpTo { get; private set; }

    /// <summary>Followers registered.</summary>
    public int Count => _all.Count;

    /// <summary>
    /// Registers <paramref name="follower"/> and marks as active every stream of <paramref name="db"/> it
    /// follows that may hold entries, or removed entries, after its cursor: a pass over the named channels
    /// and, when it follows patterns, over the database's keys (as KEYS does) and the dropped histories.
    /// </summary>
    public void Register(Follower follower, Database? db)
    {
        _all.Add(follower);
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
                    if (db.Find(channel) is StreamValue { IsChannelHistory: true } stream && Pending(stream.LastId, stream.Trimmed, follower.Cursor))
                    {
                        Activate(follower, channel, null, after, stream.Trimmed);
                    }
                }
            }
            else
            {
                foreach (var (key, value) in db.Entries)
                {
                    if (value is StreamValue { IsChannelHistory: true } stream && Pending(stream.LastId, stream.Trimmed, follower.Cursor)
                        && follower.Follows(key, out var pattern))
                    {
                        Activate(follower, key, pattern, after, stream.Trimmed);
                    }
                }
            }
        }

        if (follower.Cursor.IsZero)
        {
            return; // "whatever is kept": what was dropped before is no gap of its
        }

        foreach (var (key, (trimmed, _)) in _dropped)
        {
            if (trimmed.LastId > follower.Cursor && (db?.Find(key) is null) && follower.Follows(key, out var pattern))
            {
                follower.Activate(key, pattern, after);
            }
        }
    }

    private static void Activate(Follower follower, byte[] key, byte[]? pattern, StreamId after, TrimmedIds? trimmed)
    {
        if (follower.Cursor.IsZero && trimmed is not null)
        {
            follower.IgnoreTrimmedBefore(key, trimmed);
        }

        follower.Activate(key, pattern, after);
    }

    public void Unregister(Follower follower)
    {
        _all.Remove(follower);
        foreach (var channel in follower.Channels)
        {
            if (_byChannel.TryGetValue(channel, out var list) && list.Remove(follower) && list.Count == 0)
            {
                _byChannel.Remove(channel);
            }
        }

        _withPatterns.Remove(follower);
    }

    /// <summary>
    /// Messages before <paramref name="firstAfter"/>, after what is applied, may have been lost without a record
    /// (a cluster node missed part of the shared stream): every follower is told, before any message from there on.
    /// </summary>
    public void LostBefore(StreamId firstAfter)
    {
        foreach (var follower in _all)
        {
            follower.LostBefore(firstAfter);
        }
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
            if (follower.IsActive(channel))
            {
                follower.Wake();
            }
            else if (follower.Follows(channel, out var pattern))
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

        if (_dropped.Remove(key, out var previous))
        {
            _droppedBytes -= previous.Record.Bytes;
        }

        var place = ++_places;
        _dropped[key] = (trimmed, place);
        _droppedOrder.Enqueue((key, place));
        _droppedBytes += trimmed.Bytes;
        while ((_dropped.Count > MaxDropped || _droppedBytes > MaxDroppedBytes) && _droppedOrder.TryDequeue(out var oldest))
        {
            // A place left by a record taken back or dropped again is skipped: only a key's current place forgets it.
            if (_dropped.TryGetValue(oldest.Key, out var record) && record.Place == oldest.Place)
            {
                _dropped.Remove(oldest.Key);
                _droppedBytes -= record.Record.Bytes;
                if (record.Record.LastId > ForgottenUpTo)
                {
                    ForgottenUpTo = record.Record.LastId;
                }
            }
        }

        if (_droppedOrder.Count > 2 * MaxDropped)
        {
            // Keep the order queue to the places still current.
            var current = _droppedOrder.Where(p => _dropped.TryGetValue(p.Key, out var r) && r.Place == p.Place).ToArray();
            _droppedOrder.Clear();
            foreach (var p in current)
            {
                _droppedOrder.Enqueue(p);
            }
        }

        if (Count > 0)
        {
            Appended(key, trimmed.LastId);
        }
    }

    /// <summary>Histories dropped whole up to <paramref name="id"/> were not recorded (a log replayed at start-up): cursors before it get an unknown gap.</summary>
    public void ForgetUpTo(StreamId id)
    {
        if (id > ForgottenUpTo)
        {
            ForgottenUpTo = id;
        }
    }

    /// <summary>What trims removed from <paramref name="key"/>'s dropped stream, or null.</summary>
    public TrimmedIds? DroppedTrimmed(ReadOnlySpan<byte> key)
        => _dropped.Count > 0 && _dropped.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var record) ? record.Record : null;

    /// <summary>A new stream for <paramref name="key"/> takes over its dropped predecessor's record (the ids only grow).</summary>
    public TrimmedIds? TakeDropped(ReadOnlySpan<byte> key)
    {
        if (_dropped.Count == 0 || !_dropped.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(key, out _, out var record))
        {
            return null;
        }

        // Its place in the order queue is skipped when it comes up (the dictionary no longer has it).
        _droppedBytes -= record.Record.Bytes;
        return record.Record;
    }

    /// <summary>FLUSHALL, FLUSHDB of database 0: deliberate deletions, nothing to report.</summary>
    public void ClearDropped()
    {
        _dropped.Clear();
        _droppedOrder.Clear();
        _droppedBytes = 0;
    }

    private static bool Pending(StreamId last, TrimmedIds? trimmed, StreamId cursor)
        => last > cursor || (trimmed is not null && (trimmed.LastId > cursor || trimmed.ForgottenUpTo > cursor));
}
