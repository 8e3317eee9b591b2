using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Persistence;

/// <summary>
/// NOTI.SUBSCRIBE across restarts from the append-only file: a follower learns of what the history lost
/// exactly when the log kept the trims, of an unknown loss when it cannot know (a rewrite keeps entries, not
/// removed ids; a crash under everysec), and of nothing when nothing was lost.
/// </summary>
public sealed class AofFollowTests
{
    private static Task<ServerProcess> StartAsync(DataFolder data, string policy)
        => ServerProcess.StartAsync(FreePort.Next(), "--appendonly", "yes", "--appendfsync", policy, "--dir", data.Path, "--channel-history", "* 100 24h");

    [Fact]
    public async Task Gap_counts_survive_a_kill_9_under_always_a_rewrite_makes_them_unknown_and_a_crash_under_everysec_is_an_unknown_gap()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SIGKILL as Linux has it");
        using var data = new DataFolder();
        string first;
        long kept;
        await using (var server = await StartAsync(data, "always"))
        {
            await using var client = await WireClient.ConnectAsync(server.Port);
            first = Encoding.ASCII.GetString((byte[])((object?[])(await client.CallAsync("NOTI.PUBLISH", "news", "seen"))!)[1]!);
            await client.SendAsync(Enumerable.Range(0, 250).SelectMany(i => WireClient.Command("PUBLISH", "news", $"n{i}")).ToArray());
            for (var i = 0; i < 250; i++)
            {
                await client.ReadAsync();
            }

            kept = (long)(await client.CallAsync("XLEN", "news"))!;
            server.Process.Kill();
            await server.Process.WaitForExitAsync();
        }

        // Replayed trims recorded what they removed: the exact count, and no loss of unknown size.
        await using (var server = await StartAsync(data, "always"))
        {
            var frames = await FollowAsync(server.Port, first, 2);
            Assert.Equal(["noti.gap", "news", (object)(250 - kept)], Fields(frames[1]));

            // A rewrite keeps the entries, not the ids trims removed: from here the count is unknown.
            await using var client = await WireClient.ConnectAsync(server.Port);
            Assert.Equal("Background append only file rewriting started", await client.CallAsync("BGREWRITEAOF"));
            await TaskTimeoutExtensions.WaitUntil(
                () => Info(client, "aof_rewrite_in_progress") == "0" && Info(client, "aof_last_bgrewrite_status") == "ok",
                "the rewrite to finish", TimeSpan.FromSeconds(30));
            server.Terminate();
            await server.Process.WaitForExitAsync();
        }

        await using (var server = await StartAsync(data, "everysec"))
        {
            // A clean stop: nothing of unknown size before the start, and the trimmed count is now unknown.
            var frames = await FollowAsync(server.Port, first, 3);
            Assert.Equal(["noti.gap", "news", null], Fields(frames[1]));
            Assert.Equal("noti.message", Fields(frames[2])[0]);

            // Written after the clean stop's mark, then a crash: the file no longer ends with that mark.
            await using var client = await WireClient.ConnectAsync(server.Port);
            await client.CallAsync("PUBLISH", "news", "then a crash");
            server.Process.Kill();
            await server.Process.WaitForExitAsync();
        }

        // A crash under everysec: a power loss could have taken the last writes; the server cannot tell.
        await using (var server = await StartAsync(data, "everysec"))
        {
            var since = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000).ToString(CultureInfo.InvariantCulture) + "-0";
            var frames = await FollowAsync(server.Port, since, 2);
            Assert.Equal(["noti.gap", "news", null], Fields(frames[1]));
        }
    }

    private static async Task<List<object?>> FollowAsync(int port, string from, int count)
    {
        await using var follower = await WireClient.ConnectAsync(port);
        await follower.SendAsync("NOTI.SUBSCRIBE", from, "CHANNELS", "1", "news");
        var frames = new List<object?>();
        for (var i = 0; i < count; i++)
        {
            frames.Add(await follower.ReadAsync());
        }

        Assert.Equal("noti.subscribe", Fields(frames[0])[0]);
        return frames;
    }

    private static object?[] Fields(object? frame)
        => [.. ((object?[])frame!).Select(v => v is byte[] b ? Encoding.UTF8.GetString(b) : v)];

    private static string? Info(WireClient client, string field)
    {
        var info = Encoding.UTF8.GetString((byte[])client.CallAsync("INFO", "persistence").GetAwaiter().GetResult()!);
        return info.Split("\r\n").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal))?[(field.Length + 1)..];
    }
}
