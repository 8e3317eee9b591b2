namespace Notistream.Client.Subscriptions;

/// <summary>One message as it came off the subscription.</summary>
/// <param name="Channel">The channel it was published on.</param>
/// <param name="Pattern">The pattern that matched it, for PSUBSCRIBE subscriptions; otherwise null.</param>
/// <param name="Payload">The message, decoded as UTF-8 (invalid bytes become U+FFFD).</param>
internal sealed record IncomingMessage(string Channel, string? Pattern, string Payload, DateTimeOffset ReceivedAt);

/// <summary>Takes messages from the subscription. Never blocks: the socket's reader must keep reading.</summary>
internal interface IMessageTarget
{
    void Post(IncomingMessage message);
}
