using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Infrastructure;

/// <summary>
/// <c>startserver.sh</c> run as a user runs it, in its own process, with free ports. It runs the
/// build configuration this test assembly was built with, whose outputs the test build made, so
/// the script finds them up to date; its own build step is used only if a source is newer.
/// </summary>
internal sealed partial class StartServerScript : IAsyncDisposable
{
    /// <summary>Generous: the script builds first if anything is out of date.</summary>
    private static readonly TimeSpan _startTimeout = TimeSpan.FromSeconds(120);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private StartServerScript(Process process, int port, int webPort)
    {
        _process = process;
        Port = port;
        WebPort = webPort;
    }

    public int Port { get; }

    public int WebPort { get; }

    public Process Process => _process;

    /// <summary>NOTISTREAM_DATA of this run: a temp folder unless the test gave one.</summary>
    public string DataFolder { get; private init; } = "";

    private bool OwnsDataFolder { get; init; }

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

    /// <summary>The pids the script printed for the parts it started.</summary>
    public IReadOnlyList<int> PartPids => [.. PidPattern().Matches(Output).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    public static async Task<StartServerScript> StartAsync(string? part, params (string Name, string Value)[] environment)
    {
        var bash = ExternalProgram.Require("bash", "apt-get install bash");
        var root = Notistream.Testing.DocPage.Root;
        var port = FreePort.Next();
        var webPort = FreePort.Next();
        while (webPort == port)
        {
            // The kernel may hand the same free port out twice in a row.
            webPort = FreePort.Next();
        }
        var psi = new ProcessStartInfo(bash)
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(root, "startserver.sh"));
        if (part is not null)
        {
            psi.ArgumentList.Add(part);
        }

        foreach (var name in new[]
        {
            "NOTISTREAM_TOKEN", "GITHUB_WEBHOOK_SECRET", "NOTISTREAM_HOST", "NOTISTREAM_SERVER", "NOTISTREAM_USER", "NOTISTREAM_PASSWORD", "NOTISTREAM_BIND",
            "NOTISTREAM_TLS", "NOTISTREAM_CA_FILE", "NOTISTREAM_CERT_FILE", "NOTISTREAM_KEY_FILE", "NOTISTREAM_SERVER_USER", "NOTISTREAM_SERVER_PASSWORD",
            "NOTISTREAM_SERVER_TLS", "NOTISTREAM_SERVER_CA_FILE", "NOTISTREAM_SERVER_CERT", "NOTISTREAM_SERVER_KEY", "ASPNETCORE_URLS",
        })
        {
            psi.Environment.Remove(name);
        }

        psi.Environment["NOTISTREAM_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        psi.Environment["NOTISTREAM_WEB_PORT"] = webPort.ToString(CultureInfo.InvariantCulture);
        psi.Environment["NOTISTREAM_CONFIGURATION"] = BuildConfiguration();
        psi.Environment["NOTISTREAM_START_TIMEOUT"] = ((int)_startTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture);

        // Each run keeps its streams in a folder of its own, not in the repository's data/.
        var data = Path.Combine(Path.GetTempPath(), $"notistream-data-{Guid.NewGuid():N}");
        psi.Environment["NOTISTREAM_DATA"] = data;
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }

        var process = Process.Start(psi)!;
        var script = new StartServerScript(process, port, webPort)
        {
            DataFolder = psi.Environment["NOTISTREAM_DATA"]!,
            OwnsDataFolder = psi.Environment["NOTISTREAM_DATA"] == data,
        };
        process.OutputDataReceived += (_, e) => script.Append(e.Data);
        process.ErrorDataReceived += (_, e) => script.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return script;
    }

    /// <summary>Waits for the banner the script prints once every part is ready.</summary>
    public Task WaitUntilRunningAsync() => TaskTimeoutExtensions.WaitUntil(
        () => Output.Contains("Stop:", StringComparison.Ordinal) || _process.HasExited,
        "startserver.sh to report that Notistream is running", _startTimeout)
        .ContinueWith(t =>
        {
            t.GetAwaiter().GetResult();
            Assert.False(_process.HasExited, $"startserver.sh exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Output}");
        }, TaskScheduler.Default);

    /// <summary>Sends SIGTERM or SIGKILL, as <c>kill</c> would (without needing procps installed).</summary>
    public void Signal(string signal, int pid)
    {
        var number = signal switch
        {
            "TERM" => 15,
            "KILL" => 9,
            _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "TERM or KILL"),
        };
        Assert.True(NativeMethods.Kill(pid, number) == 0, $"kill -{signal} {pid} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(30));
        return _process.ExitCode;
    }

    public static bool IsRunning(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);

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

    /// <summary>bin/&lt;Configuration&gt;/net10.0/: the configuration this assembly (and so the gateway and server) was built in.</summary>
    private static string BuildConfiguration() => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // A failed test must not leave the parts running: the script forwards SIGTERM to them.
            Signal("TERM", _process.Id);
            try
            {
                await _process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                foreach (var pid in PartPids)
                {
                    using var part = Process.GetProcessById(pid);
                    part.Kill();
                }

                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        if (OwnsDataFolder && Directory.Exists(DataFolder))
        {
            Directory.Delete(DataFolder, recursive: true);
        }
    }

    [GeneratedRegex(@"\(pid (\d+)\)")]
    private static partial Regex PidPattern();

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}
