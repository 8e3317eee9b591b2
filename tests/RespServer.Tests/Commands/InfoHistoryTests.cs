using System.Globalization;
using System.Text;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Tests.Connections;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Commands;

/// <summary>INFO memory's history fields: kept counts, read without walking the keys or waiting for the keyspace.</summary>
public class InfoHistoryTests
{
    [Fact]
    public async Task INFO_memory_answers_with_100000_history_channels_while_another_holds_the_keyspace_gate()
    {
        await using var server = await NotistreamServer.StartAsync();
        var keys = server.Context.Keys;
        var rule = HistoryRule.Defaults[0];
        lock (keys.Gate)
        {
            var now = ChannelHistory.NowMs();
            for (var i = 0; i < 100_000; i++)
            {
                Assert.NotNull(ChannelHistory.AppendLocked(keys, Encoding.ASCII.GetBytes($"c{i}"), "m"u8, rule, maxMemory: 0, now));
            }
        }

        await using var client = await RawClient.ConnectAsync(server.Port);
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            lock (keys.Gate)
            {
                holding.Set();
                release.Wait();
            }
        });
        holder.Start();
        try
        {
            holding.Wait();

            // Were INFO to walk the keys (or take the gate at all), it would wait here for as long as the gate is
            // held, as every PUBLISH to a history channel would wait behind it: it answers while the gate is held.
            var fields = await InfoAsync(client, "memory");
            Assert.Equal("100000", fields["history_entries"]);
            Assert.True(long.Parse(fields["history_memory"], CultureInfo.InvariantCulture) > 0);
        }
        finally
        {
            release.Set();
            holder.Join();
        }
    }

    [Fact]
    public async Task History_entries_follow_each_PUBLISH_at_once_and_DEL_within_the_sweep()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "kept.* 100 1h");
        await using var client = await RawClient.ConnectAsync(server.Port);
        for (var i = 0; i < 150; i++)
        {
            await client.SendAsync(RawClient.Command("PUBLISH", i % 2 == 0 ? "kept.a" : "kept.b", $"m{i}"));
            await client.ExpectAsync(":0\r\n");
        }

        // 75 each, within the rule's 100: PUBLISH keeps the count itself.
        Assert.Equal("150", (await InfoAsync(client, "memory"))["history_entries"]);

        // DEL does not tell the kept count; the once-a-second sweep counts the histories anew.
        await client.SendAsync(RawClient.Command("DEL", "kept.a"));
        await client.ExpectAsync(":1\r\n");
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.DefaultTimeout;
        while ((await InfoAsync(client, "memory"))["history_entries"] != "75")
        {
            Assert.True(DateTime.UtcNow < deadline, "history_entries did not reach 75 after DEL");
            await Task.Delay(50);
        }
    }

    private static async Task<Dictionary<string, string>> InfoAsync(RawClient client, string section)
    {
        await client.SendAsync(RawClient.Command("INFO", section));
        var header = "";
        while (!header.EndsWith("\r\n", StringComparison.Ordinal))
        {
            header += await client.ReadAsync(1);
        }

        var length = int.Parse(header.AsSpan(1, header.Length - 3), CultureInfo.InvariantCulture);
        var info = (await client.ReadAsync(length + 2))[..length];
        return info.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(line => !line.StartsWith('#'))
            .Select(line => line.Split(':', 2))
            .ToDictionary(pair => pair[0], pair => pair[1]);
    }
}
