using System.Globalization;
using Notistream.Testing;

namespace Notistream.Client.Tests.Infrastructure;

public enum ServerKind
{
    Redis,
    Notistream,
}

/// <summary>
/// A pub/sub server the client talks to — real redis-server or our server in-process — that can be
/// killed and started again on the same port, as a restart on a real machine would.
/// </summary>
internal abstract class TestServer : IAsyncDisposable
{
    public abstract int Port { get; }

    /// <param name="args">redis-server style arguments both servers understand, e.g. "--requirepass", "s3cret".</param>
    public static async Task<TestServer> StartAsync(ServerKind kind, int? port = null, params string[] args) => kind switch
    {
        ServerKind.Redis => await RedisAtPort.StartAsync(port, args),
        _ => await InProcessNotistream.StartAsync(port, args),
    };

    /// <summary>Stops the server abruptly (redis-server: SIGKILL; ours: host stop, connections closed).</summary>
    public abstract Task StopAsync();

    /// <summary>Starts it again on the same port.</summary>
    public abstract Task RestartAsync();

    public abstract ValueTask DisposeAsync();
}

/// <summary>redis-server on a port we choose, so it can come back on the same one (the shared <see cref="RedisServerProcess"/>).</summary>
internal sealed class RedisAtPort : TestServer
{
    private readonly string[] _args;
    private RedisServerProcess? _process;
    private int _port;

    private RedisAtPort(string[] args)
    {
        _args = args;
    }

    public override int Port => _port;

    public static async Task<RedisAtPort> StartAsync(int? port, params string[] args)
    {
        var server = new RedisAtPort(args);
        server._process = await RedisServerProcess.StartAsync(port ?? 0, args);
        server._port = server._process.Port;
        return server;
    }

    /// <summary>Kills redis-server (SIGKILL), as a crash would.</summary>
    public override async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await process.DisposeAsync();
        }
    }

    public override async Task RestartAsync()
    {
        await StopAsync();
        // The port was ours a moment ago; redis-server binds it again (SO_REUSEADDR), retrying if it is not free yet.
        _process = await RedisServerProcess.StartAsync(_port, _args);
    }

    public override async ValueTask DisposeAsync() => await StopAsync();
}

/// <summary>Our server (src/RespServer) in-process.</summary>
internal sealed class InProcessNotistream : TestServer
{
    private readonly string[] _args;
    private NotistreamServer? _server;
    private int _port;

    private InProcessNotistream(string[] args)
    {
        _args = args;
    }

    public override int Port => _port;

    public static async Task<InProcessNotistream> StartAsync(int? port, params string[] args)
    {
        var result = new InProcessNotistream(args);
        result._server = port is null
            ? await NotistreamServer.StartAsync(args).WithTimeout()
            : await NotistreamServer.StartAsync([.. args, "--port", port.Value.ToString(CultureInfo.InvariantCulture)]).WithTimeout();
        result._port = result._server.Port;
        return result;
    }

    public override async Task StopAsync()
    {
        if (_server is { } server)
        {
            _server = null;
            await server.DisposeAsync().WithTimeout();
        }
    }

    public override async Task RestartAsync()
    {
        await StopAsync();
        _server = await NotistreamServer.StartAsync([.. _args, "--port", _port.ToString(CultureInfo.InvariantCulture)]).WithTimeout();
    }

    public override async ValueTask DisposeAsync() => await StopAsync();
}
