using System.Diagnostics;
using System.Text;
using Notistream.Testing;

namespace Notistream.Release.Tests;

/// <summary>
/// A published program started as on a machine without .NET: PATH without any folder that holds a
/// <c>dotnet</c>, no DOTNET_* variables (DOTNET_ROOT, DOTNET_ROOT_X64, …), HOME and the XDG folders in
/// a temp folder of its own, and none of the NOTISTREAM_* / ASPNETCORE_* settings of the test run.
/// Its stdout and stderr are collected as they come; dispose kills it.
/// </summary>
internal sealed class WithoutSdk : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task[] _readers;

    private WithoutSdk(Process process)
    {
        _process = process;
        _readers = [Pump(process.StandardOutput, _stdout), Pump(process.StandardError, _stderr)];
    }

    public string StandardOutput => Read(_stdout);

    public string AllOutput => $"--- stdout ---\n{StandardOutput}\n--- stderr ---\n{Read(_stderr)}";

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The folder of the dotnet install the tests run on (symlinks resolved), e.g. /usr/share/dotnet.</summary>
    public static string DotNetRoot
    {
        get
        {
            var host = new FileInfo(ReleaseBuild.DotNet);
            var target = host.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? host.FullName;
            return Path.GetDirectoryName(target)!;
        }
    }

    public static WithoutSdk Start(string program, IEnumerable<string> arguments, string home)
    {
        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = home,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in info.Environment.Keys.ToList())
        {
            if (name.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase) || name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("NOTISTREAM_", StringComparison.Ordinal) || name.StartsWith("ASPNETCORE_", StringComparison.Ordinal)
                || name.StartsWith("GITHUB_WEBHOOK", StringComparison.Ordinal))
            {
                info.Environment.Remove(name);
            }
        }

        info.Environment["PATH"] = PathWithoutDotNet();
        info.Environment["HOME"] = home;
        info.Environment["XDG_CONFIG_HOME"] = Path.Combine(home, ".config");
        info.Environment["XDG_STATE_HOME"] = Path.Combine(home, ".local", "state");
        return new WithoutSdk(Process.Start(info)!);
    }

    /// <summary>The PATH of the test run less every folder with a dotnet in it (on Debian that includes /usr/bin and /bin).</summary>
    public static string PathWithoutDotNet()
    {
        var kept = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(dir => !File.Exists(Path.Combine(dir, "dotnet")) && !File.Exists(Path.Combine(dir, "dotnet.exe")))
            .ToList();
        return kept.Count > 0 ? string.Join(Path.PathSeparator, kept) : "/nonexistent";
    }

    public Task WaitForOutputAsync(string text, TimeSpan? timeout = null) =>
        TaskTimeoutExtensions.WaitUntil(() => AllOutput.Contains(text, StringComparison.Ordinal) || _process.HasExited,
            $"'{text}' in the output of {_process.StartInfo.FileName}:\n{AllOutput}", timeout)
        .ContinueWith(t =>
        {
            t.GetAwaiter().GetResult();
            Assert.True(AllOutput.Contains(text, StringComparison.Ordinal), $"{_process.StartInfo.FileName} exited before printing '{text}':\n{AllOutput}");
        }, TaskScheduler.Default);

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        await _process.WaitForExitAsync().WithTimeout(timeout);
        await Task.WhenAll(_readers).WithTimeout(timeout);
        return _process.ExitCode;
    }

    /// <summary>
    /// Every file the process has mapped (/proc/pid/maps): none may come from the dotnet install, so the
    /// runtime it runs on is its own (a single-file host has it built in, nothing is unpacked beside it).
    /// </summary>
    public void AssertRunsOnItsOwnRuntime()
    {
        var root = DotNetRoot.TrimEnd('/') + "/";
        var mapped = File.ReadAllLines($"/proc/{_process.Id}/maps")
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var at and >= 0 ? line[at..] : null)
            .OfType<string>()
            .Distinct()
            .ToList();
        Assert.DoesNotContain(mapped, file => file.StartsWith(root, StringComparison.Ordinal));
        Assert.DoesNotContain(mapped, file => file.Contains("libcoreclr", StringComparison.Ordinal) || file.Contains("libhostfxr", StringComparison.Ordinal));
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

    private static string Read(StringBuilder from)
    {
        lock (from)
        {
            return from.ToString();
        }
    }
}
