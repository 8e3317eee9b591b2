using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Config;

/// <summary>What the config file holds (and what command-line options override).</summary>
internal sealed record ClientConfig
{
    public const string DefaultHost = "localhost";
    public const int DefaultPort = 6379;

    public string Host { get; init; } = DefaultHost;

    public int Port { get; init; } = DefaultPort;

    public IReadOnlyList<ChannelSpec> Channels { get; init; } = [];

    /// <summary>
    /// The gateway's base URL (<c>https://host[:port][/prefix]</c>): subscribe over HTTP, to its <c>/json</c>
    /// stream, instead of RESP to <see cref="Host"/> and <see cref="Port"/>; null: RESP.
    /// </summary>
    public Uri? Url { get; init; }

    /// <summary>The ACL user to authenticate as, with <see cref="Password"/>; null for the default user.</summary>
    public string? User { get; init; }

    /// <summary>The server's <c>requirepass</c> (or the user's password); null when the server needs none.</summary>
    public string? Password { get; init; }

    public NotifierKind Notifier { get; init; } = NotifierKind.Auto;

    /// <summary>TLS to the server: "tls", "caFile", "certFile", "keyFile" in the config file.</summary>
    public TlsSettings Tls { get; init; } = TlsSettings.Off;

    public ConnectionSettings Connection { get; init; } = ConnectionSettings.Default;

    public string EndPointText => Url is { } url ? ConfigValidation.FormatUrl(url)
        : Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
