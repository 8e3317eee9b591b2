using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Notistream.Client.Subscriptions;
using Notistream.Gateway.Options;

namespace Notistream.Gateway.Subscribing;

/// <summary>
/// One plain RESP2 connection to the pub/sub server for one HTTP subscriber: logs in as the gateway's
/// server user (<see cref="GatewayOptions.ServerUser"/>, over TLS when the gateway's publishing connection
/// uses it), then carries NOTI.SUBSCRIBE's pushes. One owner: the <see cref="HttpSubscription"/> that opened
/// it writes the handshake and then only reads.
/// </summary>
internal sealed class FollowConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly RespReader _reader;

    private FollowConnection(Socket socket, Stream stream)
    {
        _socket = socket;
        _stream = stream;
        // Small to start with: one per HTTP subscriber, most of them idle; it grows for a large message.
        _reader = new RespReader(stream, initialSize: 4096);
    }

    /// <summary>The server this connection is to, as configured (one of <see cref="GatewayOptions.Servers"/>).</summary>
    public string Server { get; private init; } = string.Empty;

    /// <summary>
    /// Connects to the node in use (<see cref="ServerAddresses.InUse"/>), the one publishing goes to, once.
    /// A follow connection never moves the node in use: history is per node, so it must stay where
    /// publishing goes, and one follower's refusal (LOADING, too many clients, a connect timeout) must not
    /// move publishing and every other follower — anyone opening subscriptions could make it swing. Only
    /// the publisher's own connection state moves it. With several servers, a node that cannot be reached
    /// or refuses with a temporary error is an <see cref="IOException"/> naming it (the caller retries later,
    /// or answers 503 with Retry-After); a refused log-in is a <see cref="FollowRefusedException"/>, as with one.
    /// </summary>
    public static async Task<FollowConnection> ConnectAsync(GatewayOptions options, CancellationToken cancellationToken)
    {
        var servers = options.Servers;
        if (servers.Count == 1)
        {
            return await ConnectAsync(options, servers.InUse, cancellationToken).ConfigureAwait(false);
        }

        var server = servers.InUse;
        try
        {
            return await ConnectAsync(options, server, cancellationToken).ConfigureAwait(false);
        }
        catch (FollowRefusedException ex) when (!IsTemporary(ex.Message))
        {
            throw;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested
            && ex is TimeoutException or SocketException or IOException or System.Security.Authentication.AuthenticationException or FollowRefusedException)
        {
            // Temporary refusals included: a 503 with Retry-After, as for a node that cannot be reached.
            throw new IOException($"no pub/sub server could be followed on ({server}: {ex.Message})", ex);
        }
    }

    /// <summary>A refusal that says "not now" rather than "never": the node is starting, or full.</summary>
    internal static bool IsTemporary(string error) =>
        error.StartsWith("LOADING", StringComparison.Ordinal)
        || error.StartsWith("BUSY", StringComparison.Ordinal)
        || error.StartsWith("TRYAGAIN", StringComparison.Ordinal)
        || error.StartsWith("MASTERDOWN", StringComparison.Ordinal)
        || error.Contains("max number of clients", StringComparison.OrdinalIgnoreCase);

    /// <summary>Connects to <paramref name="server"/>, completes TLS and AUTH within the gateway's connect timeout.</summary>
    internal static async Task<FollowConnection> ConnectAsync(GatewayOptions options, string server, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeoutMilliseconds);
        var (host, port) = SplitEndPoint(server);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (options.UsesServerTls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                try
                {
                    await ssl.AuthenticateAsClientAsync(TlsOptions(options, host), timeout.Token).ConfigureAwait(false);
                }
                catch
                {
                    await ssl.DisposeAsync().ConfigureAwait(false);
                    throw;
                }

                stream = ssl;
            }

            var connection = new FollowConnection(socket, stream) { Server = server };
            if (!string.IsNullOrEmpty(options.ServerPassword))
            {
                List<string> auth = string.IsNullOrEmpty(options.ServerUser)
                    ? ["AUTH", options.ServerPassword]
                    : ["AUTH", options.ServerUser, options.ServerPassword];
                await connection.SendAsync(auth, timeout.Token).ConfigureAwait(false);
                var reply = await connection.ReadAsync(timeout.Token).ConfigureAwait(false);
                if (reply.IsError)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    throw new FollowRefusedException(reply.Text!);
                }
            }

            return connection;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"no connection to {server} within {options.ConnectTimeoutMilliseconds} ms");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>host:port, [v6]:port; a host alone, or a bare IPv6 address (which the validator lets through for one server), is port 6379, as for StackExchange.Redis.</summary>
    internal static (string Host, int Port) SplitEndPoint(string server)
    {
        var colon = server.LastIndexOf(':');
        if (colon < 0 || server.StartsWith('[') && colon < server.IndexOf(']') || !server.StartsWith('[') && server.IndexOf(':') != colon)
        {
            return (server.Trim('[', ']'), 6379);
        }

        var host = server[..colon].Trim('[', ']');
        return (host, int.Parse(server.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture));
    }

    private static SslClientAuthenticationOptions TlsOptions(GatewayOptions options, string host)
    {
        var tls = new SslClientAuthenticationOptions { TargetHost = host };
        if (!string.IsNullOrEmpty(options.ServerCertFile) && !string.IsNullOrEmpty(options.ServerKeyFile))
        {
            tls.ClientCertificates = [X509Certificate2.CreateFromPemFile(options.ServerCertFile, options.ServerKeyFile)];
        }

        if (!string.IsNullOrEmpty(options.ServerCaFile))
        {
            // As the publishing connection's TrustIssuer: the name must match, the chain end at the CA file.
            tls.RemoteCertificateValidationCallback = CaFileTrust.Callback(options.ServerCaFile);
        }

        return tls;
    }

    /// <summary>
    /// Asks the node whose history it has (<c>INFO cluster</c>, answered within <paramref name="timeoutMilliseconds"/>):
    /// the JetStream stream a cluster shares its history in (<c>nats_history:jetstream</c>,
    /// <c>nats_history_stream</c>), the same on every node of that cluster, whose ids are then valid on each of
    /// them; null for a node with its own history (a standalone server, <c>nats-history local</c>, Redis) or
    /// when the answer is an error (an ACL without INFO: NOPERM) or unreadable.
    /// </summary>
    public async Task<string?> SharedHistoryAsync(int timeoutMilliseconds, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeoutMilliseconds);
        await SendAsync(["INFO", "cluster"], timeout.Token).ConfigureAwait(false);
        return SharedHistoryOf(await ReadAsync(timeout.Token).ConfigureAwait(false));
    }

    /// <summary>The stream named by an <c>INFO cluster</c> answer of a node keeping shared history; else null.</summary>
    internal static string? SharedHistoryOf(RespFrame info)
    {
        if (info.Kind != RespKind.BulkString || info.Text is not { } text)
        {
            return null;
        }

        var fields = text.Split('\n').Select(line => line.TrimEnd('\r').Split(':', 2)).Where(field => field.Length == 2)
            .ToLookup(field => field[0], field => field[1], StringComparer.Ordinal);
        return fields["nats_history"].FirstOrDefault() == "jetstream" && fields["nats_history_stream"].FirstOrDefault() is { Length: > 0 } stream
            ? stream
            : null;
    }

    public async Task SendAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(RespReader.Encode(command), cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The next frame; <see cref="EndOfStreamException"/> when the server closed the connection.</summary>
    public ValueTask<RespFrame> ReadAsync(CancellationToken cancellationToken) => _reader.ReadAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}

/// <summary>The server answered the log-in or NOTI.SUBSCRIBE with an error (NOPERM, WRONGPASS, no history…).</summary>
internal sealed class FollowRefusedException(string message) : Exception(message);
