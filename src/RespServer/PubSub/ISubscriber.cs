using Notistream.RespServer.Output;

namespace Notistream.RespServer.PubSub;

/// <summary>
/// Something that receives published frames: a client connection, or an in-memory sink in tests
/// and benchmarks. <see cref="Deliver"/> is called from any publisher's thread and must never block.
/// </summary>
internal interface ISubscriber
{
    /// <summary>2 or 3: which encoding of a message this subscriber takes (may change with HELLO).</summary>
    int Protocol { get; }

    /// <summary>
    /// Offers a complete pre-encoded frame shared with other subscribers. A subscriber that keeps it
    /// past the call takes its own reference (<see cref="MessageFrame.AddRef"/>) and releases it when
    /// done; the bytes must not be modified. <paramref name="batch"/> is the publishing connection's
    /// batch, where a connection stages the delivery; null outside a connection (tests, benchmarks).
    /// </summary>
    void Deliver(MessageFrame frame, DeliveryBatch? batch);

    /// <summary>
    /// Counted on this node only, never told to the other nodes of a cluster (a NOTI.SUBSCRIBE follower:
    /// it reads this node's history, so what is published on another node never reaches it). Read under
    /// the registry's write lock, with nats-servers only.
    /// </summary>
    bool LocalOnly => false;
}
