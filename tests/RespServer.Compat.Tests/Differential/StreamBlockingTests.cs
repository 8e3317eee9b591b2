using System.Diagnostics;
using Notistream.RespServer.Compat.Tests.Harness;
using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Differential;

/// <summary>
/// XREAD BLOCK against redis-server 7.0.15: a reader blocked on one connection and served by an XADD from
/// another gets the same bytes; what does not serve it (another key, another database, XDEL, XSETID, an
/// older id) leaves it blocked; commands pipelined behind it wait; CLIENT LIST and INFO show it blocked.
/// Each script runs with the blocked connection in RESP2 and in RESP3. A step waits for the reader to be
/// blocked (INFO) before another connection writes, so the order is the same on both servers.
/// </summary>
public sealed class StreamBlockingTests(ServerPair servers) : IClassFixture<ServerPair>
{
    internal static readonly Script[] Scripts =
    [
        .. Both("woken by xadd from another connection", s => s
            .CmdN(0, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
            .On(1).Await(Blocked(1), "INFO", "clients")
            .Await(Clients(2), "CLIENT", "LIST")
            .Cmd("CLIENT", "LIST").Normalize(Normalize.ClientFlags)
            .Cmd("INFO", "clients").Normalize(Normalize.InfoLine("blocked_clients"))
            .Cmd("XADD", "s", "1-1", "f", "v", "g", "w")
            .On(0).Read(1)
            .On(1).Cmd("INFO", "clients").Normalize(Normalize.InfoLine("blocked_clients"))
            .Cmd("CLIENT", "LIST").Normalize(Normalize.ClientFlags)
            .On(0).Cmd("XLEN", "s")),

        .. Both("$ is the last id when it blocked", s => s
            .Cmd("XADD", "s", "1-1", "a", "1").Cmd("XADD", "s", "2-1", "a", "2")
            .CmdN(0, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
            .On(1).Await(Blocked(1), "INFO", "clients").Cmd("XADD", "s", "3-1", "a", "3")
            .On(0).Read(1).Cmd("XREAD", "STREAMS", "s", "$").Cmd("XREAD", "STREAMS", "s", "0")),

        .. Both("blocked on several keys, served by the one that grew", s => s
            .Cmd("XADD", "a", "5-1", "x", "1")
            .CmdN(0, "XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "a", "b", "missing", "$", "$", "0")
            .On(1).Await(Blocked(1), "INFO", "clients").Cmd("XADD", "b", "1-1", "y", "1")
            .On(0).Read(1)
            .CmdN(0, "XREAD", "BLOCK", "0", "STREAMS", "a", "b", "missing", "$", "$", "0")
            .On(1).Await(Blocked(1), "INFO", "clients").Cmd("XADD", "missing", "0-1", "z", "1")
            .On(0).Read(1)),

        .. Both("what does not serve a blocked reader", s => s
            .Cmd("XADD", "s", "5-1", "a", "1")
            .CmdN(0, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
            .On(1).Await(Blocked(1), "INFO", "clients")
            .Cmd("XADD", "other", "1-1", "a", "1").Cmd("XDEL", "s", "5-1").Cmd("XSETID", "s", "9-0").Cmd("XTRIM", "s", "MAXLEN", "0")
            .Cmd("SELECT", "1").Cmd("XADD", "s", "10-1", "a", "db1").Cmd("SELECT", "0")
            .Cmd("DEL", "s").Cmd("XADD", "s", "1-1", "a", "older")
            .Cmd("INFO", "clients").Normalize(Normalize.InfoLine("blocked_clients"))
            .Cmd("XADD", "s", "6-1", "a", "newer")
            .On(0).Read(1)),

        .. Both("commands pipelined behind a blocked read run after it, in order", s => s
            .Pipeline(0, ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], ["PING"], ["XLEN", "s"], ["XADD", "s", "2-1", "b", "2"], ["ECHO", "last"])
            .On(1).Await(Blocked(1), "INFO", "clients").Cmd("XLEN", "s").Cmd("XADD", "s", "1-1", "a", "1")
            .On(0).Read(5)
            .On(1).Cmd("XRANGE", "s", "-", "+")),

        .. Both("timeout", s => s
            .Cmd("XREAD", "BLOCK", "100", "STREAMS", "s", "$")
            .Cmd("XADD", "s", "1-1", "a", "1")
            .Cmd("XREAD", "BLOCK", "50", "STREAMS", "s", "$")
            .Cmd("XREAD", "COUNT", "1", "BLOCK", "50", "STREAMS", "s", "1-1")
            .Cmd("PING")),

        .. Both("client reply off and skip drop a blocked read's answer", s => s
            .CmdN(0, "CLIENT", "REPLY", "OFF").CmdN(0, "XREAD", "BLOCK", "100", "STREAMS", "s", "$").Cmd("CLIENT", "REPLY", "ON")
            .CmdN(0, "CLIENT", "REPLY", "SKIP").CmdN(0, "XREAD", "BLOCK", "100", "STREAMS", "s", "$").Cmd("PING")
            .CmdN(0, "CLIENT", "REPLY", "SKIP").CmdN(0, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
            .On(1).Await(Blocked(1), "INFO", "clients").Cmd("XADD", "s", "1-1", "a", "1")
            .On(0).Cmd("PING")),

        .. Both("two readers on one key are both served", s => s
            .CmdN(0, "XREAD", "BLOCK", "0", "STREAMS", "s", "$")
            .On(1).CmdN(0, "XREAD", "BLOCK", "0", "COUNT", "5", "STREAMS", "s", "0")
            .On(2).Await(Blocked(2), "INFO", "clients").Cmd("XADD", "s", "1-1", "a", "1")
            .On(0).Read(1).On(1).Read(1)),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));

    [Fact]
    public async Task Block_times_out_after_its_milliseconds_and_well_within_a_second()
    {
        foreach (var (port, slack) in new[] { (servers.RedisPort, 10), (servers.OurPort, 0) })
        {
            await using var connection = await RawConnection.ConnectAsync(port);
            var clock = Stopwatch.StartNew();
            await connection.SendAsync(Script.Encode("XREAD", "BLOCK", "200", "STREAMS", "timing-key", "$"));
            var frames = await connection.ReadFramesAsync(1, TimeSpan.FromSeconds(5));
            var elapsed = clock.ElapsedMilliseconds;
            Assert.Equal("*-1\r\n"u8.ToArray(), frames[0].Raw);

            // Redis's deadline is its millisecond clock plus 200, which may fall a fraction early.
            Assert.InRange(elapsed, 200 - slack, 999);
        }
    }

    [Fact]
    public async Task Block_0_waits_until_served()
    {
        foreach (var port in new[] { servers.RedisPort, servers.OurPort })
        {
            await using var reader = await RawConnection.ConnectAsync(port);
            await using var writer = await RawConnection.ConnectAsync(port);
            await reader.SendAsync(Script.Encode("XREAD", "BLOCK", "0", "STREAMS", "forever", "$"));
            await WaitForBlockedAsync(writer, 1);
            await Task.Delay(1200);
            await WaitForBlockedAsync(writer, 1);
            await writer.SendAsync(Script.Encode("XADD", "forever", "1-1", "f", "v"));
            await writer.ReadFramesAsync(1, TimeSpan.FromSeconds(5));
            var served = await reader.ReadFramesAsync(1, TimeSpan.FromSeconds(5));
            Assert.Equal("*1\r\n*2\r\n$7\r\nforever\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"u8.ToArray(), served[0].Raw);
            await writer.SendAsync(Script.Encode("DEL", "forever"));
            await writer.ReadFramesAsync(1, TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public async Task A_client_that_leaves_while_blocked_leaves_nothing_behind()
    {
        foreach (var port in new[] { servers.RedisPort, servers.OurPort })
        {
            await using var admin = await RawConnection.ConnectAsync(port);
            var reader = await RawConnection.ConnectAsync(port);
            await reader.SendAsync(Script.Encode("XREAD", "BLOCK", "0", "STREAMS", "left", "$"));
            await WaitForBlockedAsync(admin, 1);
            await admin.SendAsync(Script.Encode("CLIENT", "LIST"));
            var list = (await admin.ReadFramesAsync(1, TimeSpan.FromSeconds(5)))[0].Text;
            Assert.Contains("flags=b ", list, StringComparison.Ordinal);

            await reader.DisposeAsync();
            await WaitForBlockedAsync(admin, 0);
            await admin.SendAsync(Script.Encode("XADD", "left", "1-1", "f", "v"));
            Assert.Equal("$3\r\n1-1\r\n"u8.ToArray(), (await admin.ReadFramesAsync(1, TimeSpan.FromSeconds(5)))[0].Raw);
            // The reader's clean-up ends after its blocked count is given back: wait for it to leave the list.
            var deadline = DateTime.UtcNow + TaskTimeoutExtensions.DefaultTimeout;
            do
            {
                await admin.SendAsync(Script.Encode("CLIENT", "LIST"));
                list = (await admin.ReadFramesAsync(1, TimeSpan.FromSeconds(5)))[0].Text;
                Assert.DoesNotContain("flags=b ", list, StringComparison.Ordinal);
            }
            while (list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length > 1 && DateTime.UtcNow < deadline);

            Assert.Single(list.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            await admin.SendAsync(Script.Encode("DEL", "left"));
            await admin.ReadFramesAsync(1, TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>CLIENT LIST shows <paramref name="count"/> clients: connections of an earlier script are gone.</summary>
    private static Func<RespFrame, bool> Clients(int count)
        => frame => frame.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == count;

    private static Func<RespFrame, bool> Blocked(int count)
        => frame => frame.Text.Contains($"blocked_clients:{count}\r\n", StringComparison.Ordinal);

    private static async Task WaitForBlockedAsync(RawConnection connection, int count)
    {
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.DefaultTimeout;
        while (true)
        {
            await connection.SendAsync(Script.Encode("INFO", "clients"));
            var info = (await connection.ReadFramesAsync(1, TimeSpan.FromSeconds(5)))[0];
            if (Blocked(count)(info))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"blocked_clients never became {count}: {info.Text}");
            await Task.Delay(5);
        }
    }

    /// <summary>The script with the blocking connection (0) in RESP2, and again in RESP3; each starts from an empty keyspace.</summary>
    private static Script[] Both(string name, Func<Script, Script> body) =>
    [
        body(new Script(name + " (RESP2)").Cmd("FLUSHALL")),
        body(new Script(name + " (RESP3)").Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id")).Cmd("FLUSHALL")),
    ];
}
