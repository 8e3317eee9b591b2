using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Notistream.Client.Config;

namespace Notistream.Client.Subscriptions;

/// <summary>An error reply of the server to a command the client sent (e.g. WRONGPASS, NOAUTH, unknown command).</summary>
internal sealed class RespServerErrorException(string message) : Exception(message);

/// <summary>
/// One plain RESP2 connection (TCP, or TLS as <see cref="TlsSettings"/> say), for what
/// StackExchange.Redis cannot carry: NOTI.SUBSCRIBE turns the connection into a stream of pushes of its
/// own kinds. Writes are serialized; one reader at a time.
/// </summary>
internal sealed class RawConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly bool _tls;
    private bool _answeredOnce;

    private RawConnection(Socket socket, Stream stream, bool tls)
    {
        _socket = socket;
        _stream = stream;
        _tls = tls;
        Reader = new RespReader(stream);
    }

    public RespReader Reader { get; }

    /// <summary>Connects (and completes the TLS handshake) within the config's connect timeout.</summary>
    public static async Task<RawConnection> ConnectAsync(ClientConfig config, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(config.Connection.ConnectTimeout * 2);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            try
            {
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                connectTimeout.CancelAfter(config.Connection.ConnectTimeout);
                await socket.ConnectAsync(config.Host, config.Port, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no connection within {config.Connection.ConnectTimeout.TotalSeconds:0.#} s");
            }

            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (config.Tls.Enabled)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                try
                {
                    await ssl.AuthenticateAsClientAsync(TlsOptions(config.Tls, config.Host), timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await ssl.DisposeAsync().ConfigureAwait(false);
                    throw new TimeoutException("the TLS handshake did not finish in time");
                }
                catch
                {
                    await ssl.DisposeAsync().ConfigureAwait(false);
                    throw;
                }

                stream = ssl;
            }

            return new RawConnection(socket, stream, config.Tls.Enabled);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The client certificate and the CA file's check of the server's certificate, for RESP and for HTTPS alike.</summary>
    /// <param name="host">The name the certificate must carry; null: the caller sets it (HttpClient does).</param>
    internal static SslClientAuthenticationOptions TlsOptions(TlsSettings tls, string? host)
    {
        var options = new SslClientAuthenticationOptions { TargetHost = host };
        if (tls is { CertFile: { } certFile, KeyFile: { } keyFile })
        {
            var certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            options.ClientCertificates = [certificate];
        }

        if (tls.CaFile is { } caFile)
        {
            // The name must match; the chain must end at the CA file, not at the system's roots.
            options.RemoteCertificateValidationCallback = CaFileTrust.Callback(caFile);
        }

        return options;
    }

    public async Task SendAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        var bytes = RespReader.Encode(command);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Reads the next frame. A TLS connection the server closes before its first answer is reported as
    /// <see cref="ConnectionErrors.TlsClosedByServer"/>: with Redis and ours, a refused client certificate.
    /// </summary>
    public async ValueTask<RespFrame> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var frame = await Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            _answeredOnce = true;
            return frame;
        }
        catch (Exception ex) when (_tls && !_answeredOnce && ex is IOException or System.Security.Authentication.AuthenticationException)
        {
            throw new IOException(ConnectionErrors.TlsClosedByServer, ex);
        }
    }

    /// <summary>Sends a command and reads its reply; an error reply throws <see cref="RespServerErrorException"/>.</summary>
    public async Task<RespFrame> CallAsync(IReadOnlyList<string> command, CancellationToken cancellationToken)
    {
        await SendAsync(command, cancellationToken).ConfigureAwait(false);
        var reply = await ReadAsync(cancellationToken).ConfigureAwait(false);
        return reply.IsError ? throw new RespServerErrorException(reply.Text!) : reply;
    }

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
        _writeLock.Dispose();
    }

    public static string Describe(string command, RespFrame reply) =>
        $"unexpected answer to {command}: {Truncate(reply.ToString())}";

    private static string Truncate(string text) => text.Length <= 120 ? text : text[..120] + "...";

    internal static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
