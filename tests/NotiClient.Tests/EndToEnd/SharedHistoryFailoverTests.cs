using System.Diagnostics;
using System.Text.Json;
using Notistream.Client.Resume;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.EndToEnd;

/// <summary>
/// Three Notistream nodes sharing their history in JetStream (three clustered nats-servers). Two clients, given
/// the three, follow on the first (one a channel, one a pattern); the first is killed (SIGKILL) while the third
/// publishes numbered messages without a pause. The clients move to the second node with their cursor: every
/// message printed once, in order, and no gap.
/// </summary>
public sealed class SharedHistoryFailoverTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task Clients_of_a_killed_node_resume_on_another_node_of_the_shared_history_with_nothing_lost_or_repeated()
    {
        var natsServer = ExternalProgram.Require("nats-server", "Debian: apt-get install nats-server");
        var watch = Stopwatch.StartNew();
        using var nats = await NatsJetStreamCluster.StartAsync(natsServer);
        await using var a = await ServerChildProcess.StartAsync(FreePort.Next(), nats.NodeArguments(0));
        await using var b = await ServerChildProcess.StartAsync(FreePort.Next(), nats.NodeArguments(1));
        await using var c = await ServerChildProcess.StartAsync(FreePort.Next(), nats.NodeArguments(2));
        var streams = new List<string>();
        foreach (var node in (ServerChildProcess[])[a, b, c])
        {
            var info = await WaitForHistoryAsync(node, nats);
            Assert.Equal("jetstream", info["nats_history"]);
            streams.Add(info["nats_history_stream"]);
        }

        Assert.Single(streams.Distinct());
        var servers = $"127.0.0.1:{a.Port},127.0.0.1:{b.Port},127.0.0.1:{c.Port}";
        await using var byName = ChildProcess.StartClient(["--server", servers, "--channels", "alerts", "--print", "--json"], Environment("by-name"));
        await using var byPattern = ChildProcess.StartClient(["--server", servers, "--channels", "al*", "--print", "--json"], Environment("by-pattern"));
        ChildProcess[] clients = [byName, byPattern];
        foreach (var client in clients)
        {
            await client.WaitForOutputAsync($"connected to 127.0.0.1:{a.Port}", Wait);
        }

        // One publisher on the third node, each NOTI.PUBLISH answered before the next: m0, m1, ... until stopped.
        using var stop = new CancellationTokenSource();
        var published = 0;
        var publishing = Task.Run(async () =>
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{c.Port}").WithTimeout();
            var db = connection.GetDatabase();
            while (!stop.IsCancellationRequested)
            {
                await db.ExecuteAsync("NOTI.PUBLISH", "alerts", $"m{Volatile.Read(ref published)}").WithTimeout();
                Interlocked.Increment(ref published);
                await Task.Delay(1);
            }
        });

        foreach (var client in clients)
        {
            await TaskTimeoutExtensions.WaitUntil(() => Count(client) >= 100 || publishing.IsCompleted, $"100 messages before the kill:\n{client.AllOutput}", Wait);
        }

        await a.KillAsync();
        var killedAt = Volatile.Read(ref published);
        foreach (var client in clients)
        {
            await client.WaitForOutputAsync($"reconnected to 127.0.0.1:{b.Port}", Wait);
        }

        await TaskTimeoutExtensions.WaitUntil(() => Volatile.Read(ref published) >= killedAt + 200 || publishing.IsCompleted, "200 messages published after the kill", Wait);
        await stop.CancelAsync();
        await publishing.WithTimeout();
        var total = Volatile.Read(ref published);
        foreach (var client in clients)
        {
            await TaskTimeoutExtensions.WaitUntil(() => Count(client) >= total, $"{total} messages:\n{client.StandardError}", Wait);
        }

        await Task.Delay(300); // anything printed twice would come now
        var expected = Enumerable.Range(0, total).Select(i => $"m{i}").ToList();
        foreach (var client in clients)
        {
            var lines = Lines(client);
            Assert.DoesNotContain(lines, l => l.GetProperty("event").GetString() == "gap");
            var printed = Printed(client);
            Assert.Equal(expected, printed.Select(p => p.Message));
            for (var i = 1; i < printed.Count; i++)
            {
                Assert.True(printed[i - 1].Id < printed[i].Id, $"ids not increasing at {i}: {printed[i - 1].Id} then {printed[i].Id}");
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{total} messages, {killedAt} before the kill; {watch.Elapsed.TotalSeconds:0.0} s in all");
    }

    /// <summary>INFO cluster once the node reads the shared history (<c>nats_history_ready:1</c>), as name → value.</summary>
    private static async Task<Dictionary<string, string>> WaitForHistoryAsync(ServerChildProcess node, NatsJetStreamCluster nats)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{node.Port},allowAdmin=true").WithTimeout();
        var db = connection.GetDatabase();
        var info = new Dictionary<string, string>();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            info = ((string)(await db.ExecuteAsync("INFO", "cluster").WithTimeout())!)
                .Split("\r\n").Select(line => line.Split(':', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);
            if (info.GetValueOrDefault("nats_history_ready") == "1")
            {
                return info;
            }

            Assert.True(deadline.Elapsed < Wait, $"node on {node.Port} not reading the shared history within {Wait.TotalSeconds} s:\n{string.Join('\n', info)}\n{node.Output}\n{nats.Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>The complete lines printed so far (the last may still be being written).</summary>
    private static List<JsonElement> Lines(ChildProcess client)
    {
        var output = client.StandardOutput;
        return [.. output[..(output.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }

    private static int Count(ChildProcess client) => client.StandardOutput.AsSpan().Count("\"event\":\"message\"");

    private static List<(MessageId Id, string Message)> Printed(ChildProcess client) =>
        [.. Lines(client).Where(l => l.GetProperty("event").GetString() == "message")
            .Select(l => (MessageId.Parse(l.GetProperty("id").GetString()!), l.GetProperty("message").GetString()!))];

    private Dictionary<string, string?> Environment(string name) => new()
    {
        ["XDG_STATE_HOME"] = _home.File($"{name}/state"),
        ["XDG_CONFIG_HOME"] = _home.File($"{name}/config"),
        ["HOME"] = _home.File(name),
    };
}
