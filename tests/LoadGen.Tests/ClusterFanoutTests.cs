using System.Diagnostics;
using System.Text;
using Notistream.LoadGen.Scenarios;
using Notistream.Testing;

namespace Notistream.LoadGen.Tests;

/// <summary>
/// The cross-node options of the load generator, and <c>benchmarks/cluster-fanout.sh --smoke</c> run for
/// real: three nats-servers, three clustered nodes and a standalone one as separate processes (the
/// server and the generator as built with the tests), every case valid, in about 30 s.
/// </summary>
public sealed class ClusterFanoutTests
{
    [Fact]
    public void Cross_node_options_parse_and_other_scenarios_are_refused()
    {
        var (options, _) = Cli.Parse(["--smoke", "--port", "7001", "--subscribe-ports", "7001,7002", "--publish-port", "7003",
            "--scenario", "fanout,latency", "--server-pid", "11,12,13", "--nats-pid", "21,22,23", "--no-reply-check"]);
        Assert.True(options.CrossNode);
        Assert.Equal([7001, 7002], options.SubscriberPorts);
        Assert.Equal(7003, options.PublishPort);
        Assert.Equal(11, options.ServerPid);
        Assert.Equal([12, 13], options.OtherServerPids);
        Assert.Equal([21, 22, 23], options.NatsPids);
        Assert.False(options.ReplyCheck);
        Assert.Contains("--subscribe-ports 7001,7002", options.Describe(), StringComparison.Ordinal);

        // One server: not cross-node, and the reply check stays on by default.
        var (single, _) = Cli.Parse(["--port", "7001", "--publish-port", "7001"]);
        Assert.False(single.CrossNode);
        Assert.True(single.ReplyCheck);

        Assert.Throws<UsageException>(() => Cli.Parse(["--port", "7001", "--publish-port", "7003"]));
        Assert.Throws<UsageException>(() => Cli.Parse(["--port", "7001", "--publish-port", "7003", "--scenario", "channels"]));
        Assert.Throws<UsageException>(() => Cli.Parse(["--subscribe-ports", "7001,x"]));
        Assert.Throws<UsageException>(() => Cli.Parse(["--server-pid", "1,,2"]));
    }

    [Fact]
    public void Replies_on_one_server_must_count_every_subscriber_across_nodes_from_the_local_to_the_cluster_count()
    {
        var a = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 7001);
        var c = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 7003);
        var single = ReplyRule.For(new LoadGenOptions(), Topology.Single(a), 50);
        Assert.True(single.FromReply);
        Assert.False(single.Mismatch(50));
        Assert.True(single.Mismatch(0));
        Assert.Equal(49, single.Expected(49));

        var cross = ReplyRule.For(new LoadGenOptions(), new Topology(c, [a, c]), 5);
        Assert.False(cross.FromReply);
        Assert.Equal(5, cross.Expected(0));
        Assert.False(cross.Mismatch(5)); // cluster-wide
        Assert.False(cross.Mismatch(2)); // subscribers 1 and 3 of 0..4 are on the publishing node
        Assert.False(cross.Mismatch(4)); // A's subscribers on their way to being counted on C
        Assert.False(cross.Mismatch(6)); // A's interest probe not yet forgotten on C
        Assert.True(cross.Mismatch(1));  // less than C's own
        Assert.True(cross.Mismatch(7));  // more than there can be

        var anyCount = ReplyRule.For(new LoadGenOptions { ReplyCheck = false }, Topology.Single(a), 50);
        Assert.False(anyCount.Mismatch(7));
        Assert.Equal(50, anyCount.Expected(7));
    }

    [Fact]
    public async Task The_script_in_smoke_mode_runs_every_case_single_and_cross_node()
    {
        ExternalProgram.Require("nats-server", "apt-get install nats-server");
        var bash = ExternalProgram.Require("bash", "apt-get install bash");
        var info = new ProcessStartInfo(bash)
        {
            WorkingDirectory = DocPage.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The server and the generator as built with the tests (bin/<configuration>/net10.0), not
        // Release builds that may not be there.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        foreach (var arg in new[] { "benchmarks/cluster-fanout.sh", "--smoke", "--no-build", "--configuration", configuration })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var report = await stdout;
        string Log()
        {
            lock (stderr)
            {
                return report + stderr;
            }
        }

        Assert.True(process.ExitCode == 0, Log());
        Assert.Contains("| fanout N=20 | deliveries/s | msg/s |", report, StringComparison.Ordinal);
        Assert.Contains("| latency 2000/s x 5 subs | p99 | us |", report, StringComparison.Ordinal);
        Assert.Contains("single-node | cross-node |", report, StringComparison.Ordinal);
        Assert.Contains("single-node | cross-node-AB |", report, StringComparison.Ordinal);
        Assert.Contains("| NATS CPU per 1M deliveries | CPU s | n/a |", report, StringComparison.Ordinal);
        Assert.DoesNotContain("INVALID", report, StringComparison.Ordinal);
        Assert.Contains("- command: `benchmarks/cluster-fanout.sh --smoke --no-build --configuration ", report, StringComparison.Ordinal);
    }
}
