namespace Notistream.RespServer.PubSub;

/// <summary>
/// One pattern and the subscribers to it. The subscriber list is changed under the registry's
/// write lock; publishers read it without a lock.
/// </summary>
internal sealed class PatternSubscription
{
    /// <summary>The list every <see cref="ForRemote"/> entry shares: never written, always empty.</summary>
    private static readonly SubscriberList NoSubscribers = new();

    public PatternSubscription(byte[] pattern)
        : this(pattern, new SubscriberList())
    {
    }

    private PatternSubscription(byte[] pattern, SubscriberList subscribers)
    {
        Pattern = pattern;
        PrefixLength = LiteralPrefixLength(pattern);
        Subscribers = subscribers;
    }

    public byte[] Pattern { get; }

    /// <summary>Length of the literal prefix: the bytes before the first glob metacharacter.</summary>
    public int PrefixLength { get; }

    /// <summary>Empty and shared, never to be written, in <see cref="ForRemote"/> entries.</summary>
    public SubscriberList Subscribers { get; }

    /// <summary>
    /// In the cluster's index of other nodes' patterns only (<see cref="Cluster.RemoteInterest"/>): the
    /// pattern's subscriptions on the other nodes, summed. Written under that index's lock, read by
    /// publishers without one. Always 0 in the registry's own index.
    /// </summary>
    public int RemoteCount;

    /// <summary>In the registry, with nats-servers: how many of <see cref="Subscribers"/> are <see cref="ISubscriber.LocalOnly"/>; under its write lock.</summary>
    public int LocalOnly;

    /// <summary>An entry of the cluster's index of other nodes' patterns: it has no local subscribers, so no list of its own.</summary>
    public static PatternSubscription ForRemote(byte[] pattern) => new(pattern, NoSubscribers);

    public static int LiteralPrefixLength(ReadOnlySpan<byte> pattern)
    {
        var i = pattern.IndexOfAny("*?[\\"u8);
        return i < 0 ? pattern.Length : i;
    }
}
