namespace Notistream.Gateway.Publishing;

/// <summary>Hands a message to the pub/sub server and reports only what the server confirmed.</summary>
internal interface IMessagePublisher
{
    /// <summary>True while a connection to the pub/sub server is up.</summary>
    bool IsConnected { get; }

    /// <summary>
    /// True while the connection to the server publishing goes to now is up (readiness); with one server,
    /// <see cref="IsConnected"/>.
    /// </summary>
    bool IsInUseConnected => IsConnected;

    /// <summary>
    /// Publishes <paramref name="message"/> on <paramref name="channel"/> (NOTI.PUBLISH, or PUBLISH on a
    /// server without it). Never throws for a server that is down, slow or refusing: the outcome says so.
    /// </summary>
    Task<PublishOutcome> PublishAsync(string channel, ReadOnlyMemory<byte> message, string source);
}

internal enum PublishStatus
{
    /// <summary>The server replied with the number of receivers (and, with NOTI.PUBLISH, the message's id).</summary>
    Published,

    /// <summary>No connection, the connection broke, or no reply in time: the caller must not report success.</summary>
    Unavailable,

    /// <summary>The server answered PUBLISH with an error (e.g. NOAUTH).</summary>
    Refused,

    /// <summary>The server's ACL does not let the gateway's user publish to this channel (NOPERM).</summary>
    Forbidden,
}

/// <param name="Id">The id of the message in the channel's history ("ms-seq"); null when the server keeps none for it or has no NOTI.PUBLISH.</param>
internal readonly record struct PublishOutcome(PublishStatus Status, long Receivers, string? Reason, string? Id = null)
{
    public static PublishOutcome Published(long receivers, string? id = null) => new(PublishStatus.Published, receivers, null, id);

    public static PublishOutcome Unavailable(string reason) => new(PublishStatus.Unavailable, 0, reason);

    public static PublishOutcome Refused(string reason) => new(PublishStatus.Refused, 0, reason);

    public static PublishOutcome Forbidden(string reason) => new(PublishStatus.Forbidden, 0, reason);
}
