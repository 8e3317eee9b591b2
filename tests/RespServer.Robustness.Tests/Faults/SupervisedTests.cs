using System.Globalization;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>
/// supervised systemd|auto|no|upstart with the server as its own process and a unix datagram socket
/// standing in for systemd's NOTIFY_SOCKET, as a Type=notify unit starts it.
/// </summary>
public sealed class SupervisedTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("systemd")]
    [InlineData("auto")]
    public async Task Ready_comes_once_the_port_answers_and_stopping_at_sigterm(string mode)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "NOTIFY_SOCKET is a unix datagram socket; SIGTERM is a POSIX signal");
        using var notify = NotifySocket.Create();
        var port = FreePort.Next();

        // The moment READY=1 arrives, one connection and one PING, without retrying, must be answered.
        var ready = Task.Run(async () =>
        {
            var message = await notify.ReceiveAsync(TimeSpan.FromSeconds(60));
            if (message is null)
            {
                return (message, (object?)null);
            }

            await using var client = await WireClient.ConnectAsync(port);
            return (message, await client.CallAsync("PING"));
        }, Token);
        await using var server = await ServerProcess.StartAsync(
            port, new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notify.Path, ["UPSTART_JOB"] = null }, "--supervised", mode);
        var (first, pong) = await ready.WithTimeout(TimeSpan.FromSeconds(60));
        Assert.Equal("READY=1", first);
        Assert.Equal("PONG", pong);

        // As Redis: the mode found is what CONFIG GET shows, and INFO says who supervises.
        await using (var client = await WireClient.ConnectAsync(port))
        {
            var config = Assert.IsType<object?[]>(await client.CallAsync("CONFIG", "GET", "supervised"));
            Assert.Equal("systemd", System.Text.Encoding.UTF8.GetString(Assert.IsType<byte[]>(config[1])));
            var info = System.Text.Encoding.UTF8.GetString(Assert.IsType<byte[]>(await client.CallAsync("INFO", "server")));
            Assert.Contains("process_supervised:systemd\r\n", info, StringComparison.Ordinal);
        }

        // Nothing else before the stop.
        Assert.Null(await notify.ReceiveAsync(TimeSpan.FromMilliseconds(200)));
        server.Terminate();
        Assert.Equal("STOPPING=1", await notify.ReceiveAsync(TimeSpan.FromSeconds(30)));
        await server.Process.WaitForExitAsync(Token).WithTimeout(TimeSpan.FromSeconds(30));
        Assert.Equal(0, server.Process.ExitCode);
        Assert.Contains("Supervised by systemd.", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_systemd_ctrl_c_still_stops_the_server_cleanly()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "NOTIFY_SOCKET is a unix datagram socket; SIGINT is a POSIX signal");
        using var notify = NotifySocket.Create();
        var port = FreePort.Next();
        await using var server = await ServerProcess.StartAsync(
            port, new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = notify.Path }, "--supervised", "systemd");
        Assert.Equal("READY=1", await notify.ReceiveAsync(TimeSpan.FromSeconds(30)));
        using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", server.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(Token);
        }

        Assert.Equal("STOPPING=1", await notify.ReceiveAsync(TimeSpan.FromSeconds(30)));
        await server.Process.WaitForExitAsync(Token).WithTimeout(TimeSpan.FromSeconds(30));
        Assert.Equal(0, server.Process.ExitCode);
        Assert.Contains("bye bye", server.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no", null)]
    [InlineData("upstart", "upstart supervision is not supported")]
    [InlineData("systemd", null)]
    public async Task Nothing_is_sent_unless_supervised_by_systemd(string mode, string? logged)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "NOTIFY_SOCKET is a unix datagram socket; SIGTERM is a POSIX signal");
        using var notify = NotifySocket.Create();
        var port = FreePort.Next();

        // supervised systemd without NOTIFY_SOCKET: Redis's warning, and nothing sent anywhere.
        var socket = mode == "systemd" ? null : notify.Path;
        await using var server = await ServerProcess.StartAsync(
            port, new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = socket, ["UPSTART_JOB"] = null }, "--supervised", mode);
        await using (var client = await WireClient.ConnectAsync(port))
        {
            Assert.Equal("PONG", await client.CallAsync("PING"));
            var config = Assert.IsType<object?[]>(await client.CallAsync("CONFIG", "GET", "supervised"));
            Assert.Equal(mode, System.Text.Encoding.UTF8.GetString(Assert.IsType<byte[]>(config[1])));
            var info = System.Text.Encoding.UTF8.GetString(Assert.IsType<byte[]>(await client.CallAsync("INFO", "server")));
            Assert.Contains("process_supervised:no\r\n", info, StringComparison.Ordinal);
        }

        server.Terminate();
        await server.Process.WaitForExitAsync(Token).WithTimeout(TimeSpan.FromSeconds(30));
        Assert.Equal(0, server.Process.ExitCode);
        Assert.Null(await notify.ReceiveAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Contains(logged ?? (mode == "systemd" ? "systemd supervision error: NOTIFY_SOCKET not found!" : "bye bye"), server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sighup_neither_stops_the_server_nor_is_needed_for_a_renamed_log_file()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SIGHUP is a POSIX signal; open files are read from /proc");
        var folder = Directory.CreateTempSubdirectory("notistream-log-");
        try
        {
            var log = Path.Join(folder.FullName, "notistream-server.log");
            var port = FreePort.Next();
            await using var server = await ServerProcess.StartAsync(port, "--logfile", log, "--loglevel", "verbose");
            await TaskTimeoutExtensions.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("Ready to accept connections", StringComparison.Ordinal), "the start-up lines in the log");

            // What logrotate does without copytruncate: rename, then (here) the signal a postrotate would send.
            var rotated = log + ".1";
            File.Move(log, rotated);
            Hangup(server.Process.Id);
            await using (var client = await WireClient.ConnectAsync(port))
            {
                Assert.Equal("PONG", await client.CallAsync("PING"));
            }

            await TaskTimeoutExtensions.WaitUntil(() => File.Exists(log) && File.ReadAllText(log).Contains("Accepted client", StringComparison.Ordinal), "the new connection logged in a new file at the original path");
            Assert.False(server.Process.HasExited, "SIGHUP ended the server");
            Assert.DoesNotContain("Accepted client", File.ReadAllText(rotated), StringComparison.Ordinal);

            // Neither file is held open between lines: the renamed one can be compressed or removed at once.
            var open = Directory.GetFileSystemEntries($"/proc/{server.Process.Id}/fd")
                .Select(fd => new FileInfo(fd).LinkTarget).Where(target => target is not null).ToList();
            Assert.DoesNotContain(open, target => target!.StartsWith(log, StringComparison.Ordinal));

            server.Terminate();
            await server.Process.WaitForExitAsync(Token).WithTimeout(TimeSpan.FromSeconds(30));
            Assert.Equal(0, server.Process.ExitCode);
            Assert.Contains("bye bye", File.ReadAllText(log), StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task With_its_output_to_the_journal_each_entry_is_one_line_with_its_priority_and_no_colour()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SIGTERM is a POSIX signal");
        var port = FreePort.Next();

        // systemd sets JOURNAL_STREAM (device:inode of the journal's socket) for a service's output.
        await using var server = await ServerProcess.StartAsync(port, new Dictionary<string, string?> { ["JOURNAL_STREAM"] = "8:12345" }, "--maxclients", "100");
        server.Terminate();
        await server.Process.WaitForExitAsync(Token).WithTimeout(TimeSpan.FromSeconds(30));
        var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, line => line.StartsWith("<6>", StringComparison.Ordinal) && line.Contains("Ready to accept connections", StringComparison.Ordinal));
        Assert.All(lines, line => Assert.Matches(@"^<[0-7]>", line));
        Assert.DoesNotContain('\u001b', server.Output);
    }

    private static void Hangup(int pid)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-HUP", pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
