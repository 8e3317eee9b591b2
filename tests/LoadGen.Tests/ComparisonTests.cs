using Notistream.LoadGen.Reporting;
using Notistream.LoadGen.Verification;

namespace Notistream.LoadGen.Tests;

public class ComparisonTests
{
    private static RunReport Report(string server, double rate, double p99, bool lost = false) => new(
        "127.0.0.1:1",
        server,
        DateTimeOffset.UnixEpoch,
        "",
        [
            new ScenarioResult("fanout", "fanout N=1", lost ? new DeliveryReport(9, 1, 0, 0) : new DeliveryReport(10, 0, 0, 0),
                [Metric.Higher("deliveries/s", rate, "msg/s"), Metric.Info("published", 10, "msg"), Metric.Context("generator GC pause", rate / 100, "ms")], []),
            new ScenarioResult("latency", "latency", DeliveryReport.Empty, [Metric.Lower("p99", p99, "us")], []),
        ]);

    [Fact]
    public void Medians_ratios_and_which_is_better()
    {
        var table = Comparison.Format(
            [Report("redis 7.0.15", 100, 10), Report("redis 7.0.15", 200, 30), Report("redis 7.0.15", 900, 20)],
            [Report("notistream 1.0", 300, 5), Report("notistream 1.0", 400, 5), Report("notistream 1.0", 1, 50)]);
        var lines = table.Split('\n');
        Assert.Equal("| case | metric | unit | redis | notistream | notistream / redis | | redis runs | notistream runs |", lines[0]);
        Assert.Equal("| fanout N=1 | deliveries/s | msg/s | 200.0 | 300.0 | 1.50 | better 1.50x | 100.0–900.0 | 1–400.0 |", lines[2]);
        Assert.Equal("| fanout N=1 | generator GC pause | ms | 2 | 3 |  |  | 1–9 | 0.01–4 |", lines[3]);
        Assert.Equal("| latency | p99 | us | 20 | 5 | 0.25 | better 4.00x | 10–30 | 5–50 |", lines[4]);
        Assert.DoesNotContain("published", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Runs_that_lost_messages_are_left_out_and_marked()
    {
        var baseline = new[] { Report("redis 7.0.15", 100, 10) };
        var table = Comparison.Format(baseline, [Report("notistream 1.0", 300, 5, lost: true), Report("notistream 1.0", 50, 5)]);
        Assert.Contains("| fanout N=1 | deliveries/s | msg/s | 100.0 | 50 (1 of 2 runs INVALID) | 0.50 | worse 2.00x | 100.0 | 50 |", table, StringComparison.Ordinal);
        var none = Comparison.Format(baseline, [Report("notistream 1.0", 300, 5, lost: true)]);
        Assert.Contains("| 100.0 | n/a INVALID | n/a |", none, StringComparison.Ordinal);
        Assert.False(Comparison.AllValid([Report("notistream 1.0", 300, 5, lost: true)]));
    }

    [Fact]
    public void Server_CPU_per_delivery_is_compared_and_the_cores_used_are_shown_beside_it()
    {
        // Over a 2 s window with 4M deliveries: redis-server used 2 CPU s, ours 1.5 CPU s; the generator 1 and 3.
        RunReport Cpu(string server, double? serverCpu, double generatorCpu) => new(
            "127.0.0.1:1",
            server,
            DateTimeOffset.UnixEpoch,
            "",
            [
                new ScenarioResult("fanout", "fanout N=50", new DeliveryReport(10, 0, 0, 0),
                    CpuSample.Metrics(new(serverCpu is null ? null : 10, 5), new(10 + serverCpu, 5 + generatorCpu), 2.0, 4_000_000), []),
            ]);

        var lines = Comparison.Format([Cpu("redis 7.0.15", 2, 1)], [Cpu("notistream 1.0", 1.5, 3)]).Split('\n');
        Assert.Equal("| fanout N=50 | server CPU | cores | 1 | 0.75 |  |  | 1 | 0.75 |", lines[2]);
        Assert.Equal("| fanout N=50 | server CPU per 1M deliveries | CPU s | 0.5 | 0.375 | 0.75 | better 1.33x | 0.5 | 0.375 |", lines[3]);
        Assert.Equal("| fanout N=50 | generator CPU | cores | 0.5 | 1.5 |  |  | 0.5 | 1.5 |", lines[4]);

        // Without --server-pid the server's figures are n/a, and so is the ratio.
        var none = Comparison.Format([Cpu("redis 7.0.15", null, 1)], [Cpu("notistream 1.0", null, 3)]);
        Assert.Contains("| fanout N=50 | server CPU per 1M deliveries | CPU s | n/a | n/a | n/a |  |  |  |", none, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_line_sizes_and_bad_usage()
    {
        var (options, json) = Cli.Parse(["--smoke", "--port", "7000", "--scenario", "fanout,latency", "--duration", "2.5", "--json", "-"]);
        Assert.Equal(7000, options.Port);
        Assert.Equal(["fanout", "latency"], options.Scenarios);
        Assert.Equal(2.5, options.DurationSeconds);
        Assert.Equal(100, options.IdleConnections);
        Assert.Equal("-", json);
        Assert.Throws<UsageException>(() => Cli.Parse(["--scenario", "nope"]));
        Assert.Throws<UsageException>(() => Cli.Parse(["--duration", "0"]));
        Assert.Throws<UsageException>(() => Cli.Parse(["--port"]));
    }
}
