namespace Notistream.Gateway.Logging;

/// <summary>
/// Source-generated log messages of the gateway; event ids 3000–3099 belong to this project.
/// Message bodies are never logged: channel, size, receivers and source are.
/// </summary>
internal static partial class GatewayLog
{
    [LoggerMessage(3000, LogLevel.Information, "Published {Bytes} bytes to {Channel} from {Source}: {Receivers} receivers, id {Id}")]
    public static partial void Published(ILogger logger, string channel, int bytes, long receivers, string source, string id);

    [LoggerMessage(3003, LogLevel.Information, "The pub/sub server at {Server} does not know NOTI.PUBLISH: publishing with PUBLISH, answers carry no id")]
    public static partial void NoNotiPublish(ILogger logger, string server);

    [LoggerMessage(3001, LogLevel.Warning, "Not published to {Channel} from {Source}: {Reason}")]
    public static partial void PublishFailed(ILogger logger, string channel, string source, string reason);

    [LoggerMessage(3002, LogLevel.Warning, "Not published to {Channel} from {Source}: the pub/sub server refused the PUBLISH")]
    public static partial void PublishRefused(ILogger logger, string channel, string source, Exception exception);

    [LoggerMessage(3010, LogLevel.Information, "Connecting to the pub/sub server at {Server}")]
    public static partial void Connecting(ILogger logger, string server);

    [LoggerMessage(3011, LogLevel.Information, "Connected to the pub/sub server at {Server}")]
    public static partial void Connected(ILogger logger, string server);

    [LoggerMessage(3012, LogLevel.Warning, "The pub/sub server at {Server} is not reachable yet; publishing answers 503 until it is ({FailureType})")]
    public static partial void NotConnectedAtStart(ILogger logger, string server, string failureType);

    [LoggerMessage(3013, LogLevel.Warning, "Lost the connection to the pub/sub server at {EndPoint} ({FailureType}); reconnecting")]
    public static partial void ConnectionLost(ILogger logger, string? endPoint, string failureType, Exception? exception);

    [LoggerMessage(3014, LogLevel.Information, "Reconnected to the pub/sub server at {EndPoint}")]
    public static partial void ConnectionRestored(ILogger logger, string? endPoint);

    [LoggerMessage(3015, LogLevel.Warning, "The pub/sub server in use is {Server} now, instead of {Previous}: publishing and following move there")]
    public static partial void InUse(ILogger logger, string server, string previous);

    [LoggerMessage(3020, LogLevel.Warning, "GITHUB_WEBHOOK_SECRET is not set: POST /github refuses every delivery until it is")]
    public static partial void GitHubSecretMissing(ILogger logger);

    [LoggerMessage(3022, LogLevel.Warning, "{Deprecation}")]
    public static partial void DeprecatedVariable(ILogger logger, string deprecation);

    [LoggerMessage(3021, LogLevel.Warning, "No token (NOTISTREAM_TOKEN or Gateway:Tokens): anyone who reaches {Urls} can publish, subscribe and see the dashboard")]
    public static partial void NoTokenOnPublicAddress(ILogger logger, string urls);

    [LoggerMessage(3030, LogLevel.Warning, "GitHub delivery {Delivery} ({Event}) refused: {Reason}")]
    public static partial void GitHubRefused(ILogger logger, string? delivery, string? @event, string reason);

    [LoggerMessage(3031, LogLevel.Information, "GitHub delivery {Delivery} ({Event}) was already published; not publishing it again")]
    public static partial void GitHubDuplicate(ILogger logger, string delivery, string @event);

    [LoggerMessage(3032, LogLevel.Information, "GitHub delivery {Delivery} ({Event}, action {Action}) accepted but not published: {Reason}")]
    public static partial void GitHubIgnored(ILogger logger, string? delivery, string @event, string? action, string reason);

    [LoggerMessage(3033, LogLevel.Information, "GitHub delivery {Delivery} ({Event}) does not fit Octokit's model; summarised from the raw JSON instead")]
    public static partial void GitHubFallbackSummary(ILogger logger, string? delivery, string @event, Exception exception);
}
