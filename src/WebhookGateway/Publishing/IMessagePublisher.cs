namespace Notistream.Gateway.Publishing;

/// <summary>Hands a message to the pub/sub server and reports only what the server confirmed.</summary>
internal interface IMessagePublisher
{
    /// <summary>True while a connection to the pub/sub server is up.</summary>
    bool IsConnected { get; }

    /// <summary>
    /// PUBLISHes <paramref name="message"/> on <paramref name="channel"/>. Never throws for a
    /// server that is down, slow or refusing: the outcome says so.
    /// </summary>
    Task<PublishOutcome> PublishAsync(string channel, ReadOnlyMemory<byte> message, string source);
}

internal enum PublishStatus
{
    /// <summary>The server replied to PUBLISH with the number of receivers.</summary>
    Published,

    /// <summary>No connection, the connection broke, or no reply in time: the caller must not report success.</summary>
    Unavailable,

    /// <summary>The server answered PUBLISH with an error (e.g. NOAUTH).</summary>
    Refused,

    /// <summary>The server's ACL does not let the gateway's user publish to this channel (NOPERM).</summary>
    Forbidden,
}

internal readonly record struct PublishOutcome(PublishStatus Status, long Receivers, string? Reason)
{
    public static PublishOutcome Published(long receivers) => new(PublishStatus.Published, receivers, null);

    public static PublishOutcome Unavailable(string reason) => new(PublishStatus.Unavailable, 0, reason);

    public static PublishOutcome Refused(string reason) => new(PublishStatus.Refused, 0, reason);

    public static PublishOutcome Forbidden(string reason) => new(PublishStatus.Forbidden, 0, reason);
}
