namespace Notistream.Client.Notifications;

internal enum Urgency
{
    Low,
    Normal,
    Critical,
}

/// <summary>What a backend shows: already sanitized and truncated, safe to hand to any of them.</summary>
/// <param name="Title">One line; the channel unless the message's JSON names a title.</param>
/// <param name="Body">Plain text, may span a few lines; ends with the URL when the message had one.</param>
/// <param name="Channel">The channel it came from (for backends that group by source).</param>
internal sealed record Notification(string Title, string Body, Urgency Urgency, string Channel, string? Url = null);
