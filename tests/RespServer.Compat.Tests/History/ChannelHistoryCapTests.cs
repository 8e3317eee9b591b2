using System.Globalization;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.History;

/// <summary>history-max-memory: all channels' history together stays under it, oldest messages first to go.</summary>
public sealed class ChannelHistoryCapTests
{
    [Fact]
    public async Task Past_history_max_memory_the_oldest_messages_of_all_channels_go_first()
    {
        const long Limit = 1024 * 1024;
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 0 0", "--history-max-memory", "1mb");
        await using var muxer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port},allowAdmin=true").WithTimeout();
        var db = muxer.GetDatabase();
        var payload = new string('x', 64);
        var batch = new List<Task>();
        for (var i = 0; i < 60_000; i++)
        {
            batch.Add(db.PublishAsync(RedisChannel.Literal($"ch{i % 10}"), $"{i:D6}{payload}"));
            if (batch.Count == 1000)
            {
                await Task.WhenAll(batch);
                batch.Clear();
            }
        }

        await Task.WhenAll(batch);
        var memory = await InfoAsync(db);
        var held = long.Parse(memory["history_memory"], CultureInfo.InvariantCulture);
        Assert.InRange(held, Limit / 2, Limit);
        Assert.Equal(Limit, long.Parse(memory["history_max_memory"], CultureInfo.InvariantCulture));
        var evicted = long.Parse(memory["history_evicted_entries"], CultureInfo.InvariantCulture);

        // What is kept is the newest of every channel: each channel's first kept message is recent, and the
        // counts add up with what was dropped.
        long kept = 0;
        for (var c = 0; c < 10; c++)
        {
            var entries = await db.StreamRangeAsync($"ch{c}");
            kept += entries.Length;
            Assert.Equal($"{60_000 - 10 + c:D6}{payload}", entries[^1].Values[0].Value);
            var first = int.Parse(((string)entries[0].Values[0].Value!)[..6], CultureInfo.InvariantCulture);
            Assert.True(first > 30_000, $"ch{c} still holds message {first}");
        }

        Assert.Equal(60_000, kept + evicted);
        Assert.InRange(kept, 8_000, 16_000);
    }

    private static async Task<Dictionary<string, string>> InfoAsync(IDatabase db)
    {
        var text = (string?)await db.ExecuteAsync("INFO", "memory") ?? "";
        return text.Split("\r\n").Where(l => l.Contains(':', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf(':', StringComparison.Ordinal)], l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..]);
    }
}
