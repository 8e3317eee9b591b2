using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Notistream.Testing;

/// <summary>
/// A real <c>redis-server</c> (Debian package) on a free loopback port, persistence off, for
/// differential and compatibility tests. Skips (fails under CI) when redis-server is missing.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private RedisServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<RedisServerProcess> StartAsync(params string[] extraArgs)
    {
        var exe = ExternalProgram.Require("redis-server", "apt-get install redis-server");
        Exception? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var port = FreePort.Next();
            var psi = new ProcessStartInfo(exe)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[]
            {
                "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--protected-mode", "yes",
                "--dir", Path.GetTempPath(),
            }.Concat(extraArgs))
            {
                psi.ArgumentList.Add(arg);
            }

            var process = Process.Start(psi) ?? throw new InvalidOperationException("redis-server did not start");
            var server = new RedisServerProcess(process, port);
            process.OutputDataReceived += (_, e) => server.Append(e.Data);
            process.ErrorDataReceived += (_, e) => server.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await server.WaitReadyAsync().ConfigureAwait(false);
                return server;
            }
            catch (Exception ex)
            {
                last = ex;
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException("redis-server could not be started", last);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}: {Output}");
            }

            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(EndPoint).ConfigureAwait(false);
                await socket.SendAsync("PING\r\n"u8.ToArray()).ConfigureAwait(false);
                var buffer = new byte[64];
                var n = await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                if (Encoding.ASCII.GetString(buffer, 0, n) == "+PONG\r\n")
                {
                    return;
                }
            }
            catch (SocketException)
            {
                // not listening yet
            }

            using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            await poll.WaitForNextTickAsync().ConfigureAwait(false);
        }

        throw new TimeoutException($"redis-server did not answer PING on port {Port}: {Output}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
    }
}
