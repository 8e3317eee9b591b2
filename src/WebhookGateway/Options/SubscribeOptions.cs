namespace Notistream.Gateway.Options;

/// <summary>
/// Limits of subscribing over HTTP (<c>GET /{channels}/json|sse|raw|ws</c>), section <c>Gateway:Subscribe</c>
/// (<c>--Subscribe:MaxSubscribers 200</c>, <c>Gateway__Subscribe__MaxSubscribers</c>). Each subscriber holds
/// one connection to the pub/sub server and at most <see cref="QueueLength"/> events in memory.
/// </summary>
internal sealed class SubscribeOptions
{
    /// <summary>HTTP subscribers at once; one more is answered 429.</summary>
    public int MaxSubscribers { get; set; } = 100;

    /// <summary>Channels and patterns one request may list.</summary>
    public int MaxChannels { get; set; } = 32;

    /// <summary>Longest request target (path and query) in bytes; a longer one is answered 414.</summary>
    public int MaxUrlBytes { get; set; } = 4096;

    /// <summary>Events read from the server and not yet written to the HTTP client, per subscriber.</summary>
    public int QueueLength { get; set; } = 256;

    /// <summary>How long the queue may stay full before the subscriber is cut off as too slow.</summary>
    public int SlowConsumerTimeoutMilliseconds { get; set; } = 10_000;

    /// <summary>A <c>keepalive</c> event after this many seconds without output (ntfy sends one every 45 s).</summary>
    public double KeepaliveSeconds { get; set; } = 30;
}
