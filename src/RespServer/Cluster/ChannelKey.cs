using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// A channel as the link knows it: its name and whether it is a shard channel (SSUBSCRIBE, SPUBLISH). A
/// shard channel and a channel of the same name are two channels: two subjects (docs/cluster.md#subjects),
/// two numberings, two NATS subscriptions, two counts in the gossip.
/// </summary>
internal readonly record struct ChannelKey(byte[] Name, bool Shard)
{
    /// <summary>Compares the names' bytes, and the kinds.</summary>
    public static readonly IEqualityComparer<ChannelKey> Comparer = new KeyComparer();

    private sealed class KeyComparer : IEqualityComparer<ChannelKey>
    {
        public bool Equals(ChannelKey x, ChannelKey y) => x.Shard == y.Shard && ByteArrayComparer.Instance.Equals(x.Name, y.Name);

        public int GetHashCode(ChannelKey key) => ByteArrayComparer.Instance.GetHashCode(key.Name) ^ (key.Shard ? 0x5bd1e995 : 0);
    }
}
