using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
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

/// <summary>redis-server on a port we choose, so it can come back on the same one.</summary>
internal sealed class RedisAtPort : TestServer
{
    private readonly string[] _args;
    private Process? _process;
    private int _port;

    private RedisAtPort(string[] args)
    {
        _args = args;
    }

    public override int Port => _port;

    public static async Task<RedisAtPort> StartAsync(int? port, params string[] args)
    {
        var server = new RedisAtPort(args);
        for (var attempt = 0; ; attempt++)
        {
            server._port = port ?? FreePort.Next();
            try
            {
                await server.StartProcessAsync();
                return server;
            }
            catch (InvalidOperationException) when (port is null && attempt < 4)
            {
                // Lost a race for the free port; pick another.
            }
        }
    }

    public override async Task StopAsync()
    {
        if (_process is { } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WithTimeout();
            process.Dispose();
            _process = null;
        }
    }

    public override async Task RestartAsync()
    {
        await StopAsync();
        // The port was ours a moment ago; the kernel lets redis-server bind it again (SO_REUSEADDR).
        await StartProcessAsync();
    }

    public override async ValueTask DisposeAsync() => await StopAsync();

    private async Task StartProcessAsync()
    {
        var exe = ExternalProgram.Require("redis-server", "apt-get install redis-server");
        var info = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--port", _port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", Path.GetTempPath(),
        }.Concat(_args))
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        try
        {
            await TaskTimeoutExtensions.WaitUntil(() => process.HasExited || Answers(_port), $"redis-server answering on {_port}");
        }
        catch (TimeoutException)
        {
            await StopAsync();
            throw new InvalidOperationException($"redis-server did not start on {_port}");
        }

        if (process.HasExited)
        {
            _process = null;
            throw new InvalidOperationException($"redis-server exited with {process.ExitCode} (port {_port} taken?)");
        }
    }

    internal static bool Answers(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            socket.Send("PING\r\n"u8);
            socket.ReceiveTimeout = 2000;
            var buffer = new byte[16];
            return socket.Receive(buffer) > 0;
        }
        catch (SocketException)
        {
            return false;
        }
    }
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
