using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// A channel as the link knows it: its name and whether it is a shard channel (SSUBSCRIBE, SPUBLISH). A
/// shard channel and a channel of the same name are two channels: two subjects (docs/cluster.md#subjects),
/// two numberings, two NATS subscriptions, two counts in the gossip.
/// </summary>
internal readonly record struct ChannelKey(byte[] Name, bool Shard)
{
    /// <summary>Compares the names' bytes, and the kinds: the same as the key's own equality.</summary>
    public static readonly IEqualityComparer<ChannelKey> Comparer = EqualityComparer<ChannelKey>.Default;

    /// <summary>The names' bytes and the kinds, never the arrays' identity.</summary>
    public bool Equals(ChannelKey other) => Shard == other.Shard && ByteArrayComparer.Instance.Equals(Name, other.Name);

    public override int GetHashCode() => ByteArrayComparer.Instance.GetHashCode(Name) ^ (Shard ? 0x5bd1e995 : 0);
}
