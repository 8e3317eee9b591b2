using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Persistence;

/// <summary>Cases a review of the log found: each failed before its fix.</summary>
public sealed class AofRegressionTests
{
    private static string Text(object? v) => v is byte[] b ? Encoding.UTF8.GetString(b) : v?.ToString() ?? "nil";

    /// <summary>XSETID lowering an empty stream's last id below its max-deleted-id is accepted live; logged with
    /// MAXDELETEDID it was refused on replay, and the acknowledged XADD after it lost at restart.</summary>
    [Fact]
    public async Task XSETID_below_the_max_deleted_id_of_an_emptied_stream_replays_and_keeps_the_XADD_after_it()
    {
        using var data = new DataFolder();
        await using (var server = await AofServer.StartAsync(data.Path))
        {
            await using var c = await WireClient.ConnectAsync(server.Port);
            Assert.Equal("10-0", Text(await c.CallAsync("XADD", "s", "10-0", "f", "v")));
            Assert.Equal(1L, await c.CallAsync("XDEL", "s", "10-0"));
            Assert.Equal("OK", Text(await c.CallAsync("XSETID", "s", "0-1")));
            Assert.Equal("5-0", Text(await c.CallAsync("XADD", "s", "5-0", "f", "acked")));
        }

        await using (var server = await AofServer.StartAsync(data.Path))
        {
            Assert.Null(server.StartError);
            await using var c = await WireClient.ConnectAsync(server.Port);
            Assert.True((await KeyspaceDump.IdsAsync(c, "s")).SequenceEqual(["5-0"]), string.Join("\n", server.Lines.Where(l => l.Contains("refused"))));
        }
    }

    /// <summary>appendfsync always, fsync slowed: a NOTI.SUBSCRIBE follower was sent a PUBLISH kept as history
    /// before its record was synced (the PUBLISH's own reply waited for the sync).</summary>
    [Fact]
    public async Task A_follower_is_not_sent_a_message_before_its_record_is_durable()
    {
        using var data = new DataFolder();
        await using var server = await AofServer.StartAsync(data.Path,
            "--appendfsync", "always", "--channel-history", "hist:* 0 0", "--history-max-memory", "0");
        var aof = server.Context.Aof;
        await using var follower = await WireClient.ConnectAsync(server.Port);
        await follower.SendAsync("NOTI.SUBSCRIBE", "$", "CHANNELS", "1", "hist:a");
        Assert.Equal("noti.subscribe", Text(((object?[])(await follower.ReadAsync())!)[0]));
        aof.TestSyncDelay = TimeSpan.FromSeconds(3);
        await using var publisher = await WireClient.ConnectAsync(server.Port);
        var publish = publisher.CallAsync("PUBLISH", "hist:a", "not yet durable");
        object?[] frame;
        do
        {
            frame = (object?[])(await follower.ReadAsync(TimeSpan.FromSeconds(10)))!;
        }
        while (Text(frame[0]) != "noti.message");

        // The sync releases the PUBLISH's reply and the follower's message alike, in either order.
        var synced = aof.SyncedPosition >= aof.AppendedPosition;
        Assert.True(synced, $"follower got '{Text(frame[3])}' before its record was synced");
        Assert.Equal(1L, await publish);
    }

    /// <summary>
    /// An fsync fails, then works again: the pages of the failed one may be lost while the file looks whole
    /// (Linux can mark them clean), so writes stay refused until a rewrite has written everything anew from
    /// memory, then resume; nothing acknowledged before is missing after a restart.
    /// </summary>
    [Fact]
    public async Task After_a_failed_fsync_writes_wait_for_a_rewrite_before_they_are_accepted_again()
    {
        using var data = new DataFolder();
        await using (var server = await AofServer.StartAsync(data.Path, "--appendfsync", "everysec"))
        {
            var aof = server.Context.Aof;
            await using var c = await WireClient.ConnectAsync(server.Port);
            for (var i = 0; i < 100; i++)
            {
                await c.CallAsync("XADD", "s", "*", "n", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            aof.TestSyncFailure = 5; // EIO
            await TaskTimeoutExtensions.WaitUntil(() => !aof.LastWriteOk, "the failed fsync");
            var refused = Assert.IsType<RespError>(await c.CallAsync("XADD", "s", "*", "n", "refused"));
            Assert.StartsWith("MISCONF Errors writing to the AOF file: ", refused.Message.TrimStart('-'), StringComparison.Ordinal);
            await TaskTimeoutExtensions.WaitUntil(
                () => server.Lines.Any(l => l.StartsWith("AOF rewritten after the fsync error", StringComparison.Ordinal)),
                "the next fsync to work and the rewrite after it", TimeSpan.FromSeconds(30));
            Assert.True(aof.LastWriteOk);
            Assert.Contains(server.Lines, l => l.StartsWith("AOF fsync works again; writes are refused until a rewrite", StringComparison.Ordinal));
            Assert.Matches("^[0-9]+-[0-9]+$", Text(await c.CallAsync("XADD", "s", "*", "n", "after")));
        }

        await using (var server = await AofServer.StartAsync(data.Path))
        {
            await using var c = await WireClient.ConnectAsync(server.Port);
            Assert.Equal(101L, await c.CallAsync("XLEN", "s"));
        }
    }

    /// <summary>BGREWRITEAOF (log off) then CONFIG SET appendonly yes while it runs: the rewrite count went to -1 and every later rewrite was refused.</summary>
    [Fact]
    public async Task BGREWRITEAOF_then_CONFIG_SET_appendonly_yes_leaves_later_rewrites_possible()
    {
        using var data = new DataFolder();
        await using var server = await AofServer.StartAsync(data.Path, "--appendonly", "no");
        await using var c = await WireClient.ConnectAsync(server.Port);
        for (var i = 0; i < 2000; i++)
        {
            await c.SendAsync("XADD", "s", "*", "f", new string('v', 100));
        }

        for (var i = 0; i < 2000; i++)
        {
            await c.ReadAsync();
        }

        await c.SendAsync(WireClient.Command("BGREWRITEAOF").Concat(WireClient.Command("CONFIG", "SET", "appendonly", "yes")).ToArray());
        await c.ReadAsync();
        Assert.Equal("OK", Text(await c.ReadAsync()));
        await TaskTimeoutExtensions.WaitUntil(
            () => server.Lines.Count(l => l.StartsWith("Background AOF rewrite finished successfully", StringComparison.Ordinal)) >= 2,
            "both rewrites to finish", TimeSpan.FromSeconds(30));
        await Task.Delay(200);
        Assert.False(server.Context.Aof.IsRewriting, "aof_rewrite_in_progress stays 1 after both finished");
        Assert.Equal("Background append only file rewriting started", Text(await c.CallAsync("BGREWRITEAOF")));
    }
}
