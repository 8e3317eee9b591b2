using System.Globalization;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Persistence;

/// <summary>The server as a child process, killed with SIGKILL: under load, and at each step of a rewrite.</summary>
public sealed class AofCrashTests
{
    private static readonly string[] KeepAll = ["--channel-history", "*", "0", "0", "--history-max-memory", "0"];

    private static Task<ServerProcess> StartAsync(DataFolder data, IReadOnlyDictionary<string, string?>? environment, params string[] args)
        => ServerProcess.StartAsync(FreePort.Next(), environment ?? new Dictionary<string, string?>(), ["--appendonly", "yes", "--dir", data.Path, .. KeepAll, .. args]);

    /// <summary>
    /// A publisher pipelining PUBLISHes and a writer pipelining XADDs, each counting the replies it read; SIGKILL in
    /// the middle; after the restart every acknowledged one is in its stream, in order. Under always the entry was
    /// on the disk before the reply was queued; under everysec it was written (the page cache outlives the
    /// process) before the reply was queued.
    /// </summary>
    [Theory]
    [InlineData("always")]
    [InlineData("everysec")]
    public async Task After_kill_9_under_load_every_acknowledged_publish_and_xadd_is_in_its_stream_in_order(string policy)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SIGKILL and the page cache as Linux has them");
        using var data = new DataFolder();
        var publisher = new CountingWriter();
        var writer = new CountingWriter();
        await using (var server = await StartAsync(data, null, "--appendfsync", policy))
        {
            using var stop = new CancellationTokenSource();
            var publishing = publisher.RunAsync(server.Port, n => ["PUBLISH", "load", n.ToString(CultureInfo.InvariantCulture)], 32, stop.Token);
            var adding = writer.RunAsync(server.Port, n => ["XADD", "added", "*", "n", n.ToString(CultureInfo.InvariantCulture)], 16, stop.Token);
            await TaskTimeoutExtensions.WaitUntil(() => publisher.Acknowledged > 300 && writer.Acknowledged > 150, "both writers under way", TimeSpan.FromSeconds(60));
            server.Process.Kill();
            await server.Process.WaitForExitAsync();
            await Task.WhenAll(publishing, adding).WithTimeout(TimeSpan.FromSeconds(40));
        }

        await using (var server = await StartAsync(data, null))
        {
            await using var client = await WireClient.ConnectAsync(server.Port);
            AssertPrefix(publisher.Acknowledged, await KeyspaceDump.MessagesAsync(client, "load"));
            AssertPrefix(writer.Acknowledged, await ValuesAsync(client, "added"));
        }
    }

    /// <summary>The stream holds 1, 2, … in order, at least up to the last acknowledged (a few more may have made it).</summary>
    private static void AssertPrefix(long acknowledged, List<string> values)
    {
        Assert.True(values.Count >= acknowledged, $"{acknowledged} acknowledged, {values.Count} kept");
        for (var i = 0; i < values.Count; i++)
        {
            Assert.Equal((i + 1).ToString(CultureInfo.InvariantCulture), values[i]);
        }
    }

    private static async Task<List<string>> ValuesAsync(WireClient client, string key)
    {
        var entries = (object?[])(await client.CallAsync("XRANGE", key, "-", "+"))!;
        return [.. entries.Select(e => KeyspaceDump.Render(((object?[])((object?[])e!)[1]!)[1]))];
    }

    /// <summary>
    /// Killed at each step of a rewrite (the env hook is read only here): whatever the files were left as, the
    /// restarted server loads the keyspace as it was, and leaves only the files its manifest lists.
    /// </summary>
    [Theory]
    [InlineData("rewrite-incr")]
    [InlineData("rewrite-base")]
    [InlineData("rewrite-base-written")]
    [InlineData("rewrite-base-renamed")]
    [InlineData("rewrite-manifest")]
    public async Task A_crash_at_any_step_of_a_rewrite_leaves_files_that_load_the_whole_keyspace(string point)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SIGKILL as Linux has it");
        using var data = new DataFolder();
        SortedDictionary<string, string> before;
        var crash = new Dictionary<string, string?> { ["NOTISTREAM_AOF_CRASH_AT"] = point };
        await using (var server = await StartAsync(data, crash))
        {
            await using var client = await WireClient.ConnectAsync(server.Port);
            var batch = new List<byte>();
            for (var i = 0; i < 600; i++)
            {
                // More than one 64 KiB group of base, so the crash inside its writing has a partial temp file.
                batch.AddRange(WireClient.Command("XADD", "big" + (i % 3), "*", "n", new string('v', 200)));
                batch.AddRange(WireClient.Command("PUBLISH", "ch" + (i % 2), "m" + i));
            }

            await client.SendAsync(batch.ToArray());
            for (var i = 0; i < 1200; i++)
            {
                await client.ReadAsync();
            }

            await client.CallAsync("XDEL", "big0", (await KeyspaceDump.IdsAsync(client, "big0"))[3]);
            before = await KeyspaceDump.ReadAsync(server.Port, nodes: false);
            await client.SendAsync("BGREWRITEAOF");
            await server.Process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(30));
            Assert.Contains($"Test crash point {point} reached", server.Output);
        }

        await using (var server = await StartAsync(data, null))
        {
            Assert.Equal(before, await KeyspaceDump.ReadAsync(server.Port, nodes: false));
            var listed = data.ListedFiles().Append("appendonly.aof.manifest").Order();
            Assert.Equal(listed, Directory.EnumerateFiles(data.AofFolder).Select(Path.GetFileName).Order());

            // And a rewrite after the crash finishes.
            await using var client = await WireClient.ConnectAsync(server.Port);
            Assert.Equal("Background append only file rewriting started", await client.CallAsync("BGREWRITEAOF"));
            await TaskTimeoutExtensions.WaitUntil(() => server.Output.Contains("Background AOF rewrite finished successfully"), "the rewrite to finish");
        }

        await using (var server = await StartAsync(data, null))
        {
            Assert.Equal(before, await KeyspaceDump.ReadAsync(server.Port, nodes: false));
        }
    }
}
