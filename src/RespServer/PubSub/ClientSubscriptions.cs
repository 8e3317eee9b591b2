namespace Notistream.RespServer.PubSub;

internal enum SubscriptionKind
{
    Channel,
    Pattern,
    Shard,
}

/// <summary>
/// One client's own subscriptions (the reverse index), so that unsubscribing everything or a
/// disconnect touches only what this client holds. Adding or removing one name is O(1) (a hash
/// map from name to its subscription sequence number); the subscription order is rebuilt only for
/// unsubscribe-all, so a client holding a million names cannot make a single UNSUBSCRIBE or its
/// disconnect cost time proportional to what it holds per name. Changed only by the client's read loop;
/// the counts are read by other threads for CLIENT LIST, and the names (under <see cref="_lock"/>,
/// which every change takes) by ACL SETUSER deciding whether to close the client.
/// </summary>
internal sealed class ClientSubscriptions
{
    private readonly Dictionary<byte[], long> _channels = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], long> _patterns = new(ByteArrayComparer.Instance);
    private readonly Dictionary<byte[], long> _shard = new(ByteArrayComparer.Instance);
    private long _sequence;
    private readonly Lock _lock = new();
    private volatile int _channelCount;
    private volatile int _patternCount;
    private volatile int _shardCount;

    public int Channels => _channelCount;

    public int Patterns => _patternCount;

    public int ShardChannels => _shardCount;

    public int Total => _channelCount + _patternCount + _shardCount;

    /// <summary>The count Redis puts in a (un)subscribe confirmation of this kind:
    /// channels + patterns for the classic commands, shard channels for the S-commands.</summary>
    public int ConfirmationCount(SubscriptionKind kind) => kind == SubscriptionKind.Shard ? _shardCount : _channelCount + _patternCount;

    /// <summary>Records a new subscription locally; returns its key, or null when already subscribed.
    /// The caller then <see cref="Register"/>s it, after queuing the confirmation.</summary>
    public byte[]? TryAdd(SubscriptionKind kind, ReadOnlySpan<byte> name)
    {
        var key = name.ToArray();
        lock (_lock)
        {
            if (!Set(kind).TryAdd(key, ++_sequence))
            {
                return null;
            }

            UpdateCounts();
        }

        return key;
    }

    public static void Register(SubscriptionKind kind, ISubscriber subscriber, byte[] key, SubscriptionRegistry registry)
    {
        switch (kind)
        {
            case SubscriptionKind.Channel:
                registry.Subscribe(subscriber, key, shard: false);
                break;
            case SubscriptionKind.Shard:
                registry.Subscribe(subscriber, key, shard: true);
                break;
            default:
                registry.SubscribePattern(subscriber, key);
                break;
        }
    }

    public bool Remove(SubscriptionKind kind, ISubscriber subscriber, ReadOnlySpan<byte> name, SubscriptionRegistry registry)
    {
        var key = name.ToArray();
        lock (_lock)
        {
            if (!Set(kind).Remove(key))
            {
                return false;
            }

            UpdateCounts();
        }

        Unregister(kind, subscriber, key, registry);
        return true;
    }

    /// <summary>Names of this kind in subscription order (for unsubscribe-all).</summary>
    public byte[][] Names(SubscriptionKind kind)
    {
        lock (_lock)
        {
            return InOrder(Set(kind));
        }
    }

    /// <summary>Removes everything without confirmations (RESET, disconnect): the client's own maps are
    /// emptied in one step, then each name leaves the registry.</summary>
    public void RemoveAll(ISubscriber subscriber, SubscriptionRegistry registry)
    {
        byte[][] channels, patterns, shard;
        lock (_lock)
        {
            channels = InOrder(_channels);
            patterns = InOrder(_patterns);
            shard = InOrder(_shard);
            _channels.Clear();
            _patterns.Clear();
            _shard.Clear();
            _channels.TrimExcess();
            _patterns.TrimExcess();
            _shard.TrimExcess();
            UpdateCounts();
        }

        foreach (var name in channels)
        {
            Unregister(SubscriptionKind.Channel, subscriber, name, registry);
        }

        foreach (var name in patterns)
        {
            Unregister(SubscriptionKind.Pattern, subscriber, name, registry);
        }

        foreach (var name in shard)
        {
            Unregister(SubscriptionKind.Shard, subscriber, name, registry);
        }
    }

    /// <summary>The names of <paramref name="set"/> in subscription order.</summary>
    private static byte[][] InOrder(Dictionary<byte[], long> set)
    {
        var names = new byte[set.Count][];
        var order = new long[set.Count];
        var i = 0;
        foreach (var (name, sequence) in set)
        {
            names[i] = name;
            order[i++] = sequence;
        }

        Array.Sort(order, names);
        return names;
    }

    private static void Unregister(SubscriptionKind kind, ISubscriber subscriber, byte[] key, SubscriptionRegistry registry)
    {
        switch (kind)
        {
            case SubscriptionKind.Channel:
                registry.Unsubscribe(subscriber, key, shard: false);
                break;
            case SubscriptionKind.Shard:
                registry.Unsubscribe(subscriber, key, shard: true);
                break;
            default:
                registry.UnsubscribePattern(subscriber, key);
                break;
        }
    }

    private Dictionary<byte[], long> Set(SubscriptionKind kind) => kind switch
    {
        SubscriptionKind.Channel => _channels,
        SubscriptionKind.Pattern => _patterns,
        _ => _shard,
    };

    private void UpdateCounts()
    {
        _channelCount = _channels.Count;
        _patternCount = _patterns.Count;
        _shardCount = _shard.Count;
    }
}
