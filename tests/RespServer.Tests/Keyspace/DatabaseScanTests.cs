using System.Text;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Keyspace;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Keyspace;

/// <summary>SCAN's walk (<see cref="Database.Scan"/>) and a blocked client's exemption from the idle timeout.</summary>
public class DatabaseScanTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1000)]
    public void A_full_iteration_returns_every_key_once_and_at_least_count_a_call(int count)
    {
        var db = new Database();
        for (var i = 0; i < 1000; i++)
        {
            db.Add(Encoding.ASCII.GetBytes($"key:{i}"), new StreamValue());
        }

        var seen = new List<string>();
        ulong cursor = 0;
        var calls = 0;
        do
        {
            var found = new List<byte[]>();
            cursor = db.Scan(cursor, count, found);
            Assert.True(found.Count >= Math.Min(count, 1000 - seen.Count), $"call {calls} returned {found.Count}");
            seen.AddRange(found.Select(k => Encoding.ASCII.GetString(k)));
            Assert.True(++calls <= 1000, "the cursor never came back to 0");
        }
        while (cursor != 0);

        Assert.Equal(1000, seen.Count);
        Assert.Equal(1000, seen.Distinct().Count());
    }

    [Fact]
    public void A_key_present_for_the_whole_iteration_is_returned_while_others_come_and_go()
    {
        var db = new Database();
        for (var i = 0; i < 300; i++)
        {
            db.Add(Encoding.ASCII.GetBytes($"stay:{i}"), new StreamValue());
        }

        var seen = new HashSet<string>();
        ulong cursor = 0;
        var round = 0;
        do
        {
            var found = new List<byte[]>();
            cursor = db.Scan(cursor, 10, found);
            seen.UnionWith(found.Select(k => Encoding.ASCII.GetString(k)));
            db.Add(Encoding.ASCII.GetBytes($"new:{round}"), new StreamValue());
            db.Remove(Encoding.ASCII.GetBytes($"new:{round - 1}"));
            round++;
        }
        while (cursor != 0);

        Assert.All(Enumerable.Range(0, 300), i => Assert.Contains($"stay:{i}", seen));
    }

    [Fact]
    public async Task A_client_blocked_in_XREAD_is_not_closed_by_the_idle_timeout()
    {
        await using var server = await NotistreamServer.StartAsync("--timeout", "1");
        await using var reader = await Connections.RawClient.ConnectAsync(server.Port);
        await reader.SendAsync("XREAD BLOCK 3500 STREAMS quiet $\r\n");

        // The idle timeout (1 s, checked every second) passes twice while it waits; its timeout answers.
        await reader.ExpectAsync("*-1\r\n");
        await reader.SendAsync("PING\r\n");
        await reader.ExpectAsync("+PONG\r\n");
    }
}
