using Notistream.LoadGen.Reporting;
using Notistream.LoadGen.Wire;
using Notistream.Testing;

namespace Notistream.LoadGen.Tests;

/// <summary>
/// Every scenario in smoke sizes against our server and against redis-server: nothing lost, real figures.
/// Our server runs inside the test process, so only redis-server's run has a <c>--server-pid</c>.
/// </summary>
public class SmokeTests
{
    [Fact]
    public async Task Every_scenario_against_our_server_delivers_every_message()
    {
        await using var server = await NotistreamServer.StartAsync();
        var report = await RunAsync(server.Port, serverPid: null);
        Assert.StartsWith("notistream ", report.Server, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_scenario_against_redis_server_delivers_every_message()
    {
        await using var server = await RedisServerProcess.StartAsync("--maxclients", "1000");
        var report = await RunAsync(server.Port, server.Pid);
        Assert.StartsWith("redis 7", report.Server, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_subscriber_killed_during_the_run_makes_the_case_invalid()
    {
        await using var server = await RedisServerProcess.StartAsync();
        var options = LoadGenOptions.Smoke("127.0.0.1", server.Port) with { Scenarios = ["fanout"], FanoutSubscribers = [1], DurationSeconds = 1 };
        var run = LoadGenerator.RunAsync(options);

        // Once the subscriber is subscribed and messages flow, the server drops it.
        using (var admin = await LoadConnection.ConnectAsync(server.EndPoint, busy: false, TestContext.Current.CancellationToken))
        {
            while ((await admin.CallAsync("PUBSUB", "CHANNELS", "*fanout")).Items.Count == 0)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            await Task.Delay(300, TestContext.Current.CancellationToken);
            Assert.Equal(1, (await admin.CallAsync("CLIENT", "KILL", "TYPE", "pubsub")).Integer);
        }

        var report = await run.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        var result = Assert.Single(report.Results);
        Assert.False(report.Valid);
        Assert.False(result.Valid);
        Assert.True(result.Delivery.Lost > 0, result.Delivery.ToString());
        Assert.True(result.Delivery.ReplyMismatches > 0, result.Delivery.ToString());
        Assert.Contains(result.Problems, p => p.Contains("closed a subscriber", StringComparison.Ordinal));
        Assert.Contains("INVALID", TableWriter.Format(report), StringComparison.Ordinal);
    }

    private static async Task<RunReport> RunAsync(int port, int? serverPid)
    {
        var options = LoadGenOptions.Smoke("127.0.0.1", port) with { DurationSeconds = 0.6, ServerPid = serverPid };
        var report = await LoadGenerator.RunAsync(options).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        var text = TableWriter.Format(report);
        Assert.True(report.Valid, text);
        Assert.Equal(
            ["fanout N=1", "fanout N=20", "channels C=200, 20/conn", "patterns K=0", "patterns K=100", "patterns K=100 / K=0", "latency 2000/s x 5 subs", "connections 100 idle",
             "history store", "history XADD + XREAD", "history memory N=10000", "history catch-up N=5000"],
            report.Results.Select(r => r.Case));
        foreach (var result in report.Results)
        {
            Assert.True(result.Delivery.Clean, $"{result.Case}: {result.Delivery}");
            Assert.Empty(result.Problems);
            foreach (var metric in result.Metrics.Where(m => m.Better == "higher"))
            {
                Assert.True(metric.Value > 0, $"{result.Case} {metric.Name} = {metric.Value}");
            }

            if (!result.Case.Contains(" / ", StringComparison.Ordinal))
            {
                // The generator's own garbage collections during the case, shown beside its figures.
                Assert.True(result.Metrics.Single(m => m.Name == "generator GCs").Value >= 0, result.Case);
                Assert.True(result.Metrics.Single(m => m.Name == "generator GC pause").Value >= 0, result.Case);
            }
        }

        double Figure(string @case, string metric) =>
            report.Results.Single(r => r.Case == @case).Metrics.Single(m => m.Name == metric).Value!.Value;

        // Fan-out to 20 delivers 20 times what it publishes; one channel subscriber gets each message once.
        Assert.InRange(Figure("fanout N=20", "deliveries/s") / Figure("fanout N=20", "publishes/s"), 19.0, 21.0);
        Assert.Equal(report.Results[0].Delivery.Received, Figure("fanout N=1", "published"));
        Assert.True(report.Results.Single(r => r.Case == "channels C=200, 20/conn").Delivery.Received > 200);

        // Latency: 2,000 msg/s x 5 subscribers for 0.6 s, the warm-up excluded from the samples.
        var latency = report.Results.Single(r => r.Scenario == "latency");
        Assert.Equal(5 * 1200, latency.Delivery.Received);
        Assert.True(Figure(latency.Case, "samples") > 0);
        Assert.True(Figure(latency.Case, "p50") > 0);
        Assert.True(Figure(latency.Case, "p50") <= Figure(latency.Case, "p99"));
        Assert.True(Figure(latency.Case, "p99") <= Figure(latency.Case, "max"));

        // The server's CPU time over each throughput and latency case's window, with --server-pid; the
        // generator's always. The throughput cases keep the server busy for tens of 10 ms ticks; the
        // latency case's few thousand deliveries may take less than one.
        foreach (var result in report.Results.Where(r => (r.Scenario is "fanout" or "channels" or "patterns" or "latency" || r.Case.StartsWith("history store", StringComparison.Ordinal) || r.Case == "history XADD + XREAD") && !r.Case.Contains(" / ", StringComparison.Ordinal)))
        {
            double? Cpu(string metric) => result.Metrics.Single(m => m.Name == metric).Value;
            Assert.True(Cpu("generator CPU") > 0, $"{result.Case} generator CPU = {Cpu("generator CPU")}");
            if (serverPid is null)
            {
                Assert.Null(Cpu("server CPU"));
                Assert.Null(Cpu("server CPU per 1M deliveries"));
            }
            else if (result.Scenario == "latency")
            {
                Assert.True(Cpu("server CPU per 1M deliveries") >= 0, $"{result.Case}: {Cpu("server CPU per 1M deliveries")}");
            }
            else
            {
                Assert.True(Cpu("server CPU") is > 0 and < 64, $"{result.Case} server CPU = {Cpu("server CPU")}");
                Assert.True(Cpu("server CPU per 1M deliveries") > 0, $"{result.Case}: {Cpu("server CPU per 1M deliveries")}");
            }
        }

        // The server's memory with --server-pid, none without; the publish to one idle subscriber arrived.
        var idle = report.Results.Single(r => r.Scenario == "connections");
        Assert.Equal(serverPid is null, idle.Metrics.Single(m => m.Name == "server RSS per connection").Value is null);
        Assert.Equal(serverPid is null, idle.Metrics.Single(m => m.Name == "server CPU per connection").Value is null);
        // A smoke run's 100 connections may take less than one 10 ms tick of the generator's CPU.
        Assert.True(idle.Metrics.Single(m => m.Name == "generator CPU").Value >= 0);
        Assert.Equal(1, idle.Delivery.Received);

        // History: both store cases deliver every message to their one reader; the XADD streams keep about
        // 1,000 entries (Redis trims MAXLEN ~ by whole nodes, so a few more). The memory case stored every
        // entry, the catch-up reader read every one back.
        foreach (var store in new[] { "history store", "history XADD + XREAD" })
        {
            // Rates over a smoke run's short window: a reader's backlog from before it can tip either way.
            Assert.InRange(Figure(store, "deliveries/s") / Figure(store, "publishes/s"), 0.75, 1.33);
            Assert.Equal(Figure(store, "published"), report.Results.Single(r => r.Case == store).Delivery.Received);
        }

        Assert.InRange(Figure("history XADD + XREAD", "entries kept"), 1000, 1200);
        Assert.InRange(Figure("history store", "entries kept"), 1000, 1200);

        var memory = report.Results.Single(r => r.Case == "history memory N=10000");
        Assert.Equal(10_000, memory.Delivery.Received);
        Assert.Equal(serverPid is null, memory.Metrics.Single(m => m.Name == "server RSS per entry").Value is null);
        Assert.NotNull(memory.Metrics.Single(m => m.Name == "used_memory per entry").Value);
        if (serverPid is not null)
        {
            // Redis 7.0 takes about 77 bytes an entry for 64-byte messages.
            Assert.InRange(Figure(memory.Case, "used_memory per entry"), 40, 200);
        }

        var catchUp = report.Results.Single(r => r.Case == "history catch-up N=5000");
        Assert.Equal(5_000, catchUp.Delivery.Received);
        Assert.True(Figure(catchUp.Case, "catch-up time") > 0);
        Assert.Equal(6, Figure(catchUp.Case, "XREADs"));

        Assert.Equal(report.ToJson(), RunReport.FromJson(report.ToJson()).ToJson());
        return report;
    }
}
