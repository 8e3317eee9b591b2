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

    /// <summary>
    /// Servers to move to, in order, after <see cref="Host"/> and <see cref="Port"/> (the first): "servers" in
    /// the config file, <c>--server a,b</c>. Empty: one server. Not with <see cref="Url"/>.
    /// </summary>
    public IReadOnlyList<ServerAddress> MoreServers { get; init; } = [];

    /// <summary>Gateways to move to, in order, after <see cref="Url"/>: <c>--url a,b</c>. Empty: one.</summary>
    public IReadOnlyList<Uri> MoreUrls { get; init; } = [];

    public string EndPointText => Url is { } url ? ConfigValidation.FormatUrl(url) : new ServerAddress(Host, Port).ToString();

    /// <summary>
    /// Each server (or gateway) to connect to, in order, as a config of its own with no others: the
    /// subscription moves to the next one when its connection ends or cannot be made.
    /// </summary>
    public IReadOnlyList<ClientConfig> Nodes
    {
        get
        {
            var one = this with { MoreServers = [], MoreUrls = [] };
            return Url is not null
                ? [one, .. MoreUrls.Select(url => one with { Url = url })]
                : [one, .. MoreServers.Select(server => one with { Host = server.Host, Port = server.Port })];
        }
    }
}

/// <summary>
/// One pub/sub server's address; an IPv6 host is written in brackets. Two are the same server when their
/// hosts match ignoring case and brackets, and their ports match (as the gateway compares its list).
/// </summary>
internal readonly record struct ServerAddress(string Host, int Port)
{
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    public bool Equals(ServerAddress other) =>
        Port == other.Port && string.Equals(Host?.Trim('[', ']'), other.Host?.Trim('[', ']'), StringComparison.OrdinalIgnoreCase);

    public override int GetHashCode() => HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(Host?.Trim('[', ']') ?? string.Empty), Port);
}
