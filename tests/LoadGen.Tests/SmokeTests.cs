using Notistream.LoadGen.Reporting;
using Notistream.Testing;

namespace Notistream.LoadGen.Tests;

/// <summary>Every scenario in smoke sizes against our server and against redis-server: nothing lost, real figures.</summary>
public class SmokeTests
{
    [Fact]
    public async Task Every_scenario_against_our_server_delivers_every_message()
    {
        await using var server = await NotistreamServer.StartAsync();
        var report = await RunAsync(server.Port);
        Assert.StartsWith("notistream ", report.Server, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_scenario_against_redis_server_delivers_every_message()
    {
        await using var server = await RedisServerProcess.StartAsync("--maxclients", "1000");
        var report = await RunAsync(server.Port);
        Assert.StartsWith("redis 7", report.Server, StringComparison.Ordinal);
    }

    private static async Task<RunReport> RunAsync(int port)
    {
        var options = LoadGenOptions.Smoke("127.0.0.1", port) with { DurationSeconds = 0.6 };
        var report = await LoadGenerator.RunAsync(options).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        var text = TableWriter.Format(report);
        Assert.True(report.Valid, text);
        Assert.Equal(
            ["fanout N=1", "fanout N=20", "channels C=200, 20/conn", "patterns K=0", "patterns K=100", "patterns K=100 / K=0", "latency 2000/s x 5 subs", "connections 100 idle"],
            report.Results.Select(r => r.Case));
        foreach (var result in report.Results)
        {
            Assert.True(result.Delivery.Clean, $"{result.Case}: {result.Delivery}");
            Assert.Empty(result.Problems);
            foreach (var metric in result.Metrics.Where(m => m.Better == "higher"))
            {
                Assert.True(metric.Value > 0, $"{result.Case} {metric.Name} = {metric.Value}");
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

        // Without --server-pid there is no memory figure, and the publish to one idle subscriber arrived.
        var idle = report.Results.Single(r => r.Scenario == "connections");
        Assert.Null(idle.Metrics.Single(m => m.Name == "server RSS per connection").Value);
        Assert.Equal(1, idle.Delivery.Received);

        Assert.Equal(report.ToJson(), RunReport.FromJson(report.ToJson()).ToJson());
        return report;
    }
}
