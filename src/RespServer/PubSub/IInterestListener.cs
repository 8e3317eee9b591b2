namespace Notistream.RespServer.PubSub;

/// <summary>
/// Told of every change of a channel's, a shard channel's or a pattern's subscriber count (the cluster link follows local
/// interest with its NATS subscriptions, and tells the other nodes the counts). <c>edge</c> is true when
/// the name got its first subscriber or lost its last. Called under the registry's write lock: it must
/// only note the name and return, never wait or do I/O.
/// </summary>
internal interface IInterestListener
{
    /// <summary>A channel's count changed; <paramref name="shard"/>: a shard channel's (SSUBSCRIBE).</summary>
    void ChannelInterestChanged(byte[] channel, bool edge, bool shard);

    void PatternInterestChanged(byte[] pattern, bool edge);
}
