namespace Notistream.Gateway.Options;

/// <summary>
/// Web Push (RFC 8030, 8291, 8292), section <c>Gateway:WebPush</c> (<c>--WebPush:Subject</c>,
/// <c>Gateway__WebPush__Subject</c>): browsers and phones register a push subscription for channels
/// and get each message as a push, with the page closed. Off until <see cref="Subject"/> is set.
/// </summary>
internal sealed class WebPushOptions
{
    /// <summary>
    /// The contact RFC 8292 requires in every VAPID token, a <c>mailto:</c> or <c>https:</c> URL
    /// (push services write to it when something goes wrong). Unset: Web Push is off, its routes
    /// answer 404 and start-up logs why.
    /// </summary>
    public string? Subject { get; set; }

    /// <summary>
    /// The VAPID key pair (P-256), made on the first start and kept here (mode 0600). A relative path
    /// is taken from <c>$STATE_DIRECTORY</c> (systemd's <c>StateDirectory=</c>) when it is set,
    /// otherwise from the content root. Losing it means every browser has to subscribe again.
    /// </summary>
    public string KeyFile { get; set; } = "webpush-vapid.json";

    /// <summary>The registrations, so that a phone stays registered across restarts; relative as <see cref="KeyFile"/>.</summary>
    public string SubscriptionsFile { get; set; } = "webpush-subscriptions.json";

    /// <summary>Registrations kept at most; a new registration beyond it answers 409.</summary>
    public int MaxSubscriptions { get; set; } = 1000;

    /// <summary>Channels and patterns one registration may name.</summary>
    public int MaxChannelsPerSubscription { get; set; } = 32;

    /// <summary>
    /// How long a push service keeps a push for a device that is offline (the <c>TTL</c> header), in
    /// seconds; a day by default, like the server's default channel history. 0: deliver now or never.
    /// </summary>
    public int TimeToLiveSeconds { get; set; } = 86400;

    /// <summary>Messages waiting for one registration; beyond it the oldest is dropped and counted in the next push's <c>missed</c>.</summary>
    public int QueuePerSubscription { get; set; } = 16;

    /// <summary>Attempts after a push service's 429 before the message is given up (and counted as missed).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The longest wait a 429's Retry-After may ask for, in seconds; longer asks wait this long.</summary>
    public int MaxRetryAfterSeconds { get; set; } = 60;

    /// <summary>Pushes sent at the same time (to different registrations).</summary>
    public int Senders { get; set; } = 4;
}
