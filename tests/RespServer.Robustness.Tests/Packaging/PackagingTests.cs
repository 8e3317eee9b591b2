using System.Diagnostics;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Packaging;

/// <summary>
/// packaging/: the systemd units pass <c>systemd-analyze verify</c>, and the logrotate sample parses and
/// rotates a running server's log.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PackagingTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("notistream-packaging-");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _folder.Delete(recursive: true);

    /// <summary>
    /// The two system units installed as docs/operations.md installs them, into a root folder that holds
    /// this machine's own systemd units (for the targets they name) and an executable at each ExecStart
    /// path: verify loads them with their dependencies and checks every ExecStart program exists there.
    /// </summary>
    [Fact]
    public async Task The_system_units_verify_clean_in_a_root_with_the_programs_installed()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "systemd is Linux's");
        var analyze = ExternalProgram.Require("systemd-analyze", "Debian package systemd");
        var root = _folder.CreateSubdirectory("root").FullName;
        var units = Path.Join(root, "etc", "systemd", "system");
        Directory.CreateDirectory(units);
        Directory.CreateDirectory(Path.Join(root, "usr", "lib", "systemd"));
        var (copied, copyOutput) = await RunAsync("cp", "-a", "/usr/lib/systemd/system", Path.Join(root, "usr", "lib", "systemd"));
        Assert.True(copied == 0, copyOutput);
        foreach (var unit in new[] { "notistream-server.service", "notistream-gateway.service" })
        {
            File.Copy(Path.Join(Repository, "packaging", "systemd", unit), Path.Join(units, unit));
        }

        // Without the programs, verify says so: it really looks for them under the root.
        var (missing, missingOutput) = await RunAsync(analyze, "verify", $"--root={root}", "notistream-server.service", "notistream-gateway.service");
        Assert.NotEqual(0, missing);
        Assert.Contains("/usr/local/bin/notistream-server is not executable", missingOutput, StringComparison.Ordinal);

        Stub(Path.Join(root, "usr", "local", "bin", "notistream-server"));
        Stub(Path.Join(root, "usr", "local", "bin", "notistream-gateway"));
        var (status, output) = await RunAsync(analyze, "verify", $"--root={root}", "notistream-server.service", "notistream-gateway.service");
        Assert.True(status == 0 && output.Length == 0, $"systemd-analyze verify: exit {status}\n{output}");
    }

    /// <summary>
    /// The user unit: systemd-analyze's --user mode takes no --root, so a copy whose ExecStart names an
    /// executable in a temporary folder instead of /usr/local/bin/notistream is verified (every other
    /// line as shipped), against this machine's user units (graphical-session.target).
    /// </summary>
    [Fact]
    public async Task The_user_unit_verifies_clean()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "systemd is Linux's");
        var analyze = ExternalProgram.Require("systemd-analyze", "Debian package systemd");
        var program = Path.Join(_folder.FullName, "bin", "notistream");
        Stub(program);
        var shipped = File.ReadAllLines(Path.Join(Repository, "packaging", "systemd", "user", "notistream.service"));
        Assert.Single(shipped, line => line == "ExecStart=/usr/local/bin/notistream");
        var copy = Path.Join(_folder.CreateSubdirectory("units").FullName, "notistream.service");
        File.WriteAllLines(copy, shipped.Select(line => line == "ExecStart=/usr/local/bin/notistream" ? $"ExecStart={program}" : line));
        var runtime = _folder.CreateSubdirectory("runtime");
        File.SetUnixFileMode(runtime.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var (status, output) = await RunAsync(analyze, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = runtime.FullName }, "--user", "verify", copy);
        Assert.True(status == 0 && output.Length == 0, $"systemd-analyze --user verify: exit {status}\n{output}");
    }

    [Fact]
    public async Task The_logrotate_sample_parses()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "logrotate is Linux's");
        var logrotate = ExternalProgram.Require("logrotate", "Debian package logrotate");
        var state = Path.Join(_folder.FullName, "logrotate.state");
        var (status, output) = await RunAsync(logrotate, "-d", "-s", state, Path.Join(Repository, "packaging", "logrotate", "notistream"));
        Assert.True(status == 0, $"logrotate -d: exit {status}\n{output}");
        Assert.Contains("rotating pattern: /var/log/notistream/*.log", output, StringComparison.Ordinal);
        Assert.DoesNotContain("error", output, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The sample, its path pointed at a temporary folder, forced once on a running server's log.</summary>
    [Fact]
    public async Task The_logrotate_sample_rotates_a_running_servers_log_without_a_signal()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "logrotate and the server's process as Linux has them");
        var logrotate = ExternalProgram.Require("logrotate", "Debian package logrotate");
        var logs = _folder.CreateSubdirectory("log").FullName;
        var sample = await File.ReadAllTextAsync(Path.Join(Repository, "packaging", "logrotate", "notistream"), Token);
        Assert.Contains("/var/log/notistream/*.log {", sample, StringComparison.Ordinal);
        var config = Path.Join(_folder.FullName, "notistream.logrotate");
        await File.WriteAllTextAsync(config, sample.Replace("/var/log/notistream/", logs + "/", StringComparison.Ordinal), Token);

        var log = Path.Join(logs, "notistream-server.log");
        var port = FreePort.Next();
        await using var server = await ServerProcess.StartAsync(port, "--logfile", log, "--loglevel", "verbose");
        await TaskTimeoutExtensions.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("Ready to accept connections", StringComparison.Ordinal), "the start-up lines in the log");

        var (status, output) = await RunAsync(logrotate, "-f", "-s", Path.Join(_folder.FullName, "logrotate.state"), config);
        Assert.True(status == 0, $"logrotate -f: exit {status}\n{output}");
        var rotated = log + ".1";
        Assert.True(File.Exists(rotated), $"no {rotated}:\n{output}");
        Assert.Contains("Ready to accept connections", File.ReadAllText(rotated), StringComparison.Ordinal);

        await using (var client = await WireClient.ConnectAsync(port))
        {
            Assert.Equal("PONG", await client.CallAsync("PING"));
        }

        await TaskTimeoutExtensions.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("Accepted client", StringComparison.Ordinal), "the next line in a new file at the original path");
        Assert.DoesNotContain("Accepted client", File.ReadAllText(rotated), StringComparison.Ordinal);
        Assert.False(server.Process.HasExited);
    }

    private static string Repository
    {
        get
        {
            var folder = new DirectoryInfo(AppContext.BaseDirectory);
            while (folder is not null && !File.Exists(Path.Join(folder.FullName, "notistream.sln")))
            {
                folder = folder.Parent;
            }

            return folder?.FullName ?? throw new InvalidOperationException("notistream.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>An executable file at <paramref name="path"/> (a shell script that does nothing).</summary>
    private static void Stub(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    private static Task<(int Status, string Output)> RunAsync(string program, params string[] args)
        => RunAsync(program, new Dictionary<string, string>(), args);

    /// <summary>Runs a program to its end; its exit status and standard output and error together.</summary>
    private static async Task<(int Status, string Output)> RunAsync(string program, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Token);
        var stderr = process.StandardError.ReadToEndAsync(Token);
        await process.WaitForExitAsync(Token).WaitAsync(TimeSpan.FromSeconds(60), Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
