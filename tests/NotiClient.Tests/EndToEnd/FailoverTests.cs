using System.Text;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Client.Tests.Resume;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.EndToEnd;

/// <summary>
/// Two standalone server processes; the gateway and the client are given both and use the first. The
/// first is killed (SIGKILL): publishing, an HTTP subscriber and the client carry on through the second,
/// where they have no position (history is per node): a gap, and none of the second's old messages.
/// </summary>
public sealed class FailoverTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private readonly TempDirectory _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task The_gateway_publishes_and_keeps_an_http_subscriber_going_through_the_second_server_with_a_gap_when_the_first_is_killed()
    {
        await using var first = await ServerChildProcess.StartAsync(FreePort.Next());
        await using var second = await ServerChildProcess.StartAsync(FreePort.Next());
        await using var gateway = await TestGateway.StartAsync($"127.0.0.1:{first.Port},127.0.0.1:{second.Port}");
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Url), Timeout = TimeSpan.FromSeconds(30) };

        using var stream = await http.GetAsync("/alerts/json", HttpCompletionOption.ResponseHeadersRead).WithTimeout();
        Assert.True(stream.IsSuccessStatusCode, $"{stream.StatusCode}\n{gateway.AllOutput}");
        var received = new StringBuilder();
        var reading = ReadAllAsync(await stream.Content.ReadAsStreamAsync(), received);

        await PostAsync(http, "before the kill", gateway);
        await WaitForAsync(received, "before the kill", gateway);

        await first.KillAsync();
        // Through the second server. A PUBLISH already written to the killed node's connection may or may not
        // have gone out: 503, and the caller retries, as Retry-After says. The subscriber follows there too,
        // from now (it has no position on that node): the message arrives, or, published before the subscriber
        // got there, is covered by the gap reported for the move.
        await PostRetryingAsync(http, "after the kill", gateway);
        await TaskTimeoutExtensions.WaitUntil(() =>
        {
            lock (received)
            {
                return received.ToString().Contains("\"event\":\"gap\"", StringComparison.Ordinal);
            }
        }, $"a gap on the HTTP stream:\n{received}\n{gateway.AllOutput}", Wait);
        await PostAsync(http, "later", gateway);
        await WaitForAsync(received, "later", gateway);

        // The console logger writes on a thread of its own: wait for the lines rather than look once.
        await TaskTimeoutExtensions.WaitUntil(() => gateway.AllOutput.Contains($"The pub/sub server in use is 127.0.0.1:{second.Port} now", StringComparison.Ordinal),
            $"the move in the gateway's log:\n{gateway.AllOutput}", Wait);
        await TaskTimeoutExtensions.WaitUntil(() => gateway.AllOutput.Contains("following from", StringComparison.Ordinal),
            $"the subscriber's move in the gateway's log:\n{gateway.AllOutput}", Wait);
        Assert.False(reading.IsCompleted, $"the HTTP stream ended:\n{received}\n{gateway.AllOutput}");
    }

    [Fact]
    public async Task The_client_moves_to_the_second_server_when_the_first_is_killed_with_a_gap_and_none_of_its_old_history()
    {
        await using var first = await ServerChildProcess.StartAsync(FreePort.Next());
        await using var second = await ServerChildProcess.StartAsync(FreePort.Next());
        await using var client = ChildProcess.StartClient(
            ["--server", $"127.0.0.1:{first.Port},127.0.0.1:{second.Port}", "--channels", "alerts", "--print", "--json"], Environment);
        await client.WaitForOutputAsync($"connected to 127.0.0.1:{first.Port}", Wait);

        await ResumeEndToEndTests.PublishAsync(first.Port, [("alerts", "before the kill")]);
        await client.WaitForOutputAsync("before the kill", Wait);
        // The second server's own history, newer than the client's cursor on the first: a cursor from the first
        // means nothing there, so none of it is replayed, and the move is reported as a gap of unknown size.
        await ResumeEndToEndTests.PublishAsync(second.Port, [("alerts", "old on the second")]);

        await first.KillAsync();
        await client.WaitForOutputAsync($"connected to 127.0.0.1:{second.Port}", Wait);
        await client.WaitForOutputAsync("\"event\":\"gap\"", Wait);
        await ResumeEndToEndTests.PublishAsync(second.Port, [("alerts", "after the kill")]);
        await client.WaitForOutputAsync("after the kill", Wait);
        Assert.Contains($"trying the next server, 127.0.0.1:{second.Port}", client.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("old on the second", client.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\"missed\":null", client.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, Count(client.StandardOutput, "after the kill"));
        Assert.Equal(1, Count(client.StandardOutput, "before the kill"));
    }

    [Fact]
    public async Task The_client_does_not_spin_on_servers_that_accept_and_drop_at_once()
    {
        using var a = new DroppingServer();
        using var b = new DroppingServer();
        await using var client = ChildProcess.StartClient(
            ["--server", $"127.0.0.1:{a.Port},127.0.0.1:{b.Port}", "--channels", "alerts", "--print"], Environment);
        await TaskTimeoutExtensions.WaitUntil(() => a.Accepted > 0, $"a first connection:\n{client.AllOutput}", Wait);
        var before = a.Accepted + b.Accepted;
        await Task.Delay(TimeSpan.FromSeconds(2));
        var during = a.Accepted + b.Accepted - before;

        // At least the reconnect minimum (1 s) per round of two: a handful, not hundreds.
        Assert.True(during <= 8, $"{during} connections in 2 s:\n{client.AllOutput}");
    }

    [Fact]
    public async Task The_client_skips_a_first_server_that_is_down()
    {
        await using var second = await ServerChildProcess.StartAsync(FreePort.Next());
        // Bound and never listening, held for the whole test: connections to it are refused, and no other
        // process can take the port meanwhile.
        using var held = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        held.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var down = ((System.Net.IPEndPoint)held.LocalEndPoint!).Port;
        await using var client = ChildProcess.StartClient(
            ["--server", $"127.0.0.1:{down},127.0.0.1:{second.Port}", "--channels", "alerts", "--print", "--json"], Environment);

        await client.WaitForOutputAsync($"connected to 127.0.0.1:{second.Port}", Wait);
        await ResumeEndToEndTests.PublishAsync(second.Port, [("alerts", "through the second")]);
        await client.WaitForOutputAsync("through the second", Wait);
    }

    [Fact]
    public async Task Server_with_host_is_refused_with_exit_code_2()
    {
        await using var client = ChildProcess.StartClient(["--server", "127.0.0.1:1,127.0.0.1:2", "--host", "127.0.0.1", "--channels", "alerts", "--print"], Environment);
        Assert.Equal(2, await client.WaitForExitAsync(Wait));
        Assert.Contains("--server cannot be used with --host or --port", client.AllOutput, StringComparison.Ordinal);
    }

    private Dictionary<string, string?> Environment => new()
    {
        ["XDG_STATE_HOME"] = _home.File("state"),
        ["XDG_CONFIG_HOME"] = _home.File("config"),
        ["HOME"] = _home.Path,
    };

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>Accepts, answers INFO, confirms a NOTI.SUBSCRIBE, and closes the connection at once: a node that is there and is not.</summary>
    private sealed class DroppingServer : IDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private int _accepted;

        public DroppingServer()
        {
            _listener.Start();
            _ = Task.Run(AcceptAsync);
        }

        public int Port => ((System.Net.IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                System.Net.Sockets.TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception)
                {
                    return;
                }

                Interlocked.Increment(ref _accepted);
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        try
                        {
                            var stream = client.GetStream();
                            var buffer = new byte[4096];
                            var seen = new StringBuilder();
                            var answered = false;
                            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                            while (!seen.ToString().Contains("NOTI.SUBSCRIBE", StringComparison.OrdinalIgnoreCase))
                            {
                                var read = await stream.ReadAsync(buffer, timeout.Token);
                                if (read == 0)
                                {
                                    return;
                                }

                                seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
                                if (!answered && seen.ToString().Contains("INFO", StringComparison.OrdinalIgnoreCase))
                                {
                                    // CLIENT SETNAME, then INFO cluster (a standalone server's, with no nats_ fields).
                                    await stream.WriteAsync("+OK\r\n$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"u8.ToArray(), timeout.Token);
                                    answered = true;
                                }
                            }

                            await stream.WriteAsync("*4\r\n$14\r\nnoti.subscribe\r\n$3\r\n0-0\r\n:0\r\n$3\r\n0-0\r\n"u8.ToArray(), timeout.Token);
                        }
                        catch (Exception)
                        {
                            // whatever the client did: the connection ends here
                        }
                    }
                });
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }

    private static async Task PostRetryingAsync(HttpClient http, string message, TestGateway gateway)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            using var response = await http.PostAsync("/alerts", new StringContent(message)).WithTimeout();
            if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable)
            {
                Assert.True(response.IsSuccessStatusCode, $"POST answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{gateway.AllOutput}");
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"POST answered 503 for 5 s\n{gateway.AllOutput}");
    }

    private static async Task PostAsync(HttpClient http, string message, TestGateway gateway)
    {
        using var response = await http.PostAsync("/alerts", new StringContent(message)).WithTimeout();
        Assert.True(response.IsSuccessStatusCode, $"POST answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{gateway.AllOutput}");
    }

    private static Task WaitForAsync(StringBuilder received, string text, TestGateway gateway) =>
        TaskTimeoutExtensions.WaitUntil(() =>
        {
            lock (received)
            {
                return received.ToString().Contains(text, StringComparison.Ordinal);
            }
        }, $"'{text}' on the HTTP stream:\n{received}\n{gateway.AllOutput}", Wait);

    private static async Task ReadAllAsync(Stream stream, StringBuilder into)
    {
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (into)
            {
                into.AppendLine(line);
            }
        }
    }
}
