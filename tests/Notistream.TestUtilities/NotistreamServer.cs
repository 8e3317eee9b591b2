using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;

namespace Notistream.Testing;

/// <summary>
/// Our pub/sub server in-process on 127.0.0.1 port 0, started with redis-server-style arguments
/// (e.g. <c>"--requirepass", "s3cret"</c>). Dispose stops it as SIGTERM would.
/// </summary>
public sealed class NotistreamServer : IAsyncDisposable
{
    private readonly IHost _host;

    private NotistreamServer(IHost host, int port, int tlsPort = 0)
    {
        _host = host;
        Port = port;
        TlsPort = tlsPort;
    }

    /// <summary>The plain port; 0 when the server listens on TLS only.</summary>
    public int Port { get; }

    /// <summary>The TLS port; 0 without TLS.</summary>
    public int TlsPort { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public static async Task<NotistreamServer> StartAsync(params string[] args)
    {
        var options = ConfigLoader.Load(["--port", "0", "--bind", "127.0.0.1", .. args]);
        var host = RespServerHost.Build(options, ConfigureLogging);
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        var context = host.Services.GetRequiredService<ServerContext>();
        return new NotistreamServer(host, context.BoundPort);
    }

    /// <summary>
    /// With TLS on a free port (tls-port 0 means "no TLS", as in Redis, so the port is picked here, with
    /// retries on a bind race) using <paramref name="certificates"/>; with <paramref name="plain"/> a plain
    /// port beside it, otherwise TLS only. <paramref name="args"/> come last (e.g. tls-auth-clients).
    /// </summary>
    public static async Task<NotistreamServer> StartTlsAsync(TestCertificates certificates, bool plain, params string[] args)
    {
        for (var attempt = 0; ; attempt++)
        {
            string[] all =
            [
                "--port", plain ? FreePort.Next().ToString(CultureInfo.InvariantCulture) : "0",
                "--tls-port", FreePort.Next().ToString(CultureInfo.InvariantCulture),
                "--tls-cert-file", certificates.ServerCertFile,
                "--tls-key-file", certificates.ServerKeyFile,
                "--tls-ca-cert-file", certificates.CaFile,
                .. args,
            ];
            var options = ConfigLoader.Load(["--bind", "127.0.0.1", .. all]);
            var host = RespServerHost.Build(options, ConfigureLogging);
            try
            {
                await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
            catch (ConfigException ex) when (attempt < 5 && ex.Message.StartsWith("Could not create server", StringComparison.Ordinal))
            {
                host.Dispose();
                continue;
            }

            var context = host.Services.GetRequiredService<ServerContext>();
            return new NotistreamServer(host, context.BoundPort, context.BoundTlsPort);
        }
    }

    /// <summary>Warnings to the console; everything from debug up to the output of the test that
    /// started the server, shown when it fails.</summary>
    private static void ConfigureLogging(ILoggingBuilder logging)
        => logging.SetMinimumLevel(LogLevel.Debug)
            .AddSimpleConsole()
            .AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(level => level >= LogLevel.Warning)
            .AddProvider(new TestOutputLoggerProvider());

    /// <summary>Server internals for white-box assertions (registry, clients, stats).</summary>
    internal ServerContext Context => _host.Services.GetRequiredService<ServerContext>();

    /// <summary>The metrics listener's port (start with <c>--metrics-port -1</c> for a free one); 0 when off.</summary>
    public int MetricsPort => Context.BoundMetricsPort;

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _host.Dispose();
    }
}
