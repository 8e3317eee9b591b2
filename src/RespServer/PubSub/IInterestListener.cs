namespace Notistream.RespServer.PubSub;

/// <summary>
/// Told when a channel gets its first subscriber or loses its last, and the same for a pattern (the
/// cluster link follows local interest with its NATS subscriptions). Called under the registry's write
/// lock: it must only note the name and return, never wait or do I/O.
/// </summary>
internal interface IInterestListener
{
    void ChannelInterestChanged(byte[] channel);

    void PatternInterestChanged(byte[] pattern);
}
