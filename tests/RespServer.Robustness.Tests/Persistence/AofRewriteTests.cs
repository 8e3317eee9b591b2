using System.Diagnostics;
using System.Globalization;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Persistence;

/// <summary>BGREWRITEAOF and the automatic rewrite; the folder is a Redis 7.0 AOF that redis-server loads and redis-check-aof accepts.</summary>
public sealed class AofRewriteTests
{
    private static readonly string[] KeepAll = ["--channel-history", "*", "0", "0", "--history-max-memory", "0"];

    [Fact]
    public async Task Rewrites_under_concurrent_writes_lose_nothing_leave_only_the_new_files_and_redis_server_loads_the_folder()
    {
        using var data = new DataFolder();
        SortedDictionary<string, string> before;
        await using (var server = await AofServer.StartAsync(data.Path, KeepAll))
        {
            using var stop = new CancellationTokenSource();
            var writers = new[]
            {
                new CountingWriter().RunAsync(server.Port, n => ["PUBLISH", "ch" + (n % 5), "m" + n], 16, stop.Token),
                new CountingWriter().RunAsync(server.Port, n => ["XADD", "s" + (n % 3), "*", "n", n.ToString(CultureInfo.InvariantCulture)], 8, stop.Token),
                new CountingWriter().RunAsync(server.Port, n => n % 10 == 0
                    ? ["XTRIM", "s1", "MAXLEN", "~", "150"]
                    : ["XADD", "s1", "MAXLEN", "=", "300", "*", "f", "v" + n], 4, stop.Token),
            };
            await using var client = await WireClient.ConnectAsync(server.Port);
            for (var rewrite = 0; rewrite < 3; rewrite++)
            {
                await Task.Delay(300);
                Assert.Equal("Background append only file rewriting started", await client.CallAsync("BGREWRITEAOF"));
                await TaskTimeoutExtensions.WaitUntil(() => !server.Context.Aof.IsRewriting, "the rewrite to finish");
            }

            await stop.CancelAsync();
            await Task.WhenAll(writers).WithTimeout();
            var info = KeyspaceDump.Render(await client.CallAsync("INFO", "persistence"));
            Assert.Contains("aof_rewrites:3\r\n", info);
            Assert.Contains("aof_last_bgrewrite_status:ok\r\n", info);
            before = await KeyspaceDump.ReadAsync(server.Port, nodes: false);
            Assert.Equal(8, before.Count);
        }

        // Only what the manifest lists is left: the fourth base and the fourth incr file.
        Assert.Equal(["appendonly.aof.4.base.aof", "appendonly.aof.4.incr.aof"], data.ListedFiles());
        Assert.Equal(["appendonly.aof.4.base.aof", "appendonly.aof.4.incr.aof", "appendonly.aof.manifest"],
            Directory.EnumerateFiles(data.AofFolder).Select(Path.GetFileName).Order());

        SortedDictionary<string, string> after;
        await using (var server = await AofServer.StartAsync(data.Path, KeepAll))
        {
            after = await KeyspaceDump.ReadAsync(server.Port, nodes: false);
            Assert.Equal(before, after);
            after = await KeyspaceDump.ReadAsync(server.Port);
        }

        // redis-check-aof accepts the folder, and redis-server loads the same keyspace, node layout included.
        var check = await RunAsync(ExternalProgram.Require("redis-check-aof", "apt-get install redis-tools"), data.Manifest);
        Assert.True(check.Code == 0, check.Output);
        Assert.Contains("All AOF files and manifest are valid", check.Output);
        using var copy = data.Copy();
        await using var redis = await RedisServerProcess.StartAsync("--appendonly", "yes", "--dir", copy.Path);
        Assert.Equal(after, await KeyspaceDump.ReadAsync(redis.Port));
    }

    [Fact]
    public async Task The_files_are_rewritten_by_themselves_past_auto_aof_rewrite_percentage_and_min_size()
    {
        using var data = new DataFolder();
        await using var server = await AofServer.StartAsync(data.Path,
            "--channel-history", "small 10 0", "--auto-aof-rewrite-percentage", "100", "--auto-aof-rewrite-min-size", "64kb");
        await using var client = await WireClient.ConnectAsync(server.Port);

        // A channel that keeps 10 messages: the log grows, the keyspace does not.
        var batch = new List<byte>();
        for (var i = 0; i < 2000; i++)
        {
            batch.AddRange(WireClient.Command("PUBLISH", "small", new string('x', 100)));
        }

        await client.SendAsync(batch.ToArray());
        for (var i = 0; i < 2000; i++)
        {
            await client.ReadAsync();
        }

        await TaskTimeoutExtensions.WaitUntil(() => server.Lines.Any(l => l.StartsWith("Starting automatic rewriting of AOF on", StringComparison.Ordinal))
            && server.Lines.Contains("Background AOF rewrite finished successfully"), "an automatic rewrite");
        Assert.Equal(["appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof"], data.ListedFiles());
        Assert.True(new FileInfo(Path.Combine(data.AofFolder, "appendonly.aof.2.base.aof")).Length < 64 * 1024);
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(30));
        return (process.ExitCode, await stdout + await stderr);
    }
}
