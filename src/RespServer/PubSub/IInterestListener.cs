namespace Notistream.RespServer.PubSub;

/// <summary>
/// Told of every change of a channel's or a pattern's subscriber count (the cluster link follows local
/// interest with its NATS subscriptions, and tells the other nodes the counts). <c>edge</c> is true when
/// the name got its first subscriber or lost its last. Called under the registry's write lock: it must
/// only note the name and return, never wait or do I/O.
/// </summary>
internal interface IInterestListener
{
    void ChannelInterestChanged(byte[] channel, bool edge);

    void PatternInterestChanged(byte[] pattern, bool edge);
}
