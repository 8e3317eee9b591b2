using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Infrastructure;

/// <summary>
/// notistream-server as its own process (<c>dotnet notistream-server.dll</c>, as built next to the
/// tests), so a test can send it SIGTERM and read its exit code and memory. Dispose kills it if it still runs.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public Process Process => _process;

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

    public static Task<ServerProcess> StartAsync(int port, params string[] args)
        => StartAsync(port, new Dictionary<string, string?>(), args);

    /// <summary>With <paramref name="environment"/> applied to this process's environment (null removes a variable).</summary>
    public static Task<ServerProcess> StartAsync(int port, IReadOnlyDictionary<string, string?> environment, params string[] args)
        => StartAsync(port, environment, descriptorLimit: null, args);

    /// <summary>
    /// With an open-file limit (RLIMIT_NOFILE, soft and hard) of <paramref name="descriptorLimit"/> from its
    /// first instruction on, through util-linux's <c>prlimit</c>.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(int port, IReadOnlyDictionary<string, string?> environment, int? descriptorLimit, params string[] args)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path)
            ? path : ExternalProgram.Find("dotnet") ?? "dotnet";
        var info = new ProcessStartInfo(descriptorLimit is null ? host : ExternalProgram.Find("prlimit") ?? "prlimit")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        if (descriptorLimit is { } limit)
        {
            info.ArgumentList.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--nofile={limit}:{limit}"));
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(host);
        }

        info.ArgumentList.Add(Path.Join(AppContext.BaseDirectory, "notistream-server.dll"));
        foreach (var arg in (string[])["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", .. args])
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        var server = new ServerProcess(process, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await probe.ConnectAsync(System.Net.IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                throw new InvalidOperationException($"notistream-server did not start on port {port}:\n{server.Output}");
            }
        }
    }

    /// <summary>Sends SIGTERM, as a service manager stopping the server does.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed with exit code {kill.ExitCode}");
        }
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

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
