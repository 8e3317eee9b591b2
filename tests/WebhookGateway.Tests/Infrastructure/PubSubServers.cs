using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Infrastructure;

/// <summary>A pub/sub back end the gateway publishes to, which a test can stop and start again on the same port.</summary>
public interface IPubSubServer : IAsyncDisposable
{
    int Port { get; }
}

/// <summary>
/// A real <c>redis-server</c> process on a given loopback port (so it can be restarted on the
/// same one), persistence off. Skips (fails under CI) when redis-server is missing.
/// </summary>
internal sealed class RedisServer : IPubSubServer
{
    private readonly Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public static async Task<RedisServer> StartAsync(int port = 0, string? password = null)
    {
        var exe = ExternalProgram.Require("redis-server", "apt-get install redis-server");
        for (var attempt = 0; ; attempt++)
        {
            var chosen = port != 0 ? port : FreePort.Next();
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { "--port", chosen.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", Path.GetTempPath() })
            {
                psi.ArgumentList.Add(arg);
            }

            if (password is not null)
            {
                psi.ArgumentList.Add("--requirepass");
                psi.ArgumentList.Add(password);
            }

            var process = Process.Start(psi)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new RedisServer(process, chosen);
            try
            {
                await Poll.UntilAsync(() => AnswersAsync(chosen, process), $"redis-server to answer on port {chosen}");
                return server;
            }
            catch (Exception) when (attempt < 4)
            {
                // Port taken between FreePort.Next() and the bind, or the old process not gone yet: try again.
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>True once the server answers PING (with PONG, or NOAUTH when it has a password).</summary>
    internal static async Task<bool> AnswersAsync(int port, Process? process = null)
    {
        if (process?.HasExited == true)
        {
            throw new InvalidOperationException($"the server exited with code {process.ExitCode}");
        }

        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            await socket.SendAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[64];
            var n = await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(2));
            return n > 0 && buffer[0] is (byte)'+' or (byte)'-';
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WithTimeout();
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
    }
}

/// <summary>Our own server, in-process through the shared test helper.</summary>
internal sealed class OurServer(NotistreamServer server) : IPubSubServer
{
    public int Port => server.Port;

    public static async Task<OurServer> StartAsync(int port = 0, string? password = null)
    {
        string[] args = [.. (port == 0 ? [] : new[] { "--port", port.ToString(CultureInfo.InvariantCulture) }),
            .. (password is null ? [] : new[] { "--requirepass", password })];
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new OurServer(await NotistreamServer.StartAsync(args).WithTimeout());
            }
            catch (Exception) when (port != 0 && attempt < 20)
            {
                // Restarting on the same port: the previous listener may still hold it for a moment.
                using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
                await tick.WaitForNextTickAsync();
            }
        }
    }

    public ValueTask DisposeAsync() => server.DisposeAsync();
}
