using Notistream.Client.Resume;

namespace Notistream.Client.Subscriptions;

/// <summary>What an <see cref="IncomingMessage"/> is.</summary>
internal enum IncomingKind
{
    /// <summary>A message published on a followed channel.</summary>
    Message,

    /// <summary>
    /// The server's history no longer reaches back to where the client resumes from: <see cref="IncomingMessage.Missed"/>
    /// messages (null: an unknown number) on <see cref="IncomingMessage.Channel"/> (or on the channels of
    /// <see cref="IncomingMessage.Pattern"/>) are lost. Comes before that channel's first message after the gap.
    /// </summary>
    Gap,

    /// <summary>The catch-up after a (re)connect has been read: what follows is live. Carries no message.</summary>
    CaughtUp,
}

/// <summary>One message as it came off the subscription, or a gap notice, or the end of a catch-up.</summary>
/// <param name="Channel">The channel it was published on (for a gap on a pattern: null).</param>
/// <param name="Pattern">The pattern that matched it, for pattern subscriptions; otherwise null.</param>
/// <param name="Payload">The message, decoded as UTF-8 (invalid bytes become U+FFFD); for a gap, the notice.</param>
internal sealed record IncomingMessage(string Channel, string? Pattern, string Payload, DateTimeOffset ReceivedAt)
{
    public IncomingKind Kind { get; init; } = IncomingKind.Message;

    /// <summary>The id of the message in its channel's history (NOTI.SUBSCRIBE); null from a plain SUBSCRIBE.</summary>
    public MessageId? Id { get; init; }

    /// <summary>It was published while the client was away: its id is at most the server's last id when the client subscribed.</summary>
    public bool CatchUp { get; init; }

    /// <summary>For a gap: how many messages history no longer holds; null when the server cannot tell.</summary>
    public long? Missed { get; init; }

    /// <summary>For a gap: the channel or pattern it concerns, as the server named it.</summary>
    public string Subject => Pattern ?? Channel;

    public static IncomingMessage Gap(string subject, bool isPattern, long? missed, DateTimeOffset at) =>
        new(isPattern ? string.Empty : subject, isPattern ? subject : null, GapText(subject, missed), at)
        {
            Kind = IncomingKind.Gap,
            Missed = missed,
        };

    public static IncomingMessage CaughtUpMarker(DateTimeOffset at) =>
        new(string.Empty, null, string.Empty, at) { Kind = IncomingKind.CaughtUp };

    /// <summary>"history no longer covers 400 messages on owner/repo" / "… an unknown number of messages …".</summary>
    public static string GapText(string subject, long? missed) => missed switch
    {
        null => $"history no longer covers an unknown number of messages on {subject}",
        1 => $"history no longer covers 1 message on {subject}",
        _ => $"history no longer covers {missed} messages on {subject}",
    };
}

/// <summary>Takes messages from the subscription.</summary>
internal interface IMessageTarget
{
    /// <summary>Never blocks: the socket's reader must keep reading (a full output drops its oldest message).</summary>
    void Post(IncomingMessage message);

    /// <summary>
    /// Waits while an output is full instead of dropping: used when the server keeps history, so a
    /// slow reader only makes the server hold the messages (or lets the connection drop and resume).
    /// </summary>
    ValueTask PostAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        Post(message);
        return ValueTask.CompletedTask;
    }
}
