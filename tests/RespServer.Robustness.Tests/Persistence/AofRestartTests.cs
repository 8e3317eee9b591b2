using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Persistence;

/// <summary>appendonly yes: what a restart finds, and turning the log on and off at run time.</summary>
public sealed class AofRestartTests
{
    private static readonly string[] KeepAll = ["--channel-history", "*", "0", "0", "--history-max-memory", "0"];

    [Fact]
    public async Task A_restart_finds_every_stream_with_its_ids_and_state_and_ids_go_on_increasing()
    {
        using var data = new DataFolder();
        SortedDictionary<string, string> before;
        string goneLastId;
        await using (var server = await AofServer.StartAsync(data.Path, "--channel-history", "ch* 0 0", "--channel-history", "capped 50 0", "--history-max-memory", "0"))
        {
            Assert.Null(server.StartError);
            await using var client = await WireClient.ConnectAsync(server.Port);
            for (var i = 0; i < 250; i++)
            {
                await client.CallAsync("XADD", "s1", "*", "n", i.ToString(CultureInfo.InvariantCulture), "pad", new string('p', i % 7));
            }

            var ids = await KeyspaceDump.IdsAsync(client, "s1");
            Assert.Equal(100L, await client.CallAsync("XTRIM", "s1", "MAXLEN", "~", "120"));
            Assert.Equal(40L, await client.CallAsync("XTRIM", "s1", "MINID", "=", ids[140]));
            Assert.Equal(2L, await client.CallAsync("XDEL", "s1", ids[150], ids[151], "1-1"));
            Assert.Equal("OK", await client.CallAsync("XSETID", "s1", "9999999999999-5", "ENTRIESADDED", "400"));
            Assert.Equal("OK", await client.CallAsync("SELECT", "3"));
            await client.CallAsync("XADD", "e", "5-1", "f", "v");
            await client.CallAsync("XADD", "e", "5-*", "g", "w");
            await client.CallAsync("XADD", "e", "MAXLEN", "1", "6-1", "h", "x");
            await client.CallAsync("XADD", "doomed", "1-1", "f", "v");
            Assert.Equal(1L, await client.CallAsync("DEL", "doomed", "never"));
            await client.CallAsync("SELECT", "0");
            for (var i = 0; i < 120; i++)
            {
                await client.CallAsync("PUBLISH", i % 2 == 0 ? "ch1" : "capped", "m" + i);
            }

            await client.CallAsync("PUBLISH", "ch-gone", "bye");
            goneLastId = (await KeyspaceDump.IdsAsync(client, "ch-gone"))[0];
            Assert.Equal(1L, await client.CallAsync("UNLINK", "ch-gone"));
            await client.CallAsync("SELECT", "5");
            await client.CallAsync("XADD", "flushed", "1-1", "f", "v");
            Assert.Equal("OK", await client.CallAsync("FLUSHDB"));
            before = await KeyspaceDump.ReadAsync(server.Port);
        }

        Assert.Equal(["0/capped", "0/ch1", "0/s1", "3/e"], before.Keys);
        await using (var server = await AofServer.StartAsync(data.Path, "--channel-history", "ch* 0 0", "--channel-history", "capped 50 0", "--history-max-memory", "0"))
        {
            Assert.Null(server.StartError);
            Assert.Contains(server.Lines, l => l.StartsWith("DB loaded from append only file:", StringComparison.Ordinal));
            Assert.Contains("AOF loaded: 4 keys", string.Join("\n", server.Lines));
            Assert.Equal(before, await KeyspaceDump.ReadAsync(server.Port));

            // Ids go on from the last one given, a removed channel's included.
            await using var client = await WireClient.ConnectAsync(server.Port);
            var newest = new[] { goneLastId }.Concat(await KeyspaceDump.IdsAsync(client, "ch1")).Concat(await KeyspaceDump.IdsAsync(client, "capped"))
                .Select(KeyspaceDump.Id).Max();
            await client.CallAsync("PUBLISH", "ch2", "after");
            var next = KeyspaceDump.Id((await KeyspaceDump.IdsAsync(client, "ch2"))[0]);
            Assert.True(next.CompareTo(newest) > 0, $"{next} after {newest}");

            // The history rules still apply to the loaded channels: 'capped' keeps its bound.
            for (var i = 0; i < 100; i++)
            {
                await client.CallAsync("PUBLISH", "capped", "more" + i);
            }

            Assert.InRange((long)(await client.CallAsync("XLEN", "capped"))!, 50, 149);
        }
    }

    /// <summary>
    /// What the history's own bounds remove is logged too: the age sweep's trims and the removal of a channel
    /// whose history aged out (once a second), and history-max-memory's evictions. A restart finds the same.
    /// </summary>
    [Fact]
    public async Task The_age_sweep_and_history_max_memory_evictions_are_logged_and_a_restart_finds_their_result()
    {
        using var data = new DataFolder();
        string[] args = ["--channel-history", "aged* 0 2s", "--channel-history", "* 0 0", "--history-max-memory", "300kb"];
        SortedDictionary<string, string> before;
        await using (var server = await AofServer.StartAsync(data.Path, args))
        {
            await using var client = await WireClient.ConnectAsync(server.Port);
            await client.CallAsync("PUBLISH", "aged-gone", "old");
            await client.CallAsync("PUBLISH", "aged-kept", "old");
            var batch = new List<byte>();
            for (var i = 0; i < 4000; i++)
            {
                batch.AddRange(WireClient.Command("PUBLISH", "full" + (i % 4), new string('x', 100)));
            }

            await client.SendAsync(batch.ToArray());
            for (var i = 0; i < 4000; i++)
            {
                await client.ReadAsync();
            }

            Assert.Contains("history_evicted_entries:", KeyspaceDump.Render(await client.CallAsync("INFO", "memory")));
            Assert.DoesNotContain("history_evicted_entries:0\r\n", KeyspaceDump.Render(await client.CallAsync("INFO", "memory")));
            await Task.Delay(1500);
            await client.CallAsync("PUBLISH", "aged-kept", "new");

            // The sweep removes aged-gone once all of it is older than 2 s, and trims aged-kept to its new message.
            await TaskTimeoutExtensions.WaitUntil(() => !KeysOf(server.Port).Result.Contains("aged-gone"), "the sweep to remove the aged-out channel");
            Assert.Equal(["new"], await KeyspaceDump.MessagesAsync(client, "aged-kept"));
            before = await KeyspaceDump.ReadAsync(server.Port);
        }

        await using (var server = await AofServer.StartAsync(data.Path, args))
        {
            Assert.Equal(before, await KeyspaceDump.ReadAsync(server.Port));
        }
    }

    private static async Task<List<string>> KeysOf(int port)
    {
        await using var client = await WireClient.ConnectAsync(port);
        return [.. ((object?[])(await client.CallAsync("KEYS", "*"))!).Select(KeyspaceDump.Render)];
    }

    [Fact]
    public async Task CONFIG_SET_appendonly_yes_writes_a_base_of_what_is_there_and_logs_from_then_on()
    {
        using var data = new DataFolder();
        await using (var server = await NotistreamServer.StartAsync(["--dir", data.Path, .. KeepAll]))
        {
            await using var client = await WireClient.ConnectAsync(server.Port);
            Assert.Equal(["appendonly", "no"], ((object?[])(await client.CallAsync("CONFIG", "GET", "appendonly"))!).Select(KeyspaceDump.Render));
            Assert.Equal(["dir", data.Path], ((object?[])(await client.CallAsync("CONFIG", "GET", "dir"))!).Select(KeyspaceDump.Render));
            for (var i = 0; i < 30; i++)
            {
                await client.CallAsync("PUBLISH", "before", "b" + i);
            }

            Assert.False(Directory.Exists(data.AofFolder));
            Assert.Equal("OK", await client.CallAsync("CONFIG", "SET", "appendonly", "yes"));
            await TaskTimeoutExtensions.WaitUntil(() => File.Exists(data.Manifest) && data.ListedFiles().Length == 2 && !server.Context.Aof.IsRewriting,
                "the base written and the manifest listing it");
            Assert.Equal(["appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof"], data.ListedFiles());
            Assert.Contains("aof_enabled:1", KeyspaceDump.Render(await client.CallAsync("INFO", "persistence")));
            for (var i = 0; i < 20; i++)
            {
                await client.CallAsync("PUBLISH", "after", "a" + i);
            }

            Assert.Equal("OK", await client.CallAsync("CONFIG", "SET", "appendonly", "no"));
            await client.CallAsync("PUBLISH", "after", "not logged");
        }

        await using (var server = await AofServer.StartAsync(data.Path, KeepAll))
        {
            await using var client = await WireClient.ConnectAsync(server.Port);
            Assert.Equal(Enumerable.Range(0, 30).Select(i => "b" + i), await KeyspaceDump.MessagesAsync(client, "before"));
            Assert.Equal(Enumerable.Range(0, 20).Select(i => "a" + i), await KeyspaceDump.MessagesAsync(client, "after"));
        }
    }

    [Fact]
    public async Task INFO_persistence_reports_the_log_s_sizes_and_a_pipeline_of_publishes_is_written_in_a_few_writes()
    {
        using var data = new DataFolder();
        await using var server = await AofServer.StartAsync(data.Path, KeepAll);
        await using var client = await WireClient.ConnectAsync(server.Port);
        await client.CallAsync("PUBLISH", "warm", "up");
        var writes = server.Context.Aof.Writes;
        var pipeline = new List<byte>();
        for (var i = 0; i < 64; i++)
        {
            pipeline.AddRange(WireClient.Command("PUBLISH", "batch", new string('x', 64)));
        }

        await client.SendAsync(pipeline.ToArray());
        for (var i = 0; i < 64; i++)
        {
            Assert.Equal(0L, await client.ReadAsync());
        }

        // One write per batch of commands read together, not one per message (the pipeline may arrive in a few reads).
        Assert.InRange(server.Context.Aof.Writes - writes, 1, 4);
        var info = KeyspaceDump.Render(await client.CallAsync("INFO", "persistence"));
        var size = new DirectoryInfo(data.AofFolder).GetFiles("*.aof").Sum(f => f.Length);
        Assert.Contains($"aof_current_size:{size}\r\n", info);
        Assert.Contains("aof_enabled:1\r\naof_rewrite_in_progress:0\r\n", info);
        Assert.Contains("aof_last_write_status:ok\r\n", info);
        Assert.Contains("aof_buffer_length:0\r\n", info);
    }
}
