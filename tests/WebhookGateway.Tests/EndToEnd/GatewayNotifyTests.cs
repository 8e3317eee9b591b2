using System.Diagnostics;
using System.Globalization;
using System.Text;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.EndToEnd;

/// <summary>
/// The gateway as its own process (<c>dotnet notistream-gateway.dll</c>) with NOTIFY_SOCKET set, as a
/// Type=notify unit starts it: READY=1 once Kestrel answers, STOPPING=1 at SIGTERM.
/// </summary>
public sealed class GatewayNotifyTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ready_comes_once_http_answers_and_stopping_at_sigterm()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "NOTIFY_SOCKET is a unix datagram socket; SIGTERM is a POSIX signal");
        await using var server = await NotistreamServer.StartAsync();
        using var notify = NotifySocket.Create();
        var port = FreePort.Next();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        // The moment READY=1 arrives, one request, without retrying, must be answered.
        var ready = Task.Run(async () =>
        {
            var message = await notify.ReceiveAsync(TimeSpan.FromSeconds(60));
            if (message is null)
            {
                return (message, (int?)null);
            }

            using var response = await http.GetAsync("/healthz", Token);
            return (message, (int?)response.StatusCode);
        }, Token);

        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path)
            ? path : ExternalProgram.Find("dotnet") ?? "dotnet";
        var info = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Path.Join(AppContext.BaseDirectory, "notistream-gateway.dll"));
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment["NOTIFY_SOCKET"] = notify.Path;
        info.Environment["NOTISTREAM_SERVER"] = $"127.0.0.1:{server.Port}";

        // As systemd sets it for a service whose output goes to the journal.
        info.Environment["JOURNAL_STREAM"] = "8:12345";
        var output = new StringBuilder();
        using var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var (first, status) = await ready.WaitAsync(TimeSpan.FromSeconds(60), Token);
            Assert.True(first == "READY=1", $"expected READY=1, got {first ?? "nothing"}:\n{output}");
            Assert.Equal(200, status);

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(Token);
            }

            Assert.Equal("STOPPING=1", await notify.ReceiveAsync(TimeSpan.FromSeconds(30)));
            await process.WaitForExitAsync(Token).WaitAsync(TimeSpan.FromSeconds(30), Token);
            Assert.Equal(0, process.ExitCode);

            // The journal's format: one line per entry, its syslog priority first, no colour.
            var text = output.ToString();
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.NotEmpty(lines);
            Assert.All(lines, line => Assert.Matches(@"^<[0-7]>", line));
            Assert.DoesNotContain('\u001b', text);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
    }
}
