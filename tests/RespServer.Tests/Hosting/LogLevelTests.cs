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
        try
        {
            // id=1, at notice: neither its accept nor (at warning, below) its end is logged
            await using var quiet = await RawClient.ConnectAsync(port);
            await quiet.SendAsync(RawClient.Command("PING"));
            await quiet.ExpectAsync("+PONG\r\n");

            // id=2: accepted at notice, ends at verbose
            await using (var admin = await RawClient.ConnectAsync(port))
            {
                await admin.SendAsync(RawClient.Command("CONFIG", "SET", "loglevel", "verbose"));
                await admin.ExpectAsync("+OK\r\n");
            }

            // id=3: accepted and ended at verbose
            await QuitAsync(port);

            // Connections end on the server after the client sees the close: wait until 2 and 3 are gone.
            await WaitUntilGoneAsync(host, 2, 3);

            // id=4: accepted at verbose, ends at warning
            await using (var admin = await RawClient.ConnectAsync(port))
            {
                await admin.SendAsync(RawClient.Command("CONFIG", "SET", "loglevel", "warning"));
                await admin.ExpectAsync("+OK\r\n");
            }

            // id=5: accepted and ended at warning
            await QuitAsync(port);

            await quiet.SendAsync(RawClient.Command("QUIT"));
            await quiet.ExpectAsync("+OK\r\n");
            await quiet.ExpectClosedAsync();
        }
        finally
        {
            // Stopping waits for every connection to end, so whatever they log is in the file now.
            await host.StopAsync(TimeSpan.FromSeconds(10));
        }

        var lines = (await File.ReadAllLinesAsync(_logFile, TestContext.Current.CancellationToken))
            .Where(l => l.Contains("Accepted client", StringComparison.Ordinal) || l.Contains("connection ended", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(" . ", StringComparison.Ordinal) + 3)..])
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @" addr=\S+", ""))
            .ToArray();
        // Connections end asynchronously, so the lines are compared in sorted order.
        string[] expected =
        [
            "Accepted client id=3",
            "Accepted client id=4",
            "Client id=2 connection ended (ClientClosed): the client closed the connection",
            "Client id=3 connection ended (CloseAfterReply): closed after its last reply",
        ];
        Assert.Equal(expected, lines.Order(StringComparer.Ordinal));
    }

    private static async Task WaitUntilGoneAsync(IHost host, params long[] ids)
    {
        var clients = host.Services.GetRequiredService<ServerContext>().Clients;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (clients.Snapshot().Any(c => ids.Contains(c.Id)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the server never ended the connections");
            await Task.Delay(1, TestContext.Current.CancellationToken);
        }
    }

    private static async Task QuitAsync(int port)
    {
        await using var client = await RawClient.ConnectAsync(port);
        await client.SendAsync(RawClient.Command("QUIT"));
        await client.ExpectAsync("+OK\r\n");
        await client.ExpectClosedAsync();
    }
}
