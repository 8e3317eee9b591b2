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
    /// packaging/install.sh (what docs/operations.md runs) into a temporary root, from a release folder of
    /// stand-in programs; then the two system units verified there, against this machine's own systemd units
    /// (copied into the root for the targets they name): verify loads them with their dependencies and checks
    /// that each ExecStart program exists under the root.
    /// </summary>
    [Fact]
    public async Task Install_sh_installs_units_that_verify_clean_and_keeps_the_settings_on_an_upgrade()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "systemd is Linux's");
        var analyze = ExternalProgram.Require("systemd-analyze", "Debian package systemd");
        var root = _folder.CreateSubdirectory("root").FullName;
        var release = _folder.CreateSubdirectory("release").FullName;
        foreach (var program in new[] { "notistream-server", "notistream-gateway", "notistream" })
        {
            Stub(Path.Join(release, program));
        }

        var install = Path.Join(Repository, "packaging", "install.sh");
        var (installed, installOutput) = await RunAsync("bash", install, "--root", root, "--from", release);
        Assert.True(installed == 0, installOutput);
        foreach (var file in new[]
        {
            "usr/local/bin/notistream-server", "usr/local/bin/notistream-gateway", "usr/local/bin/notistream",
            "usr/local/bin/notistream-backup",
            "etc/systemd/system/notistream-server.service", "etc/systemd/system/notistream-gateway.service",
            "etc/systemd/user/notistream.service", "etc/logrotate.d/notistream",
            "etc/notistream/notistream.conf", "etc/notistream/gateway.env",
        })
        {
            Assert.True(File.Exists(Path.Join(root, file)), $"{file} not installed");
        }

        // An upgrade is the same command: the settings stay as they were.
        await File.WriteAllTextAsync(Path.Join(root, "etc", "notistream", "notistream.conf"), "maxclients 500\n", Token);
        (installed, installOutput) = await RunAsync("bash", install, "--root", root, "--from", release);
        Assert.True(installed == 0, installOutput);
        Assert.Equal("maxclients 500\n", await File.ReadAllTextAsync(Path.Join(root, "etc", "notistream", "notistream.conf"), Token));

        Directory.CreateDirectory(Path.Join(root, "usr", "lib", "systemd"));
        var (copied, copyOutput) = await RunAsync("cp", "-a", "/usr/lib/systemd/system", Path.Join(root, "usr", "lib", "systemd"));
        Assert.True(copied == 0, copyOutput);
        var (status, output) = await RunAsync(analyze, "verify", $"--root={root}", "notistream-server.service", "notistream-gateway.service");
        Assert.True(status == 0 && output.Length == 0, $"systemd-analyze verify: exit {status}\n{output}");

        // Without a program, verify says so: it really looks for them under the root.
        File.Delete(Path.Join(root, "usr", "local", "bin", "notistream-gateway"));
        var (missing, missingOutput) = await RunAsync(analyze, "verify", $"--root={root}", "notistream-server.service", "notistream-gateway.service");
        Assert.NotEqual(0, missing);
        Assert.Contains("/usr/local/bin/notistream-gateway is not executable", missingOutput, StringComparison.Ordinal);
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

    /// <summary>
    /// packaging/notistream-backup against a running server with the log on and a client writing all along;
    /// the copy, put in place as a new server's appendonlydir, loads with every entry written before it began.
    /// </summary>
    [Fact]
    public async Task Notistream_backup_copies_a_running_servers_append_only_folder_that_a_new_server_loads()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "runs bash, cp and redis-cli");
        ExternalProgram.Require("redis-cli", "Debian package redis-tools");
        var data = _folder.CreateSubdirectory("data").FullName;
        var port = FreePort.Next();
        await using var server = await ServerProcess.StartAsync(port, "--appendonly", "yes", "--dir", data);
        await using (var client = await WireClient.ConnectAsync(port))
        {
            for (var i = 0; i < 500; i++)
            {
                Assert.IsType<byte[]>(await client.CallAsync("XADD", "events", "*", "n", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        }

        long written = 500;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            await using var client = await WireClient.ConnectAsync(port);
            while (!stop.IsCancellationRequested)
            {
                Assert.IsType<byte[]>(await client.CallAsync("XADD", "events", "*", "n", "more"));
                Interlocked.Increment(ref written);
            }
        }, Token);

        var backup = Path.Join(_folder.FullName, "backup");
        var (status, output) = await RunAsync("bash", Path.Join(Repository, "packaging", "notistream-backup"), backup,
            "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await stop.CancelAsync();
        await writer.WithTimeout();
        Assert.True(status == 0, $"notistream-backup: exit {status}\n{output}\n{server.Output}");

        var restored = _folder.CreateSubdirectory("restored").FullName;
        var (copied, copyOutput) = await RunAsync("cp", "-a", backup, Path.Join(restored, "appendonlydir"));
        Assert.True(copied == 0, copyOutput);
        var second = await ServerProcess.StartAsync(FreePort.Next(), "--appendonly", "yes", "--dir", restored);
        await using (second)
        {
            await using var check = await WireClient.ConnectAsync(second.Port);
            var length = Assert.IsType<long>(await check.CallAsync("XLEN", "events"));
            Assert.InRange(length, 500, Interlocked.Read(ref written));
        }
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
