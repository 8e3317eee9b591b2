using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Tests.Connections;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Hosting;

/// <summary>The server as started by its own program (log file, levels from <c>loglevel</c>), not the tests' logging.</summary>
public sealed class LogLevelTests : IDisposable
{
    private readonly string _logFile = Path.Combine(Path.GetTempPath(), $"notistream-log-{Guid.NewGuid():N}.log");

    public void Dispose() => File.Delete(_logFile);

    [Fact]
    public async Task Config_set_loglevel_verbose_logs_connections_from_then_on()
    {
        var options = ConfigLoader.Load(["--port", "0", "--bind", "127.0.0.1", "--logfile", _logFile]);
        using var host = RespServerHost.Build(options);
        await host.StartAsync(TestContext.Current.CancellationToken).WithTimeout();
        var port = host.Services.GetRequiredService<ServerContext>().BoundPort;
        var before = 0;
        try
        {
            // notice: a connection is not logged (once it has its reply, its accept would have been)
            await using var quiet = await RawClient.ConnectAsync(port);
            await quiet.SendAsync(RawClient.Command("PING"));
            await quiet.ExpectAsync("+PONG\r\n");

            await using (var admin = await RawClient.ConnectAsync(port))
            {
                await admin.SendAsync(RawClient.Command("CONFIG", "SET", "loglevel", "verbose"));
                await admin.ExpectAsync("+OK\r\n");
            }

            await using (var client = await RawClient.ConnectAsync(port))
            {
                await client.SendAsync(RawClient.Command("QUIT"));
                await client.ExpectAsync("+OK\r\n");
                await client.ExpectClosedAsync();
            }

            // the admin connection ended after the change (logged); it was accepted before it (not logged)
            var log = await WaitForLogAsync("connection ended", count: 2);
            var lines = log.Split('\n');
            Assert.Single(lines, l => l.Contains("Accepted client id=3 addr=127.0.0.1:", StringComparison.Ordinal));
            Assert.Single(lines, l => l.Contains("Client id=2 addr=127.0.0.1:", StringComparison.Ordinal) && l.EndsWith("connection ended: client closed the connection", StringComparison.Ordinal));
            Assert.Single(lines, l => l.Contains("Client id=3 addr=127.0.0.1:", StringComparison.Ordinal) && l.EndsWith("connection ended: closed after its last reply", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("id=1 ", StringComparison.Ordinal));

            // and back: at warning nothing more is logged, not even this connection's end
            await using (var admin = await RawClient.ConnectAsync(port))
            {
                await admin.SendAsync(RawClient.Command("CONFIG", "SET", "loglevel", "warning"));
                await admin.ExpectAsync("+OK\r\n");
                before = (await File.ReadAllTextAsync(_logFile, TestContext.Current.CancellationToken)).Length;
            }

            await using (var client = await RawClient.ConnectAsync(port))
            {
                await client.SendAsync(RawClient.Command("QUIT"));
                await client.ExpectAsync("+OK\r\n");
                await client.ExpectClosedAsync();
            }

            await quiet.SendAsync(RawClient.Command("QUIT"));
            await quiet.ExpectAsync("+OK\r\n");
            await quiet.ExpectClosedAsync();
        }
        finally
        {
            // Stopping waits for every connection to end, so whatever they log is in the file now.
            await host.StopAsync(TimeSpan.FromSeconds(10));
        }

        var rest = (await File.ReadAllTextAsync(_logFile, TestContext.Current.CancellationToken))[before..];
        Assert.DoesNotContain("Accepted client", rest, StringComparison.Ordinal);
        Assert.DoesNotContain("connection ended", rest, StringComparison.Ordinal);
    }

    /// <summary>The log once it holds <paramref name="count"/> lines with <paramref name="text"/> (lines are written
    /// when the server has finished with a connection, which may be just after the client saw it close).</summary>
    private async Task<string> WaitForLogAsync(string text, int count = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var log = File.Exists(_logFile) ? await File.ReadAllTextAsync(_logFile) : "";
            if (log.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal)) >= count)
            {
                return log;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the log never showed \"{text}\" {count} time(s):\n{log}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
