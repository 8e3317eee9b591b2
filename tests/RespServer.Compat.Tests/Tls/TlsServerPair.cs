using System.Globalization;
using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Tls;

/// <summary>
/// A redis-server and our server, each with a plain port and a TLS port, started with the same tls-*
/// directives and the same throw-away certificates. Default: tls-auth-clients yes (Redis's default).
/// </summary>
public class TlsServerPair : IAsyncLifetime
{
    private readonly string[] _args;
    private RedisServerProcess? _redis;
    private NotistreamServer? _ours;

    public TlsServerPair()
        : this([])
    {
    }

    protected TlsServerPair(string[] args) => _args = args;

    public TestCertificates Certificates { get; } = TestCertificates.Create();

    public int RedisPort => _redis?.Port ?? throw new InvalidOperationException("not started");

    public int RedisTlsPort { get; private set; }

    public NotistreamServer Ours => _ours ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        (_redis, RedisTlsPort) = await StartRedisAsync(Certificates, _args);
        _ours = await NotistreamServer.StartTlsAsync(Certificates, plain: true, _args).WithTimeout();
    }

    /// <summary>redis-server with a plain port and a TLS port (retried when the free TLS port is taken in between).</summary>
    public static async Task<(RedisServerProcess Server, int TlsPort)> StartRedisAsync(TestCertificates certificates, string[] args)
    {
        for (var attempt = 0; ; attempt++)
        {
            var tlsPort = FreePort.Next();
            try
            {
                var server = await RedisServerProcess.StartAsync(
                [
                    "--tls-port", tlsPort.ToString(CultureInfo.InvariantCulture),
                    "--tls-cert-file", certificates.ServerCertFile,
                    "--tls-key-file", certificates.ServerKeyFile,
                    "--tls-ca-cert-file", certificates.CaFile,
                    .. args,
                ]).WithTimeout();
                return (server, tlsPort);
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // the TLS port was taken in between
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ours is not null)
        {
            await _ours.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        Certificates.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Both servers with tls-auth-clients optional.</summary>
public sealed class OptionalClientCertificatePair() : TlsServerPair(["--tls-auth-clients", "optional"]);

/// <summary>Both servers with tls-auth-clients no.</summary>
public sealed class NoClientCertificatePair() : TlsServerPair(["--tls-auth-clients", "no"]);
