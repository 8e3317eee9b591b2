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

    private NotistreamServer(IHost host, int port)
    {
        _host = host;
        Port = port;
    }

    public int Port { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public static async Task<NotistreamServer> StartAsync(params string[] args)
    {
        var options = ConfigLoader.Load(["--port", "0", "--bind", "127.0.0.1", .. args]);
        var host = RespServerHost.Build(options, logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        var context = host.Services.GetRequiredService<ServerContext>();
        return new NotistreamServer(host, context.BoundPort);
    }

    /// <summary>Server internals for white-box assertions (registry, clients, stats).</summary>
    internal ServerContext Context => _host.Services.GetRequiredService<ServerContext>();

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _host.Dispose();
    }
}
