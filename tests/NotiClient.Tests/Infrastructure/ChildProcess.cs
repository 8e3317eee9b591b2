using System.Diagnostics;
using System.Text;
using Notistream.Testing;

namespace Notistream.Client.Tests.Infrastructure;

/// <summary>
/// A program run as a person would run it (its own process, its own environment), its stdout and
/// stderr collected as they come. Dispose kills it if it still runs.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private Task[] _readers = [];

    private ChildProcess(Process process)
    {
        _process = process;
    }

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public string AllOutput => $"--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public int Id => _process.Id;

    public StreamWriter StandardInput => _process.StandardInput;

    /// <summary>Path of the dotnet host running the tests (the SDK sets DOTNET_HOST_PATH for test runs).</summary>
    public static string DotNet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : ExternalProgram.Find("dotnet") ?? "dotnet";

    /// <summary>The notistream client as built next to the tests.</summary>
    public static string ClientAssembly => Path.Join(AppContext.BaseDirectory, "notistream.dll");

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment, bool redirectInput = false)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

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

        var process = Process.Start(info)!;
        var child = new ChildProcess(process);
        // Raw reads, not lines: a prompt waits for an answer without ending its line.
        child._readers = [Pump(process.StandardOutput, child._stdout), Pump(process.StandardError, child._stderr)];
        return child;
    }

    /// <summary>Runs the notistream client: <c>dotnet notistream.dll args</c>.</summary>
    public static ChildProcess StartClient(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment, bool redirectInput = false) =>
        Start(DotNet, [ClientAssembly, .. arguments], environment, redirectInput);

    public Task WaitForOutputAsync(string text, TimeSpan? timeout = null) =>
        TaskTimeoutExtensions.WaitUntil(() => AllOutput.Contains(text, StringComparison.Ordinal), $"'{text}' in the output of {_process.StartInfo.FileName}:\n{AllOutput}", timeout);

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        await _process.WaitForExitAsync().WithTimeout(timeout);
        await Task.WhenAll(_readers).WithTimeout(timeout);
        return _process.ExitCode;
    }

    /// <summary>SIGTERM, as a service manager or Ctrl+C would stop it.</summary>
    public void Terminate()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
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
        }

        _process.Dispose();
    }

    private static async Task Pump(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer.AsMemory())) > 0)
        {
            lock (into)
            {
                into.Append(buffer, 0, read);
            }
        }
    }
}
