using System.Diagnostics;
using System.Globalization;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Persistence;

/// <summary>A disk that fills up, and a disk that is slow to sync.</summary>
public sealed class AofDiskTests
{
    private static readonly string[] HistOnly = ["--channel-history", "hist:* 0 0", "--history-max-memory", "0"];

    /// <summary>
    /// The data folder on a 1 MiB tmpfs that a filler file fills up: writes get Redis's MISCONF error and change
    /// nothing, reads and PUBLISH to a channel without history go on; once the filler is removed the kept bytes
    /// are written at the next retry and writes resume; every acknowledged write is there after a restart.
    /// </summary>
    [Theory]
    [InlineData("everysec")]
    [InlineData("always")]
    public async Task A_full_disk_refuses_writes_with_MISCONF_keeps_reads_and_plain_publish_and_resumes_once_space_is_freed(string policy)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "tmpfs is Linux's");
        using var data = new DataFolder();
        var mounted = await RunAsync("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", data.Path);
        Assert.SkipWhen(mounted.Code != 0, $"mounting a tmpfs is not permitted here ({mounted.Output.Trim()}); the test needs root and CAP_SYS_ADMIN");
        try
        {
            var acknowledged = new List<string>();
            await using (var server = await AofServer.StartAsync(data.Path, [.. HistOnly, "--appendfsync", policy]))
            {
                Assert.Null(server.StartError);
                var filler = Path.Combine(data.Path, "filler");
                await using (var file = new FileStream(filler, FileMode.Create, FileAccess.Write))
                {
                    var chunk = new byte[4096];
                    try
                    {
                        while (true)
                        {
                            file.Write(chunk);
                            file.Flush();
                        }
                    }
                    catch (IOException)
                    {
                        // full
                    }
                }

                var payload = new string('v', 1000);
                var client = await WireClient.ConnectAsync(server.Port);
                string? refusal = null;
                for (var i = 0; i < 3000 && refusal is null; i++)
                {
                    try
                    {
                        var reply = await client.CallAsync("XADD", "k", "*", "v", payload);
                        if (reply is RespError error)
                        {
                            refusal = error.Message;
                        }
                        else
                        {
                            acknowledged.Add(KeyspaceDump.Render(reply));
                        }
                    }
                    catch (Exception ex) when (ex is EndOfStreamException or System.Net.Sockets.SocketException or IOException)
                    {
                        // The write whose bytes the disk refused: closed without its reply, as logged.
                        await client.DisposeAsync();
                        client = await WireClient.ConnectAsync(server.Port);
                    }
                }

                await using (client)
                {
                    Assert.Equal("MISCONF Errors writing to the AOF file: No space left on device", refusal);
                    Assert.Contains(server.Lines, l => l.StartsWith("Error writing to the AOF file", StringComparison.Ordinal));
                    Assert.Contains(server.Lines, l => l.Contains("closed without its pending replies", StringComparison.Ordinal));
                    Assert.Contains("aof_last_write_status:err", KeyspaceDump.Render(await client.CallAsync("INFO", "persistence")));
                    foreach (var write in new[] { new[] { "XADD", "k", "*", "f", "v" }, ["XDEL", "k", acknowledged[0]], ["XTRIM", "k", "MAXLEN", "0"],
                        ["XSETID", "k", "99999999999999-0"], ["DEL", "k"], ["UNLINK", "k"], ["FLUSHALL"], ["FLUSHDB"], ["PUBLISH", "hist:a", "m"] })
                    {
                        Assert.Equal(new RespError(refusal!), await client.CallAsync(write));
                    }

                    // Reads, and PUBLISH to a channel without history, go on.
                    Assert.Empty(acknowledged.Except(await KeyspaceDump.IdsAsync(client, "k")));
                    Assert.IsType<long>(await client.CallAsync("XLEN", "k"));
                    Assert.Equal(0L, await client.CallAsync("PUBLISH", "plain", "still"));
                    Assert.Equal("PONG", await client.CallAsync("PING"));

                    File.Delete(filler);
                    await TaskTimeoutExtensions.WaitUntil(() => server.Context.Aof.WriteRefusal is null, "the retry to write the kept bytes");
                    // The line is logged just after the error is cleared, which the wait above saw.
                    await TaskTimeoutExtensions.WaitUntil(() => server.Lines.Any(l => l.StartsWith("AOF write error looks solved", StringComparison.Ordinal)), "the recovery's log line");
                    var id = await client.CallAsync("XADD", "k", "*", "v", "after");
                    acknowledged.Add(KeyspaceDump.Render(id));
                    Assert.Equal(0L, await client.CallAsync("PUBLISH", "hist:a", "m"));
                }
            }

            await using (var server = await AofServer.StartAsync(data.Path, HistOnly))
            {
                await using var client = await WireClient.ConnectAsync(server.Port);
                var ids = await KeyspaceDump.IdsAsync(client, "k");
                Assert.Empty(acknowledged.Except(ids));
            }
        }
        finally
        {
            await RunAsync("umount", "-l", data.Path);
        }
    }

    /// <summary>
    /// Every fsync of the log made slow (3 s, a test hook in the sync itself). Under everysec PUBLISHes are
    /// answered while a sync is in progress: the sync runs on the log's own thread, outside every lock. Under
    /// always a PUBLISH waits for its sync, while a reader, a subscriber and a PUBLISH to a channel without
    /// history, on other connections, are served meanwhile: the waiting connection holds no thread and no lock.
    /// Each claim is checked by what happened first, not by how long it took.
    /// </summary>
    [Fact]
    public async Task A_slow_fsync_does_not_hold_up_everysec_and_under_always_holds_up_only_the_writer()
    {
        using var data = new DataFolder();
        await using var server = await AofServer.StartAsync(data.Path, HistOnly);
        var aof = server.Context.Aof;
        aof.TestSyncDelay = TimeSpan.FromSeconds(3);
        await using var publisher = await WireClient.ConnectAsync(server.Port);

        await publisher.CallAsync("PUBLISH", "hist:a", "start");
        await TaskTimeoutExtensions.WaitUntil(() => aof.SyncInProgress == 1, "the once-a-second sync to start");
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(0L, await publisher.CallAsync("PUBLISH", "hist:a", "m" + i));
        }

        Assert.Equal(1, aof.SyncInProgress);
        Assert.True(aof.WrittenPosition > aof.SyncedPosition, "acknowledged once written, the sync still running");

        await TaskTimeoutExtensions.WaitUntil(() => aof.SyncInProgress == 0, "the slow sync to end");
        Assert.Equal("OK", await publisher.CallAsync("CONFIG", "SET", "appendfsync", "always"));
        await using var reader = await WireClient.ConnectAsync(server.Port);
        await using var subscriber = await WireClient.ConnectAsync(server.Port);
        await subscriber.CallAsync("SUBSCRIBE", "plain");
        await using var other = await WireClient.ConnectAsync(server.Port);

        var waiting = publisher.CallAsync("PUBLISH", "hist:a", "synced");
        await TaskTimeoutExtensions.WaitUntil(() => aof.SyncInProgress == 1, "the writer's sync to start");
        Assert.Equal("PONG", await reader.CallAsync("PING"));
        Assert.Equal(52L, await reader.CallAsync("XLEN", "hist:a"));
        Assert.Equal(1L, await other.CallAsync("PUBLISH", "plain", "through"));
        Assert.Equal("through", KeyspaceDump.Render(((object?[])(await subscriber.ReadAsync())!)[2]));
        Assert.False(waiting.IsCompleted, "the PUBLISH kept as history is answered only after its sync");
        Assert.Equal(1, aof.SyncInProgress);
        Assert.Equal(0L, await waiting);
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(ExternalProgram.Find(program) ?? program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(30));
            return (process.ExitCode, await stdout + await stderr);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
