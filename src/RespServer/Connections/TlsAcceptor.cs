using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Connections;

/// <summary>
/// The server side of TLS: the certificate, key and CA loaded once at start-up (a missing or bad
/// file stops start-up with a message naming it), then one handshake per accepted socket, off the
/// accept loop and bounded in time. A failed handshake is logged in one line and closes the socket.
/// <see cref="Pending"/> counts handshakes in flight so that they count against maxclients.
/// </summary>
internal sealed partial class TlsAcceptor : IDisposable
{
    /// <summary>A client that has not finished its handshake by then is dropped (Redis has no such limit; a stalled peer must not hold a slot).</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly SslStreamCertificateContext _certificateContext;
    private readonly X509Certificate2 _certificate;
    private readonly X509Certificate2Collection _trusted;
    private readonly TlsAuthClients _authClients;
    private readonly SslProtocols _protocols;
    private readonly ILogger _logger;
    private int _pending;

    private TlsAcceptor(TlsOptions tls, X509Certificate2 certificate, X509Certificate2Collection intermediates,
        X509Certificate2Collection trusted, SslProtocols protocols, ILogger logger)
    {
        _certificate = certificate;
        _certificateContext = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        _trusted = trusted;
        _authClients = tls.AuthClients;
        _protocols = protocols;
        _logger = logger;
    }

    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Loads what tls-cert-file, tls-key-file and the CA directives name. Throws <see cref="ConfigException"/> naming the file at fault.</summary>
    public static TlsAcceptor Load(TlsOptions tls, ILogger logger)
    {
        if (tls.CertFile.Length == 0)
        {
            throw new ConfigException("Failed to configure TLS: no tls-cert-file configured");
        }

        if (tls.KeyFile.Length == 0)
        {
            throw new ConfigException("Failed to configure TLS: no tls-key-file configured");
        }

        if (tls.AuthClients != TlsAuthClients.No && tls.CaCertFile.Length == 0 && tls.CaCertDir.Length == 0)
        {
            throw new ConfigException(
                "Failed to configure TLS: either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-auth-clients is yes or optional");
        }

        var protocols = TlsConfig.ParseProtocols(tls.Protocols, out var protocolError)
            ?? throw new ConfigException($"Failed to configure TLS: {protocolError}");

        Require(tls.CertFile, "certificate");
        Require(tls.KeyFile, "private key");
        X509Certificate2 certificate;
        try
        {
            certificate = tls.KeyFilePass.Length > 0
                ? X509Certificate2.CreateFromEncryptedPemFile(tls.CertFile, tls.KeyFilePass, tls.KeyFile)
                : X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(
                $"Failed to configure TLS: could not load certificate '{tls.CertFile}' with private key '{tls.KeyFile}': {ex.Message}");
        }

        // The certificate file may carry the chain after the leaf; send it along.
        var intermediates = ReadCertificates(tls.CertFile, "certificate");
        if (intermediates.Count > 0)
        {
            intermediates.RemoveAt(0);
        }

        var trusted = new X509Certificate2Collection();
        if (tls.CaCertFile.Length > 0)
        {
            Require(tls.CaCertFile, "CA certificate");
            trusted.AddRange(ReadCertificates(tls.CaCertFile, "CA certificate"));
            if (trusted.Count == 0)
            {
                throw new ConfigException($"Failed to configure TLS: no PEM certificate in CA file '{tls.CaCertFile}'");
            }
        }

        if (tls.CaCertDir.Length > 0)
        {
            if (!Directory.Exists(tls.CaCertDir))
            {
                throw new ConfigException($"Failed to configure TLS: CA certificate directory '{tls.CaCertDir}' does not exist");
            }

            foreach (var file in Directory.EnumerateFiles(tls.CaCertDir).Order(StringComparer.Ordinal))
            {
                trusted.AddRange(ReadCertificates(file, "CA certificate"));
            }
        }

        return new TlsAcceptor(tls, certificate, intermediates, trusted, protocols, logger);
    }

    /// <summary>
    /// Runs the handshake on an accepted socket. Returns the transport, or null after logging why the
    /// client was refused (and closing its socket). Never throws for anything the peer does.
    /// </summary>
    public async Task<TlsTransport?> AuthenticateAsync(Socket socket, string address, CancellationToken stopping)
    {
        Interlocked.Increment(ref _pending);
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
        string? refused = null;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _certificateContext,
            ClientCertificateRequired = _authClients != TlsAuthClients.No,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) => ValidateClient(certificate, chain, out refused),
            EnabledSslProtocols = _protocols,

            // The chain SslStream builds for a client certificate never fetches anything from a URL the
            // certificate names: handshakes run on the socket event threads, and a download there would
            // stall every connection on that thread (ValidateClient's chain does the same).
            CertificateChainPolicy = new X509ChainPolicy
            {
                RevocationMode = X509RevocationMode.NoCheck,
                DisableCertificateDownloads = true,
            },
        };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(HandshakeTimeout);
            try
            {
                await stream.AuthenticateAsServerAsync(options, timeout.Token).ConfigureAwait(false);
                return new TlsTransport(socket, stream);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                Log.HandshakeFailed(_logger, address, $"no handshake within {HandshakeTimeout.TotalSeconds:0} seconds");
            }
            catch (OperationCanceledException)
            {
                // shutting down
            }
            catch (AuthenticationException ex)
            {
                Log.HandshakeFailed(_logger, address, refused ?? Describe(ex));
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                Log.HandshakeFailed(_logger, address, Describe(ex));
            }

            // An abortive close (RST), as Redis's refusal looks to a client that already sent a command.
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
                // already reset by the peer
            }

            stream.Dispose();
            socket.Dispose();
            return null;
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        _certificate.Dispose();
        foreach (var certificate in _trusted)
        {
            certificate.Dispose();
        }
    }

    /// <summary>
    /// Chains the client's certificate to the configured CA only (not the system store), for client
    /// authentication. No certificate passes only under tls-auth-clients optional.
    /// </summary>
    private bool ValidateClient(X509Certificate? certificate, X509Chain? presented, out string? refused)
    {
        refused = null;
        if (certificate is null)
        {
            if (_authClients == TlsAuthClients.Yes)
            {
                refused = "the client sent no certificate (tls-auth-clients yes requires one)";
                return false;
            }

            return true;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2")); // clientAuth, as OpenSSL's ssl_client purpose
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements.Skip(1))
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        if (chain.Build(leaf))
        {
            return true;
        }

        var reasons = chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct();
        refused = $"client certificate '{certificate.Subject}' refused: {string.Join("; ", reasons)}";
        return false;
    }

    private static void Require(string path, string what)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException($"Failed to configure TLS: {what} file '{path}': No such file or directory");
        }
    }

    private static X509Certificate2Collection ReadCertificates(string path, string what)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Failed to configure TLS: could not read {what} file '{path}': {ex.Message}");
        }

        return collection;
    }

    private static string Describe(Exception ex)
    {
        var messages = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (!messages.Contains(e.Message))
            {
                messages.Add(e.Message);
            }
        }

        return string.Join(": ", messages);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "TLS handshake with {Address} failed: {Reason}")]
        public static partial void HandshakeFailed(ILogger logger, string address, string reason);
    }
}
