namespace Notistream.Gateway.Subscribing;

/// <summary>What a subscription hands from the server connection to the HTTP writer: a message or a gap.</summary>
/// <param name="Id">The message's NOTI.SUBSCRIBE id (<c>ms-seq</c>); null for a gap.</param>
/// <param name="Channel">The message's channel, or the gap's channel (or pattern, see <paramref name="Pattern"/>).</param>
/// <param name="Pattern">The pattern that matched a message; for a gap reported on a pattern, that pattern.</param>
/// <param name="Payload">The message's bytes; null for a gap.</param>
/// <param name="Missed">A gap's count of lost messages; null when unknown.</param>
internal sealed record SubscriptionEvent(string? Id, string Channel, string? Pattern, byte[]? Payload, long? Missed)
{
    public bool IsGap => Payload is null && !IsCaughtUp;

    /// <summary>The catch-up (what history held after the cursor) has been read: what follows is live.</summary>
    public bool IsCaughtUp { get; private init; }

    public static SubscriptionEvent CaughtUpMarker { get; } = new(null, string.Empty, null, null, null) { IsCaughtUp = true };

    /// <summary>The id's milliseconds, or 0 for a gap.</summary>
    public long Milliseconds => Id is { } id && long.TryParse(id.AsSpan(0, id.IndexOf('-') is var dash and >= 0 ? dash : id.Length),
        System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms) ? ms : 0;

    public static SubscriptionEvent Message(string id, string channel, string? pattern, byte[] payload) => new(id, channel, pattern, payload, null);

    public static SubscriptionEvent Gap(string subject, bool isPattern, long? missed) => new(null, subject, isPattern ? subject : null, null, missed);
}
