namespace Notistream.Client.Subscriptions;

/// <summary>
/// How the client keeps its one connection alive. The defaults suit a laptop on flaky wifi; the
/// config file may change them (tests make them short).
/// </summary>
internal sealed record ConnectionSettings
{
    public static ConnectionSettings Default { get; } = new();

    /// <summary>
    /// A PING goes to the server on the subscription connection this often. Default 10 s: with
    /// <see cref="KeepAliveTimeout"/> a dead connection (wifi switched, laptop resumed) is noticed
    /// within 20 s, well inside the 30 s the client promises, at one small frame per 10 s.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a PING may go unanswered before the connection is declared dead. Default 10 s.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First reconnect delay (before jitter). Default 1 s, doubling per failed attempt.</summary>
    public TimeSpan ReconnectMinDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap on the reconnect delay. Default 30 s: a server back after a restart is found within half a minute.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one connection attempt (TCP connect + handshake) may take. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
