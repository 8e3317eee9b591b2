using System.Text.Json.Serialization;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// One browser's push subscription and the channels it asked for: what <c>POST /v1/webpush</c>
/// registered and the subscriptions file keeps. Immutable; registering the same endpoint again replaces it.
/// </summary>
/// <param name="Endpoint">the push service URL the browser got from <c>pushManager.subscribe</c></param>
/// <param name="P256dh">the browser's P-256 public key, base64url (65 bytes decoded)</param>
/// <param name="Auth">the browser's authentication secret, base64url (16 bytes decoded)</param>
/// <param name="Channels">channel names and Redis glob patterns, each at most once</param>
internal sealed record WebPushRegistration(
    [property: JsonPropertyName("endpoint")] string Endpoint,
    [property: JsonPropertyName("p256dh")] string P256dh,
    [property: JsonPropertyName("auth")] string Auth,
    [property: JsonPropertyName("channels")] IReadOnlyList<string> Channels)
{
    /// <summary>
    /// When it was registered (Unix milliseconds): messages published before are not pushed to it, so a new
    /// registration is not sent the history that following it reads again. 0 in files of earlier versions.
    /// </summary>
    [JsonPropertyName("since")]
    public long Since { get; init; }

    /// <summary>Whether <paramref name="channel"/> is a pattern (subscribed with PSUBSCRIBE) rather than one channel.</summary>
    public static bool IsPattern(string channel) => channel.AsSpan().IndexOfAny('*', '?', '[') >= 0;
}
