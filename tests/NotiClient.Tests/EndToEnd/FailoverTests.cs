using System.Text;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Client.Tests.Resume;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.EndToEnd;

/// <summary>
/// Two standalone server processes; the gateway and the client are given both and use the first. The
/// first is killed (SIGKILL): publishing, an HTTP subscriber and the client carry on through the second.
/// </summary>
public sealed class FailoverTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private readonly TempDirectory _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task The_gateway_publishes_and_keeps_an_http_subscriber_going_through_the_second_server_when_the_first_is_killed()
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
        // The first publish after the kill already succeeds: through the second server.
        await PostAsync(http, "after the kill", gateway);
        await WaitForAsync(received, "after the kill", gateway);

        Assert.Contains($"Publishing through the pub/sub server at 127.0.0.1:{second.Port} now", gateway.AllOutput, StringComparison.Ordinal);
        Assert.Contains($"following from", gateway.AllOutput, StringComparison.Ordinal);
        Assert.False(reading.IsCompleted, $"the HTTP stream ended:\n{received}\n{gateway.AllOutput}");
    }

    [Fact]
    public async Task The_client_moves_to_the_second_server_when_the_first_is_killed_and_resumes_from_its_cursor()
    {
        await using var first = await ServerChildProcess.StartAsync(FreePort.Next());
        await using var second = await ServerChildProcess.StartAsync(FreePort.Next());
        await using var client = ChildProcess.StartClient(
            ["--server", $"127.0.0.1:{first.Port},127.0.0.1:{second.Port}", "--channels", "alerts", "--print", "--json"], Environment);
        await client.WaitForOutputAsync($"connected to 127.0.0.1:{first.Port}", Wait);

        await ResumeEndToEndTests.PublishAsync(first.Port, [("alerts", "before the kill")]);
        await client.WaitForOutputAsync("before the kill", Wait);

        await first.KillAsync();
        // Published before the client is back, perhaps: it must come from the second server's history.
        await ResumeEndToEndTests.PublishAsync(second.Port, [("alerts", "after the kill")]);
        await client.WaitForOutputAsync($"connected to 127.0.0.1:{second.Port}", Wait);
        await client.WaitForOutputAsync("after the kill", Wait);
        Assert.Contains($"trying the next server, 127.0.0.1:{second.Port}", client.AllOutput, StringComparison.Ordinal);
        Assert.Equal(1, Count(client.StandardOutput, "after the kill"));
        Assert.Equal(1, Count(client.StandardOutput, "before the kill"));
    }

    [Fact]
    public async Task The_client_skips_a_first_server_that_is_down()
    {
        await using var second = await ServerChildProcess.StartAsync(FreePort.Next());
        var down = FreePort.Next();
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
