namespace Notistream.RespServer.PubSub;

/// <summary>
/// One pattern and the subscribers to it. The subscriber list is changed under the registry's
/// write lock; publishers read it without a lock.
/// </summary>
internal sealed class PatternSubscription(byte[] pattern)
{
    public byte[] Pattern { get; } = pattern;

    /// <summary>Length of the literal prefix: the bytes before the first glob metacharacter.</summary>
    public int PrefixLength { get; } = LiteralPrefixLength(pattern);

    public SubscriberList Subscribers { get; } = new();

    /// <summary>
    /// In the cluster's index of other nodes' patterns only (<see cref="Cluster.RemoteInterest"/>): the
    /// pattern's subscriptions on the other nodes, summed. Written under that index's lock, read by
    /// publishers without one. Always 0 in the registry's own index.
    /// </summary>
    public int RemoteCount;

    public static int LiteralPrefixLength(ReadOnlySpan<byte> pattern)
    {
        var i = pattern.IndexOfAny("*?[\\"u8);
        return i < 0 ? pattern.Length : i;
    }
}
