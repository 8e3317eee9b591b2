namespace Notistream.Gateway.WebPush;

/// <summary>Web Push's log messages, event ids 3100–3149. Endpoints are logged by origin only (the path identifies a browser); message bodies never.</summary>
internal static partial class WebPushLog
{
    [LoggerMessage(3200, LogLevel.Information, "Web Push is off: set WebPush:Subject (a mailto: address or https: URL, RFC 8292) to turn it on")]
    public static partial void Off(ILogger logger);

    [LoggerMessage(3201, LogLevel.Information, "Web Push is on: {Registrations} registrations, VAPID keys in {KeyFile}{Created}")]
    public static partial void On(ILogger logger, int registrations, string keyFile, string created);

    [LoggerMessage(3202, LogLevel.Information, "Web Push registration {Change} for {Origin}: {Channels}")]
    public static partial void Registered(ILogger logger, string change, string origin, string channels);

    [LoggerMessage(3203, LogLevel.Information, "Web Push registration removed for {Origin}: {Reason}")]
    public static partial void Removed(ILogger logger, string origin, string reason);

    [LoggerMessage(3204, LogLevel.Warning, "Web Push to {Origin} failed for {Channel}: {Reason}; counted as missed")]
    public static partial void SendFailed(ILogger logger, string origin, string channel, string reason);

    [LoggerMessage(3205, LogLevel.Information, "Web Push to {Origin} throttled (429): retrying in {Seconds} s, attempt {Attempt}")]
    public static partial void Throttled(ILogger logger, string origin, int seconds, int attempt);

    [LoggerMessage(3206, LogLevel.Warning, "Web Push could not {Action} {Channel} on the pub/sub server: {Reason}; trying again")]
    public static partial void SubscribeFailed(ILogger logger, string action, string channel, string reason);

    [LoggerMessage(3207, LogLevel.Warning, "Web Push is behind: {Dropped} messages from the pub/sub server dropped so far, the incoming queue being full")]
    public static partial void IncomingDropped(ILogger logger, long dropped);

    [LoggerMessage(3208, LogLevel.Debug, "Web Push to {Origin} for {Channel}: {Status}")]
    public static partial void Sent(ILogger logger, string origin, string channel, int status);

    [LoggerMessage(3209, LogLevel.Warning, "Web Push follows with SUBSCRIBE until the gateway restarts, the server having refused NOTI.SUBSCRIBE ({Reason}): what is published while the gateway is away will not be pushed")]
    public static partial void FollowRefused(ILogger logger, string reason);

    [LoggerMessage(3210, LogLevel.Warning, "Web Push lost its pub/sub server connection ({Reason}): following again from its last position in {Seconds} s")]
    public static partial void FollowInterrupted(ILogger logger, string reason, int seconds);

    [LoggerMessage(3211, LogLevel.Warning, "Web Push's position file {File} is unreadable: starting from the messages published from now on")]
    public static partial void CursorUnreadable(ILogger logger, string file);

    [LoggerMessage(3212, LogLevel.Warning, "Web Push could not write its position to {File} ({Reason}): a restart will push some messages again")]
    public static partial void CursorNotSaved(ILogger logger, string file, string reason);

    /// <summary>The scheme, host and port of a push endpoint: enough to tell the services apart, not the browsers.</summary>
    public static string Origin(string endpoint) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Authority) : "?";

    [LoggerMessage(3213, LogLevel.Debug, "Web Push follows its channels on the pub/sub server at {Server} from {Cursor}")]
    public static partial void Following(ILogger logger, string server, string cursor);

    [LoggerMessage(3214, LogLevel.Warning, "Web Push lost the pub/sub server at {Server} ({Reason}): following from its last position on the next server")]
    public static partial void FollowMoved(ILogger logger, string server, string reason);
}
