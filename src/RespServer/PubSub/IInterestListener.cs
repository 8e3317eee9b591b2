namespace Notistream.RespServer.PubSub;

/// <summary>
/// Told of every change of a channel's, a shard channel's or a pattern's subscriber count (the cluster link follows local
/// interest with its NATS subscriptions, and tells the other nodes the counts). <c>edge</c> is true when
/// the name got its first subscriber that the other nodes count, or lost its last (NOTI.SUBSCRIBE
/// followers are not counted there: <see cref="ISubscriber.LocalOnly"/>). Called under the registry's write
/// lock: it must only note the name and return, never wait or do I/O.
/// </summary>
internal interface IInterestListener
{
    /// <summary>A channel's count changed; <paramref name="shard"/>: a shard channel's (SSUBSCRIBE).</summary>
    void ChannelInterestChanged(byte[] channel, bool edge, bool shard);

    /// <summary>A pattern's count changed; <paramref name="presenceChanged"/>: it got its first subscriber of any kind, or lost its last.</summary>
    void PatternInterestChanged(byte[] pattern, bool presenceChanged, bool edge);
}
