using System.Collections.Concurrent;
using Notistream.RespServer.Output;

namespace Notistream.RespServer.PubSub;

/// <summary>
/// The server-wide index of who listens to what, and the fan-out of PUBLISH.
/// <para>
/// Concurrency: subscribe and unsubscribe (any connection's read loop) take <see cref="_writeLock"/>;
/// publishers take no lock for exact channels (a concurrent dictionary whose values are
/// <see cref="SubscriberList"/>s, read without a lock) and a read lock on the pattern trie only when
/// patterns exist. Delivery happens outside every lock and only queues a reference to a pooled,
/// shared frame, so a slow subscriber never blocks a publisher and a publish allocates nothing. Per-connection bookkeeping (which channels a client has) lives with the client, so a
/// disconnect costs only that client's subscriptions.
/// </para>
/// </summary>
internal sealed class SubscriptionRegistry
{
    private readonly object _writeLock = new();
    private readonly ConcurrentDictionary<byte[], ChannelSubscribers> _channels = new(ByteArrayComparer.Instance);
    private readonly ConcurrentDictionary<byte[], ChannelSubscribers> _shardChannels = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], PatternSubscription> _patterns = new(ByteArrayComparer.Instance);
    private readonly ChannelTrie _trie = new();
    private readonly ReaderWriterLockSlim _trieLock = new(LockRecursionPolicy.NoRecursion);
    private volatile int _patternCount;

    [ThreadStatic]
    private static List<PatternSubscription>? t_matches;

    /// <summary>Distinct patterns with at least one subscriber (PUBSUB NUMPAT, INFO pubsub_patterns).</summary>
    public int PatternCount => _patternCount;

    /// <summary>Channels with at least one subscriber (INFO pubsub_channels).</summary>
    public int ChannelCount => _channels.Count;

    public int ShardChannelCount => _shardChannels.Count;

    /// <summary>
    /// Told of each channel's first subscriber and last unsubscribe, and each pattern's, under the write lock
    /// (the cluster link, docs/cluster.md); null when standalone. Set once at start-up.
    /// </summary>
    public IInterestListener? Interest { get; set; }

    public void Subscribe(ISubscriber subscriber, byte[] channel, bool shard)
    {
        var map = shard ? _shardChannels : _channels;
        lock (_writeLock)
        {
            if (!map.TryGetValue(channel, out var set))
            {
                set = new ChannelSubscribers(channel);
                map[channel] = set;
            }

            var before = set.Subscribers.Count - set.LocalOnly;
            var added = set.Subscribers.Add(subscriber);
            if (Interest is { } interest)
            {
                if (added && subscriber.LocalOnly)
                {
                    set.LocalOnly++;
                }

                interest.ChannelInterestChanged(set.Channel, Edge(before, set.Subscribers.Count - set.LocalOnly), shard);
            }
        }
    }

    public void Unsubscribe(ISubscriber subscriber, byte[] channel, bool shard)
    {
        var map = shard ? _shardChannels : _channels;
        lock (_writeLock)
        {
            if (!map.TryGetValue(channel, out var set))
            {
                return;
            }

            var before = set.Subscribers.Count - set.LocalOnly;
            var removed = set.Subscribers.Remove(subscriber);
            if (removed && Interest is not null && subscriber.LocalOnly)
            {
                set.LocalOnly--;
            }

            if (set.Subscribers.Count == 0)
            {
                map.TryRemove(channel, out _);
            }

            Interest?.ChannelInterestChanged(set.Channel, Edge(before, set.Subscribers.Count - set.LocalOnly), shard);
        }
    }

    public void SubscribePattern(ISubscriber subscriber, byte[] pattern)
    {
        lock (_writeLock)
        {
            if (!_patterns.TryGetValue(pattern, out var entry))
            {
                entry = new PatternSubscription(pattern);
                entry.Subscribers.Add(subscriber);
                if (Interest is not null && subscriber.LocalOnly)
                {
                    entry.LocalOnly++;
                }

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
                Interest?.PatternInterestChanged(pattern, presenceChanged: true, edge: !subscriber.LocalOnly);
                return;
            }

            var before = entry.Subscribers.Count - entry.LocalOnly;
            if (entry.Subscribers.Add(subscriber) && Interest is not null && subscriber.LocalOnly)
            {
                entry.LocalOnly++;
            }

            Interest?.PatternInterestChanged(entry.Pattern, presenceChanged: false, Edge(before, entry.Subscribers.Count - entry.LocalOnly));
        }
    }

    public void UnsubscribePattern(ISubscriber subscriber, byte[] pattern)
    {
        lock (_writeLock)
        {
            if (!_patterns.TryGetValue(pattern, out var entry))
            {
                return;
            }

            var before = entry.Subscribers.Count - entry.LocalOnly;
            if (entry.Subscribers.Remove(subscriber) && Interest is not null && subscriber.LocalOnly)
            {
                entry.LocalOnly--;
            }

            var edge = Edge(before, entry.Subscribers.Count - entry.LocalOnly);
            if (entry.Subscribers.Count > 0)
            {
                Interest?.PatternInterestChanged(entry.Pattern, presenceChanged: false, edge);
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

            _patternCount = _patterns.Count;
            Interest?.PatternInterestChanged(entry.Pattern, presenceChanged: true, edge);
        }
    }

    /// <summary>
    /// Whether the subscribers the other nodes count (not the <see cref="ISubscriber.LocalOnly"/> ones) went from
    /// none to some or back: only then may the node's NATS interest change. A NOTI.SUBSCRIBE follower that came
    /// first, or stays last, makes no edge of its own, and the SUBSCRIBE after it makes the one it needs.
    /// </summary>
    private static bool Edge(int before, int after) => (before > 0) != (after > 0);

    /// <summary>Whether a pattern has a subscriber now.</summary>
    public bool HasPattern(byte[] pattern)
    {
        lock (_writeLock)
        {
            return _patterns.ContainsKey(pattern);
        }
    }

    /// <summary>With nats-servers: a channel's (or shard channel's) subscribers now that the other nodes count (not the <see cref="ISubscriber.LocalOnly"/> ones).</summary>
    public int AdvertisedSubscriberCount(byte[] channel, bool shard = false)
    {
        lock (_writeLock)
        {
            return (shard ? _shardChannels : _channels).TryGetValue(channel, out var set) ? set.Subscribers.Count - set.LocalOnly : 0;
        }
    }

    /// <summary>With nats-servers: a pattern's subscribers now that the other nodes count (not the <see cref="ISubscriber.LocalOnly"/> ones).</summary>
    public int AdvertisedPatternSubscriberCount(byte[] pattern)
    {
        lock (_writeLock)
        {
            return _patterns.TryGetValue(pattern, out var entry) ? entry.Subscribers.Count - entry.LocalOnly : 0;
        }
    }

    /// <summary>Every channel, pattern and shard channel with its subscriber count now, less the <see cref="ISubscriber.LocalOnly"/> ones: the cluster's snapshot of this node.</summary>
    public (List<(byte[] Name, int Count)> Channels, List<(byte[] Name, int Count)> Patterns, List<(byte[] Name, int Count)> ShardChannels) InterestSnapshot()
    {
        lock (_writeLock)
        {
            var channels = new List<(byte[], int)>(_channels.Count);
            foreach (var (name, set) in _channels)
            {
                channels.Add((name, set.Subscribers.Count - set.LocalOnly));
            }

            var shardChannels = new List<(byte[], int)>(_shardChannels.Count);
            foreach (var (name, set) in _shardChannels)
            {
                shardChannels.Add((name, set.Subscribers.Count - set.LocalOnly));
            }

            var patterns = new List<(byte[], int)>(_patterns.Count);
            foreach (var (name, entry) in _patterns)
            {
                patterns.Add((name, entry.Subscribers.Count - entry.LocalOnly));
            }

            return (channels, patterns, shardChannels);
        }
    }

    /// <summary>
    /// PUBLISH: queues the message to the channel's subscribers, then to every subscriber of each
    /// matching pattern. Returns the receivers as Redis counts them (a client reached through a
    /// channel and two patterns counts three times).
    /// </summary>
    public long Publish(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, DeliveryBatch? batch = null)
    {
        long receivers = 0;
        if (_channels.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var set))
        {
            receivers += FanOut(set.Subscribers, "message"u8, default, false, channel, message, batch);
        }

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
            // Matched outside the lock: a candidate's pattern and subscriber list stay valid after a
            // concurrent PUNSUBSCRIBE (the list is then empty, or holds who is still subscribed).
            foreach (var match in matches)
            {
                if (GlobMatcher.IsMatch(match.Pattern, channel))
                {
                    receivers += FanOut(match.Subscribers, "pmessage"u8, match.Pattern, true, channel, message, batch);
                }
            }
        }
        finally
        {
            matches.Clear();
        }

        return receivers;
    }

    /// <summary>
    /// The receivers a PUBLISH to <paramref name="channel"/> would reach now, counted as <see cref="Publish"/>
    /// counts them, without delivering: a cluster's channel with history is delivered later, once JetStream
    /// has kept it (Cluster/SharedHistory.cs), and its PUBLISH answers this count.
    /// </summary>
    public long CountReceivers(ReadOnlySpan<byte> channel)
    {
        long receivers = _channels.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var set) ? set.Subscribers.Count : 0;
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
                    receivers += match.Subscribers.Count;
                }
            }
        }
        finally
        {
            matches.Clear();
        }

        return receivers;
    }

    /// <summary>
    /// A remote message that came through a channel's own NATS subscription: that channel's subscribers
    /// only (its pattern subscribers get the copy of their pattern's wildcard, <see cref="DeliverToPatterns"/>);
    /// with <paramref name="shard"/>, a shard channel's subscribers, as <see cref="PublishShard"/> does.
    /// </summary>
    public long DeliverToChannel(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, DeliveryBatch batch, bool shard = false)
        => shard
            ? PublishShard(channel, message, batch)
            : _channels.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var set)
                ? FanOut(set.Subscribers, "message"u8, default, false, channel, message, batch)
                : 0;

    /// <summary>
    /// A remote message that came through a pattern wildcard: the matching patterns whose wildcard scope is
    /// <paramref name="scope"/> (<see cref="Cluster.SubjectMapping.InScope"/>), or every matching pattern
    /// when null (the wildcard of long channels, which no other wildcard covers).
    /// </summary>
    public long DeliverToPatterns(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, DeliveryBatch batch, byte[]? scope)
    {
        if (_patternCount == 0)
        {
            return 0;
        }

        long receivers = 0;
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
                if ((scope is null || Cluster.SubjectMapping.InScope(match.Pattern, scope)) && GlobMatcher.IsMatch(match.Pattern, channel))
                {
                    receivers += FanOut(match.Subscribers, "pmessage"u8, match.Pattern, true, channel, message, batch);
                }
            }
        }
        finally
        {
            matches.Clear();
        }

        return receivers;
    }

    /// <summary>SPUBLISH: shard channels only, never patterns.</summary>
    public long PublishShard(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, DeliveryBatch? batch = null)
        => _shardChannels.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var set)
            ? FanOut(set.Subscribers, "smessage"u8, default, false, channel, message, batch)
            : 0;

    /// <summary>
    /// Offers one frame per subscriber, encoding it at most once per protocol into a pooled frame;
    /// each queue that keeps the frame holds its own reference, and ours is released at the end.
    /// </summary>
    private static long FanOut(SubscriberList list, ReadOnlySpan<byte> kind, ReadOnlySpan<byte> pattern, bool hasPattern,
        ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, DeliveryBatch? batch)
    {
        MessageFrame? resp2 = null, resp3 = null;
        long receivers = 0;

        // Before the list is read: an unsubscribing connection's confirmation waits for what this batch stages.
        batch?.BeginFanOut();
        try
        {
            foreach (var subscriber in list.Snapshot)
            {
                if (subscriber is null)
                {
                    continue;
                }

                var frame = subscriber.Protocol >= 3
                    ? resp3 ??= MessageFrames.Encode(kind, pattern, hasPattern, channel, message, true)
                    : resp2 ??= MessageFrames.Encode(kind, pattern, hasPattern, channel, message, false);
                subscriber.Deliver(frame, batch);
                receivers++;
            }
        }
        finally
        {
            resp2?.Release();
            resp3?.Release();
        }

        return receivers;
    }

    public int SubscriberCount(ReadOnlySpan<byte> channel, bool shard)
    {
        var map = shard ? _shardChannels : _channels;
        return map.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var set) ? set.Subscribers.Count : 0;
    }

    /// <summary>Active channel names (PUBSUB CHANNELS / SHARDCHANNELS), optionally filtered by a glob.</summary>
    public List<byte[]> ActiveChannels(ReadOnlySpan<byte> pattern, bool hasPattern, bool shard)
    {
        var result = new List<byte[]>();
        foreach (var (name, set) in shard ? _shardChannels : _channels)
        {
            if (set.Subscribers.Count > 0 && (!hasPattern || GlobMatcher.IsMatch(pattern, name)))
            {
                result.Add(name);
            }
        }

        return result;
    }

    /// <summary>Patterns a PUBLISH to <paramref name="channel"/> would test (trie candidates).</summary>
    internal int PatternCandidates(ReadOnlySpan<byte> channel)
    {
        _trieLock.EnterReadLock();
        try
        {
            return _trie.CandidateCount(channel);
        }
        finally
        {
            _trieLock.ExitReadLock();
        }
    }

    private sealed class ChannelSubscribers(byte[] channel)
    {
        public byte[] Channel { get; } = channel;

        public SubscriberList Subscribers { get; } = new();

        /// <summary>With nats-servers: how many of <see cref="Subscribers"/> are <see cref="ISubscriber.LocalOnly"/>; under the write lock.</summary>
        public int LocalOnly;
    }
}
