namespace Notistream.Gateway.Subscribing;

/// <summary>Log lines of HTTP subscribers, event ids 3100–3109: channels and formats, never a message.</summary>
internal static partial class SubscribeLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "HTTP subscriber ({Format}) on {Topics} from {From}")]
    public static partial void Opened(ILogger logger, string format, string topics, string from);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "HTTP subscriber ({Format}) on {Topics} ended: {Reason}")]
    public static partial void Ended(ILogger logger, string format, string topics, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "HTTP subscriber ({Format}) on {Topics} {Reason}")]
    public static partial void CutOff(ILogger logger, string format, string topics, string reason);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "HTTP subscriber refused: {Reason}")]
    public static partial void Refused(ILogger logger, string reason);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "HTTP subscriber on {Topics}: lost the pub/sub server at {From} ({Reason}); following from {Cursor} through {To}")]
    public static partial void Moved(ILogger logger, string topics, string from, string reason, string cursor, string to);
}
