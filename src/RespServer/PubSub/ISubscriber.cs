namespace Notistream.RespServer.PubSub;

/// <summary>
/// Something that receives published frames: a client connection, or an in-memory sink in tests
/// and benchmarks. <see cref="Deliver"/> is called from any publisher's thread and must never block.
/// </summary>
internal interface ISubscriber
{
    /// <summary>2 or 3: which encoding of a message this subscriber takes (may change with HELLO).</summary>
    int Protocol { get; }

    /// <summary>Queues a complete pre-encoded frame; the bytes are shared with other subscribers and must not be modified.</summary>
    void Deliver(byte[] frame);
}
