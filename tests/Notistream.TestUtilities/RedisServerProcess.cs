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

    /// <summary>The redis-server process, e.g. for reading its memory or CPU time under /proc.</summary>
    public int Pid => _process.Id;

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

    /// <summary>On a free port.</summary>
    public static Task<RedisServerProcess> StartAsync(params string[] extraArgs) => StartAsync(0, extraArgs);

    /// <summary>
    /// On <paramref name="port"/> (0 = a free one), so a test can stop it and start it again on the same
    /// port. <paramref name="extraArgs"/> are redis-server arguments such as <c>--requirepass</c>.
    /// </summary>
    public static Task<RedisServerProcess> StartAsync(int port, params string[] extraArgs) => StartAsync(port, null, extraArgs);

    /// <summary>
    /// As <see cref="StartAsync(int, string[])"/>, with an open-file limit (RLIMIT_NOFILE, soft and hard) of
    /// <paramref name="descriptorLimit"/> from its first instruction on, through util-linux's <c>prlimit</c>.
    /// </summary>
    public static async Task<RedisServerProcess> StartAsync(int port, int? descriptorLimit, params string[] extraArgs)
    {
        var exe = ExternalProgram.Require("redis-server", "apt-get install redis-server");
        Exception? last = null;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var chosen = port != 0 ? port : FreePort.Next();
            var psi = new ProcessStartInfo(descriptorLimit is null ? exe : ExternalProgram.Find("prlimit") ?? "prlimit")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            if (descriptorLimit is { } limit)
            {
                psi.ArgumentList.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--nofile={limit}:{limit}"));
                psi.ArgumentList.Add("--");
                psi.ArgumentList.Add(exe);
            }

            foreach (var arg in new[]
            {
                "--port", chosen.ToString(System.Globalization.CultureInfo.InvariantCulture),
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
            var server = new RedisServerProcess(process, chosen);
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
                // A free port taken in between, or the previous server on a fixed port not gone yet: try again.
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
                // +PONG, or -NOAUTH when started with --requirepass: either way it is serving.
                var reply = Encoding.ASCII.GetString(buffer, 0, n);
                if (reply == "+PONG\r\n" || reply.StartsWith("-NOAUTH", StringComparison.Ordinal))
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
