using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
namespace Notistream.Testing;

/// <summary>
/// Our server as its own process (<c>notistream-server.dll</c> as built next to the tests), so a test
/// can kill it with SIGKILL as a crash would and start it again on the same port. The tests here also
/// may run the gateway, so the folder holds ASP.NET Core's copies of the hosting libraries, not the
/// server's own: the server runs with a runtime config naming the ASP.NET Core framework, which has them.
/// </summary>
public sealed class ServerChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerChildProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

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

    public bool HasExited => _process.HasExited;

    /// <summary>Starts it on <paramref name="port"/> with these redis-server style arguments and waits until it accepts connections.</summary>
    /// <exception cref="InvalidOperationException">it exited or did not listen within 30 s; the message holds its output.</exception>
    public static async Task<ServerChildProcess> StartAsync(int port, params string[] args)
    {
        var info = new ProcessStartInfo(DotNet)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])["exec", "--runtimeconfig", RuntimeConfig(), Path.Join(AppContext.BaseDirectory, "notistream-server.dll"),
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", .. args])
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        var server = new ServerChildProcess(process, port);
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
                await process.WaitForExitAsync().WithTimeout();
                await server.DisposeAsync();
                throw new InvalidOperationException($"notistream-server did not start on port {port}:\n{server.Output}");
            }
        }
    }

    /// <summary>SIGKILL: no shutdown, nothing flushed that was not flushed already.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WithTimeout();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <summary>The dotnet host running the tests (DOTNET_HOST_PATH), else the one on the PATH.</summary>
    private static string DotNet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : ExternalProgram.Find("dotnet") ?? "dotnet";

    public static string RuntimeConfig()
    {
        var path = Path.Join(AppContext.BaseDirectory, "notistream-server.aspnet.runtimeconfig.json");
        if (!File.Exists(path))
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Join(AppContext.BaseDirectory, "notistream-server.runtimeconfig.json")))!;
            config["runtimeOptions"]!["framework"] = new JsonObject { ["name"] = "Microsoft.AspNetCore.App", ["version"] = "10.0.0" };
            var temporary = path + "." + Environment.ProcessId;
            File.WriteAllText(temporary, config.ToJsonString());
            File.Move(temporary, path, overwrite: true);
        }

        return path;
    }
}
