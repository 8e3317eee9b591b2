using System.Net.Sockets;
using StackExchange.Redis;

namespace Notistream.Client.Subscriptions;

/// <summary>
/// The one place that turns a connection failure into a short reason a person understands
/// ("connection refused", "the server requires a password"), for status lines and the setup check.
/// </summary>
internal static class ConnectionErrors
{
    /// <summary>A TLS connection the server closed right after the handshake: with Redis and ours, a missing or refused client certificate.</summary>
    public const string TlsClosedByServer =
        "the server closed the TLS connection (does it require a client certificate? give --cert and --key)";

    public static string Describe(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                return Describe(socket.SocketErrorCode, socket.Message);
            }

            if (e is System.Security.Authentication.AuthenticationException tls)
            {
                return tls.Message.Contains("remote certificate", StringComparison.OrdinalIgnoreCase)
                    ? "the server's TLS certificate is not trusted (is it issued by the CA in --ca-file / caFile, for this host name?)"
                    : $"the TLS handshake failed: {FirstLine(tls.Message)}";
            }
        }

        var text = AllMessages(exception);
        if (text.Contains(TlsClosedByServer, StringComparison.Ordinal))
        {
            return TlsClosedByServer;
        }

        if (text.Contains("NOAUTH", StringComparison.OrdinalIgnoreCase))
        {
            return "the server requires a password";
        }

        if (text.Contains("WRONGPASS", StringComparison.OrdinalIgnoreCase)
            || text.Contains("invalid password", StringComparison.OrdinalIgnoreCase)
            || text.Contains("invalid username-password", StringComparison.OrdinalIgnoreCase))
        {
            return "the server refused the password";
        }

        if (text.Contains("without any password configured", StringComparison.OrdinalIgnoreCase))
        {
            return "a password was given but the server has none set";
        }

        return exception switch
        {
            RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure } => "authentication failed",
            RedisConnectionException { FailureType: ConnectionFailureType.UnableToConnect or ConnectionFailureType.UnableToResolvePhysicalConnection }
                => "no connection could be made (is the server running and the port right?)",
            TimeoutException or RedisTimeoutException => "no answer in time",
            RedisConnectionException rce => $"connection failed ({rce.FailureType})",
            _ => FirstLine(exception.Message),
        };
    }

    public static string Describe(ConnectionFailedEventArgs e) =>
        e.Exception is { } ex && Describe(ex) is var fromException && !fromException.StartsWith("connection failed", StringComparison.Ordinal)
            ? fromException
            : e.FailureType switch
            {
                ConnectionFailureType.SocketClosed => "the server closed the connection",
                ConnectionFailureType.SocketFailure => "the connection failed",
                ConnectionFailureType.ConnectionDisposed => "the connection was closed",
                _ => $"connection failed ({e.FailureType})",
            };

    public static string Describe(SocketError error, string fallback) => error switch
    {
        SocketError.ConnectionRefused => "connection refused (nothing listening on that port)",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
        SocketError.TimedOut => "timed out",
        SocketError.NetworkUnreachable or SocketError.NetworkDown => "network unreachable",
        SocketError.HostUnreachable or SocketError.HostDown => "host unreachable",
        SocketError.ConnectionReset => "the connection was reset",
        SocketError.ConnectionAborted or SocketError.Shutdown => "the connection was closed",
        _ => FirstLine(fallback),
    };

    private static string AllMessages(Exception exception)
    {
        var parts = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            parts.Add(e.Message);
        }

        return string.Join(" | ", parts);
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length <= 160 ? line : line[..160] + "...";
    }
}
