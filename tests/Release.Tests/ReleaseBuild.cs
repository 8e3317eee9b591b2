using System.Diagnostics;
using System.Runtime.InteropServices;
using Notistream.Release.Tests;
using Notistream.Testing;

[assembly: AssemblyFixture(typeof(ReleaseBuild))]

namespace Notistream.Release.Tests;

/// <summary>
/// <c>scripts/release.sh --rid &lt;this machine's RID&gt; --output &lt;temp&gt;</c>, run once for all the
/// tests (by the first that asks), and its archive unpacked as a user would with
/// <c>tar -xzf notistream-&lt;rid&gt;.tar.gz</c>. The temp folder goes when the tests are done.
/// </summary>
public sealed class ReleaseBuild : IAsyncDisposable
{
    /// <summary>Three self-contained publishes and a pack; on a busy two-core machine a few minutes.</summary>
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(10);

    private readonly SemaphoreSlim _once = new(1, 1);
    private Published? _published;
    private Exception? _failure;

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), $"notistream-release-{Guid.NewGuid():N}");

    /// <summary>The RID of this machine if the script builds it and it runs here (Linux only: the test reads /proc); else null.</summary>
    public static string? HostRid =>
        !OperatingSystem.IsLinux() ? null
        : RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => "linux-x64",
            Architecture.Arm64 => "linux-arm64",
            _ => null,
        };

    /// <summary>The dotnet that runs the tests (the SDK sets DOTNET_HOST_PATH for test runs), else the one on PATH.</summary>
    public static string DotNet =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : ExternalProgram.Find("dotnet") ?? throw new InvalidOperationException("dotnet is not on PATH");

    /// <summary>
    /// Skips (fails under <c>NOTISTREAM_REQUIRE_EXTERNAL=1</c>) where the release cannot be built and run
    /// here, then builds it once and returns it; a failed build fails every test that asks, with its output.
    /// </summary>
    public async Task<Published> GetAsync()
    {
        Assert.SkipUnless(HostRid is not null || ExternalProgram.Required,
            $"the release test runs on Linux x64 or arm64; this is {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}");
        Assert.NotNull(HostRid);
        var bash = ExternalProgram.Require("bash", "apt-get install bash");
        var tar = ExternalProgram.Require("tar", "apt-get install tar");

        await _once.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (_failure is not null)
            {
                throw new InvalidOperationException("the release build failed (see the first test that ran)", _failure);
            }

            if (_published is null)
            {
                try
                {
                    _published = await BuildAsync(bash, tar, HostRid);
                }
                catch (Exception ex)
                {
                    _failure = ex;
                    throw;
                }
            }

            return _published;
        }
        finally
        {
            _once.Release();
        }
    }

    private async Task<Published> BuildAsync(string bash, string tar, string rid)
    {
        var root = Notistream.Testing.DocPage.Root;
        var output = Path.Combine(Folder, "release");
        var stopwatch = Stopwatch.StartNew();
        // The SDK's own variables of this test run (MSBuild paths and the like) stay out of the nested
        // builds; DOTNET names the SDK the tests run on, so dotnet need not be on PATH.
        string[] command = [bash, Path.Combine(root, "scripts", "release.sh"), "--rid", rid, "--output", output];
        // At a lower priority where nice exists: the test projects of a solution run side by side, and
        // three publishes would otherwise take both cores from tests that measure time.
        if (ExternalProgram.Find("nice") is { } nice)
        {
            command = [nice, "-n", "10", .. command];
        }

        var script = await RunAsync(command[0], command[1..], root, environment => environment["DOTNET"] = DotNet, ScriptTimeout);
        if (script.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/release.sh --rid {rid} exited with {script.ExitCode}:\n{script.Output}");
        }

        var publishTime = stopwatch.Elapsed;
        var installed = Path.Combine(Folder, "installed");
        Directory.CreateDirectory(installed);
        var archive = Path.Combine(output, $"notistream-{rid}.tar.gz");
        File.Copy(archive, Path.Combine(installed, Path.GetFileName(archive)));
        // docs/install.md: tar -xzf notistream-<rid>.tar.gz
        var unpack = await RunAsync(tar, ["-xzf", Path.GetFileName(archive)], installed, _ => { }, TimeSpan.FromMinutes(2));
        if (unpack.ExitCode != 0)
        {
            throw new InvalidOperationException($"tar -xzf {archive} exited with {unpack.ExitCode}:\n{unpack.Output}");
        }

        TestContext.Current.SendDiagnosticMessage($"scripts/release.sh --rid {rid}: {publishTime.TotalSeconds:0} s");
        return new Published(rid, output, Path.Combine(installed, rid), publishTime, script.Output);
    }

    /// <summary>Runs a program to its end with the test run's environment less the SDK's build variables.</summary>
    internal static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, string workingDirectory,
        Action<IDictionary<string, string?>> environment, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var name in info.Environment.Keys.Where(name => name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }

        environment(info.Environment);
        using var process = Process.Start(info)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish within {timeout.TotalMinutes:0} min:\n{Read(output)}");
        }

        process.WaitForExit(); // the last output lines
        return (process.ExitCode, Read(output));
    }

    private static void Append(System.Text.StringBuilder into, string? line)
    {
        if (line is not null)
        {
            lock (into)
            {
                into.AppendLine(line);
            }
        }
    }

    private static string Read(System.Text.StringBuilder from)
    {
        lock (from)
        {
            return from.ToString();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }

        _once.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <param name="Rid">The RID built.</param>
/// <param name="Output">The script's --output folder.</param>
/// <param name="Installed">The programs as unpacked from the archive.</param>
/// <param name="PublishTime">How long the script ran.</param>
/// <param name="ScriptOutput">What it printed.</param>
public sealed record Published(string Rid, string Output, string Installed, TimeSpan PublishTime, string ScriptOutput)
{
    public string Program(string name) => Path.Combine(Installed, name);
}
