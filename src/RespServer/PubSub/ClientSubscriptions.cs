namespace Notistream.RespServer.PubSub;

internal enum SubscriptionKind
{
    Channel,
    Pattern,
    Shard,
}

/// <summary>
/// One client's own subscriptions (the reverse index), so that unsubscribing everything or a
/// disconnect touches only what this client holds. Changed only by the client's read loop;
/// the counts are read by other threads for CLIENT LIST, and the names (under <see cref="_lock"/>,
/// which every change takes) by ACL SETUSER deciding whether to close the client.
/// </summary>
internal sealed class ClientSubscriptions
{
    private readonly OrderedDictionary<byte[], bool> _channels = new(ByteArrayComparer.Instance);
    private readonly OrderedDictionary<byte[], bool> _patterns = new(ByteArrayComparer.Instance);
    private readonly OrderedDictionary<byte[], bool> _shard = new(ByteArrayComparer.Instance);
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
            if (!Set(kind).TryAdd(key, true))
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
            return [.. Set(kind).Keys];
        }
    }

    /// <summary>Removes everything without confirmations (RESET, disconnect).</summary>
    public void RemoveAll(ISubscriber subscriber, SubscriptionRegistry registry)
    {
        foreach (var kind in (ReadOnlySpan<SubscriptionKind>)[SubscriptionKind.Channel, SubscriptionKind.Pattern, SubscriptionKind.Shard])
        {
            foreach (var name in Names(kind))
            {
                lock (_lock)
                {
                    Set(kind).Remove(name);
                    UpdateCounts();
                }

                Unregister(kind, subscriber, name, registry);
            }
        }
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

    private OrderedDictionary<byte[], bool> Set(SubscriptionKind kind) => kind switch
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
