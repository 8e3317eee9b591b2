using System.Collections.Concurrent;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// The other nodes' subscriptions as their gossip told them (<see cref="InterestGossip"/>,
/// docs/cluster.md#counting-across-the-cluster): per node, channel → subscribers, pattern →
/// subscriptions and shard channel → subscribers; summed over the nodes for PUBLISH's and SPUBLISH's
/// replies and PUBSUB.
/// <para>
/// Concurrency. <see cref="_lock"/> protects every write and the per-node tables, the budget counters and
/// <see cref="_patterns"/>. Writers: the link's gossip receive task (<see cref="Apply"/>) and its gossip
/// send task (<see cref="Expire"/>), both under the lock. Readers: publishers (any read loop) read
/// <see cref="_channels"/> and <see cref="_shardChannels"/> (concurrent dictionaries, written only under the lock) without a lock, and the
/// pattern trie under <see cref="_trieLock"/>'s read lock (written under the lock and the write lock),
/// testing the candidates with the glob matcher outside it, as the registry does; a pattern's
/// <see cref="PatternSubscription.RemoteCount"/> is written under the lock and read without it. The link
/// takes the lock for node ids (probes, expiry) and tests for the bounds' counters.
/// <see cref="_unionLock"/> protects the union of local and remote pattern names (<see cref="DistinctPatterns"/>): written by the registry's hook (under the registry's
/// write lock) and under this index's lock, each taking it last and briefly; read by PUBSUB NUMPAT.
/// </para>
/// <para>
/// Bounds: at most <see cref="MaxNodes"/> nodes, and <see cref="MaxEntries"/> (node, name) entries and
/// <see cref="MaxNameBytes"/> bytes (each entry its name's bytes plus <see cref="EntryBytes"/>, or <see cref="PatternEntryBytes"/> for a pattern) over
/// everything held: every node's tables and every whole state being received (the staged counters,
/// <see cref="_stagedEntries"/>, <see cref="_stagedBytes"/>), a node's old tables counted until its new
/// state replaces them. An entry past them is not held (so not counted) and is counted in
/// <see cref="Refused"/>; a node past <see cref="MaxNodes"/> is ignored until one leaves; a whole state
/// not complete within <see cref="StagingTimeout"/> is dropped. A message with a malformed entry is
/// applied not at all.
/// </para>
/// </summary>
internal sealed class RemoteInterest
{
    public const int MaxNodes = 64;

    public const int MaxEntries = 1_000_000;

    public const long MaxNameBytes = 128L * 1024 * 1024;

    /// <summary>A node that asked for nothing is asked again at most this often (ms).</summary>
    private const long RequestInterval = 1_000;

    /// <summary>A whole state not complete this long (ms) after its start is dropped, and what it held freed.</summary>
    public const long StagingTimeout = 2_000;

    /// <summary>
    /// What one held (node, name) entry costs beyond its name's bytes, counted in the byte bound: the name's
    /// array header, the node table's entry, its share of the summed table's node, roughly (measured by
    /// RemoteInterestTests: about 129 bytes for an 8-byte name).
    /// </summary>
    public const int EntryBytes = 160;

    /// <summary>The same for a pattern, which also has its index entry and trie nodes (about 320 bytes measured).</summary>
    public const int PatternEntryBytes = 400;

    private readonly int _maxNodes;
    private readonly int _maxEntries;
    private readonly long _maxNameBytes;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<byte[], int> _channels = new(ByteArrayComparer.Instance);
    private readonly ConcurrentDictionary<byte[], int> _shardChannels = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], PatternSubscription> _patterns = new(ByteArrayComparer.Instance);
    private readonly ChannelTrie _trie = new();
    private readonly ReaderWriterLockSlim _trieLock = new(LockRecursionPolicy.NoRecursion);
    private volatile int _patternCount;

    // Under _unionLock (taken last, after this index's lock or the registry's write lock, never before
    // them): every pattern subscribed on this node (1) or on another (2), for PUBSUB NUMPAT in O(1).
    private readonly Lock _unionLock = new();
    private readonly Dictionary<byte[], byte> _unionPatterns = new(ByteArrayComparer.Instance);
    private volatile int _nodeCount;
    private long _entries;
    private long _bytes;
    private long _stagedEntries;
    private long _stagedBytes;
    private long _refused;

    [ThreadStatic]
    private static List<PatternSubscription>? t_matches;

    /// <summary>The bounds are the constants above; tests give smaller ones.</summary>
    public RemoteInterest(int maxNodes = MaxNodes, int maxEntries = MaxEntries, long maxNameBytes = MaxNameBytes)
    {
        _maxNodes = maxNodes;
        _maxEntries = maxEntries;
        _maxNameBytes = maxNameBytes;
    }

    /// <summary>PUBSUB NUMPAT: distinct patterns subscribed on this node or another.</summary>
    public int DistinctPatterns
    {
        get
        {
            lock (_unionLock)
            {
                return _unionPatterns.Count;
            }
        }
    }

    /// <summary>The registry's hook through the link, under its write lock: a pattern got its first local subscriber or lost its last.</summary>
    public void LocalPatternChanged(byte[] pattern, bool present) => UnionChanged(pattern, 1, present);

    /// <summary>Nodes heard from and not expired.</summary>
    public int NodeCount => _nodeCount;

    /// <summary>Distinct channels with subscribers on other nodes.</summary>
    public int ChannelCount => _channels.Count;

    /// <summary>Distinct shard channels with subscribers on other nodes.</summary>
    public int ShardChannelCount => _shardChannels.Count;

    /// <summary>Distinct patterns with subscriptions on other nodes.</summary>
    public int PatternCount => _patternCount;

    /// <summary>(node, name) entries held: every node's tables and every whole state being received.</summary>
    public long HeldEntries
    {
        get
        {
            lock (_lock)
            {
                return _entries + _stagedEntries;
            }
        }
    }

    /// <summary>What the byte bound counts of <see cref="HeldEntries"/>.</summary>
    public long HeldBytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes + _stagedBytes;
            }
        }
    }

    /// <summary>Entries (and nodes) not held because of the bounds.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>
    /// PUBLISH: the other nodes' receivers of a message to <paramref name="channel"/>, as Redis counts them:
    /// the channel's subscribers plus one per subscription of each matching pattern.
    /// </summary>
    public long Receivers(ReadOnlySpan<byte> channel)
    {
        long receivers = _channels.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var count) ? count : 0;
        if (_patternCount == 0)
        {
            return receivers;
        }

        var matches = t_matches ??= [];
        _trieLock.EnterReadLock();
        try
        {
            _trie.CollectCandidates(channel, matches);
        }
        finally
        {
            _trieLock.ExitReadLock();
        }

        try
        {
            foreach (var match in matches)
            {
                if (GlobMatcher.IsMatch(match.Pattern, channel))
                {
                    receivers += Volatile.Read(ref match.RemoteCount);
                }
            }
        }
        finally
        {
            matches.Clear();
        }

        return receivers;
    }

    /// <summary>PUBSUB NUMSUB: the channel's subscribers on the other nodes; <paramref name="shard"/>: the shard channel's (SHARDNUMSUB, SPUBLISH).</summary>
    public int ChannelSubscribers(ReadOnlySpan<byte> channel, bool shard = false)
        => (shard ? _shardChannels : _channels).GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var count) ? count : 0;

    /// <summary>PUBSUB CHANNELS: the channels subscribed on other nodes; <paramref name="shard"/>: the shard channels (SHARDCHANNELS).</summary>
    public List<byte[]> ChannelNames(bool shard = false) => [.. (shard ? _shardChannels : _channels).Keys];

    /// <summary>The nodes heard from and not expired.</summary>
    public List<string> NodeIds()
    {
        lock (_lock)
        {
            return [.. _nodes.Keys];
        }
    }

    /// <summary>The nodes whose whole state is held (and every delta after it), with when it last came: those a probe may wait for.</summary>
    public List<(string Id, long SyncedAt)> SyncedNodes()
    {
        lock (_lock)
        {
            var nodes = new List<(string, long)>(_nodes.Count);
            foreach (var (id, state) in _nodes)
            {
                if (state.Synced)
                {
                    nodes.Add((id, state.SyncedAt));
                }
            }

            return nodes;
        }
    }

    /// <summary>
    /// One message of <paramref name="node"/>'s interest stream. Returns true when the node's whole state
    /// should be asked for (a gap in its sequence, a heartbeat ahead of what arrived, an unknown node),
    /// at most once a second per node.
    /// </summary>
    public bool Apply(string node, ReadOnlySpan<byte> payload, long now)
    {
        if (!InterestGossip.TryReadHeader(payload, out var kind, out var sequence))
        {
            return false;
        }

        var entries = payload[InterestGossip.HeaderLength..];
        var wellFormed = IsWellFormed(entries);
        lock (_lock)
        {
            if (!_nodes.TryGetValue(node, out var state))
            {
                if (kind == InterestGossip.Bye)
                {
                    return false;
                }

                if (_nodes.Count >= _maxNodes)
                {
                    Interlocked.Increment(ref _refused);
                    return false;
                }

                state = new Node();
                _nodes.Add(node, state);
                _nodeCount = _nodes.Count;
            }

            state.LastHeard = now;
            if (state.Staged is { } old && now - old.Started > StagingTimeout)
            {
                DropStagingLocked(state);
            }

            switch (kind)
            {
                case InterestGossip.Bye:
                    RemoveLocked(node, state);
                    return false;
                case InterestGossip.Heartbeat:
                    // A node sends a whole state and its heartbeat in order on one subject: a heartbeat that
                    // finds a state still being received, or a sequence other than the last taken, means
                    // something was lost.
                    if (state.Staged is null && state.Synced && sequence == state.Sequence)
                    {
                        return false;
                    }

                    DropStagingLocked(state);
                    state.Synced = false;
                    return DueLocked(state, now);
                case InterestGossip.SnapshotStart:
                    DropStagingLocked(state);
                    state.Staged = new Staging(now);
                    state.Synced = false;
                    state.Sequence = sequence;
                    return false;
                case InterestGossip.SnapshotPart:
                case InterestGossip.SnapshotEnd:
                    if (state.Staged is not { } staged || sequence != state.Sequence + 1 || !wellFormed)
                    {
                        DropStagingLocked(state);
                        state.Synced = false;
                        return DueLocked(state, now);
                    }

                    StageLocked(staged, entries);
                    state.Sequence = sequence;
                    if (kind == InterestGossip.SnapshotEnd)
                    {
                        // Its entries leave the staged counters; the replacement then holds at most what
                        // the tables and the staging held together, so within the bounds.
                        DropStagingLocked(state);
                        ReplaceLocked(state, staged);
                        state.Synced = true;
                        state.SyncedAt = now;
                    }

                    return false;
                case InterestGossip.Delta:
                    if (!state.Synced || state.Staged is not null || sequence != state.Sequence + 1 || !wellFormed)
                    {
                        // Lost, out of place or malformed (then none of it is applied): the node's whole
                        // state is asked for; until it comes, the last complete one is what counts.
                        DropStagingLocked(state);
                        state.Synced = false;
                        return DueLocked(state, now);
                    }

                    state.Sequence = sequence;
                    while (InterestGossip.TryReadEntry(ref entries, out var type, out var count, out var name, out _))
                    {
                        SetLocked(state, type, name.ToArray(), count);
                    }

                    return false;
                default:
                    return false;
            }
        }
    }

    /// <summary>Forgets the nodes not heard from for <paramref name="timeout"/> ms; returns how many.</summary>
    public int Expire(long now, long timeout)
    {
        lock (_lock)
        {
            List<string>? gone = null;
            foreach (var (id, state) in _nodes)
            {
                if (now - state.LastHeard > timeout)
                {
                    (gone ??= []).Add(id);
                }
                else if (state.Staged is { } staged && now - staged.Started > StagingTimeout)
                {
                    // A whole state that does not end holds nothing for long.
                    DropStagingLocked(state);
                    state.Synced = false;
                }
            }

            foreach (var id in gone ?? [])
            {
                RemoveLocked(id, _nodes[id]);
            }

            return gone?.Count ?? 0;
        }
    }

    private static bool DueLocked(Node state, long now)
    {
        if (now - state.LastRequest < RequestInterval)
        {
            return false;
        }

        state.LastRequest = now;
        return true;
    }

    /// <summary>Whether every entry of a message can be read: a malformed message is applied not at all.</summary>
    private static bool IsWellFormed(ReadOnlySpan<byte> entries)
    {
        while (InterestGossip.TryReadEntry(ref entries, out _, out _, out _, out _))
        {
        }

        return entries.IsEmpty;
    }

    /// <summary>
    /// Adds a snapshot part's (well-formed) entries to the staging. The bounds count what is really held:
    /// every node's tables and every staging, this node's old tables included until the end replaces them.
    /// </summary>
    private void StageLocked(Staging staged, ReadOnlySpan<byte> entries)
    {
        while (InterestGossip.TryReadEntry(ref entries, out var type, out var count, out var name, out _))
        {
            if (count == 0)
            {
                continue;
            }

            var table = staged.Table(type);
            if (table.GetAlternateLookup<ReadOnlySpan<byte>>().ContainsKey(name))
            {
                table[name.ToArray()] = count;
                continue;
            }

            var cost = Cost(type, name.Length);
            if (_entries + _stagedEntries + 1 > _maxEntries || _bytes + _stagedBytes + cost > _maxNameBytes)
            {
                Interlocked.Increment(ref _refused);
                continue;
            }

            table[name.ToArray()] = count;
            staged.Entries++;
            staged.Bytes += cost;
            _stagedEntries++;
            _stagedBytes += cost;
        }
    }

    /// <summary>Forgets the node's staging, if any, and frees its share of the staged counters.</summary>
    private void DropStagingLocked(Node state)
    {
        if (state.Staged is { } staged)
        {
            _stagedEntries -= staged.Entries;
            _stagedBytes -= staged.Bytes;
            state.Staged = null;
        }
    }

    /// <summary>What one entry counts in the byte bound.</summary>
    private static long Cost(byte type, int nameLength) => (long)nameLength + (type == InterestGossip.PatternEntry ? PatternEntryBytes : EntryBytes);

    /// <summary>The gossip's entry types, each a table of its own per node.</summary>
    private static readonly byte[] Types = [InterestGossip.ChannelEntry, InterestGossip.PatternEntry, InterestGossip.ShardChannelEntry];

    /// <summary>A complete snapshot: what the node held and is not in it goes, what is in it is set.</summary>
    private void ReplaceLocked(Node state, Staging staged)
    {
        foreach (var type in Types)
        {
            var replacement = staged.Table(type);
            foreach (var name in state.Table(type).Keys.Where(k => !replacement.ContainsKey(k)).ToList())
            {
                SetLocked(state, type, name, 0);
            }
        }

        foreach (var type in Types)
        {
            foreach (var (name, count) in staged.Table(type))
            {
                SetLocked(state, type, name, count);
            }
        }
    }

    private void RemoveLocked(string id, Node state)
    {
        DropStagingLocked(state);
        foreach (var type in Types)
        {
            foreach (var name in state.Table(type).Keys.ToList())
            {
                SetLocked(state, type, name, 0);
            }
        }

        _nodes.Remove(id);
        _nodeCount = _nodes.Count;
    }

    /// <summary>One node's count of one name; the sums follow.</summary>
    private void SetLocked(Node state, byte type, byte[] name, int count)
    {
        var table = state.Table(type);
        table.TryGetValue(name, out var old);
        if (old == count)
        {
            return;
        }

        if (old == 0)
        {
            var cost = Cost(type, name.Length);
            if (_entries + _stagedEntries + 1 > _maxEntries || _bytes + _stagedBytes + cost > _maxNameBytes)
            {
                Interlocked.Increment(ref _refused);
                return;
            }

            _entries++;
            _bytes += cost;
            table[name] = count;
        }
        else if (count == 0)
        {
            table.Remove(name);
            _entries--;
            _bytes -= Cost(type, name.Length);
        }
        else
        {
            table[name] = count;
        }

        var delta = count - old;
        if (type == InterestGossip.PatternEntry)
        {
            AdjustPatternLocked(name, delta);
        }
        else
        {
            var sums = type == InterestGossip.ShardChannelEntry ? _shardChannels : _channels;
            sums.TryGetValue(name, out var total);
            total += delta;
            if (total <= 0)
            {
                sums.TryRemove(name, out _);
            }
            else
            {
                sums[name] = total;
            }
        }
    }

    private void AdjustPatternLocked(byte[] pattern, int delta)
    {
        if (!_patterns.TryGetValue(pattern, out var entry))
        {
            if (delta <= 0)
            {
                return;
            }

            entry = PatternSubscription.ForRemote(pattern);
            entry.RemoteCount = delta;
            UnionChanged(pattern, 2, true);
            _patterns.Add(pattern, entry);
            _trieLock.EnterWriteLock();
            try
            {
                _trie.Add(entry);
            }
            finally
            {
                _trieLock.ExitWriteLock();
            }

            _patternCount = _patterns.Count;
            return;
        }

        var total = entry.RemoteCount + delta;
        if (total > 0)
        {
            Volatile.Write(ref entry.RemoteCount, total);
            return;
        }

        _patterns.Remove(pattern);
        _trieLock.EnterWriteLock();
        try
        {
            _trie.Remove(entry);
        }
        finally
        {
            _trieLock.ExitWriteLock();
        }

        Volatile.Write(ref entry.RemoteCount, 0);
        _patternCount = _patterns.Count;
        UnionChanged(pattern, 2, false);
    }

    private void UnionChanged(byte[] pattern, byte where, bool present)
    {
        lock (_unionLock)
        {
            _unionPatterns.TryGetValue(pattern, out var flags);
            flags = present ? (byte)(flags | where) : (byte)(flags & ~where);
            if (flags == 0)
            {
                _unionPatterns.Remove(pattern);
            }
            else
            {
                _unionPatterns[pattern] = flags;
            }
        }
    }

    /// <summary>One remote node, under the view's lock.</summary>
    private sealed class Node
    {
        public readonly Dictionary<byte[], int> Channels = new(ByteArrayComparer.Instance);
        public readonly Dictionary<byte[], int> Patterns = new(ByteArrayComparer.Instance);
        public readonly Dictionary<byte[], int> ShardChannels = new(ByteArrayComparer.Instance);

        /// <summary>The table of an entry type (<see cref="InterestGossip.ChannelEntry"/> and the others).</summary>
        public Dictionary<byte[], int> Table(byte type) => TableOf(type, Channels, Patterns, ShardChannels);

        /// <summary>The last sequence number taken from the node's stream.</summary>
        public ulong Sequence;

        /// <summary>The tables hold a complete snapshot and every delta after it.</summary>
        public bool Synced;

        /// <summary>A snapshot being received.</summary>
        public Staging? Staged;

        public long LastHeard;
        public long LastRequest = long.MinValue / 2;

        /// <summary>When the last whole state ended.</summary>
        public long SyncedAt;
    }

    /// <summary>A whole state being received: counted in the bounds' staged counters until it ends or is dropped.</summary>
    private sealed class Staging(long started)
    {
        public readonly long Started = started;
        public readonly Dictionary<byte[], int> Channels = new(ByteArrayComparer.Instance);
        public readonly Dictionary<byte[], int> Patterns = new(ByteArrayComparer.Instance);
        public readonly Dictionary<byte[], int> ShardChannels = new(ByteArrayComparer.Instance);
        public long Entries;
        public long Bytes;

        public Dictionary<byte[], int> Table(byte type) => TableOf(type, Channels, Patterns, ShardChannels);
    }

    private static Dictionary<byte[], int> TableOf(byte type, Dictionary<byte[], int> channels, Dictionary<byte[], int> patterns,
        Dictionary<byte[], int> shardChannels)
        => type switch
        {
            InterestGossip.PatternEntry => patterns,
            InterestGossip.ShardChannelEntry => shardChannels,
            _ => channels,
        };
}
