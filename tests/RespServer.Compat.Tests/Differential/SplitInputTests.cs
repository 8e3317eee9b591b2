using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Differential;

/// <summary>
/// Representative sessions written as one byte stream, then sent split at every byte and one byte
/// per write: our server must answer exactly what redis-server answers to the unsplit stream.
/// </summary>
public sealed class SplitInputTests(ServerPair servers) : IClassFixture<ServerPair>
{
    private static readonly Dictionary<string, (byte[] Bytes, int Frames)> Sessions = new()
    {
        ["resp2 subscribe session"] = (Concat(
            Script.Encode("PING"), Script.Encode("ECHO", "\u0000\u00ff\r\n"), Script.Encode("SUBSCRIBE", "a", "b"),
            Script.Encode("PING", "x"), Script.Encode("ECHO", "refused"), Script.Encode("PSUBSCRIBE", "p*"),
            Script.Encode("UNSUBSCRIBE", "a"), Script.Encode("PUNSUBSCRIBE", "p*"), Script.Encode("UNSUBSCRIBE", "b"),
            Script.Encode("ECHO", "")), 11),
        ["resp3 session"] = (Concat(
            Script.Encode("HELLO", "3", "SETNAME", "s"), Script.Encode("SUBSCRIBE", "c"), Script.Encode("PUBLISH", "c", "self"),
            Script.Encode("CLIENT", "GETNAME"), Script.Encode("GET", "k"), Script.Encode("UNSUBSCRIBE", "c"),
            Script.Encode("HELLO", "2", "SETNAME", "t"), Script.Encode("PING")), 9),
        ["inline and multibulk mixed"] = (Concat(
            "PING\r\n"u8.ToArray(), Script.Encode("ECHO", "mb"), "ECHO \"in line\" \r\n"u8.ToArray(), "\r\n"u8.ToArray(),
            "*0\r\n"u8.ToArray(), "PING\n"u8.ToArray(), Script.Encode("FOO", "bar"), "SELECT 0\r\n"u8.ToArray(),
            Script.Encode("CLIENT", "SETNAME", "x y")), 7),
    };

    public static TheoryData<string> Names => [.. Sessions.Keys];

    /// <summary>HELLO replies carry the connection id: both servers number connections alike only from a clean start, so ids are masked.</summary>
    private static string Mask(string rendered)
        => System.Text.RegularExpressions.Regex.Replace(rendered, @"\$2\\r\\nid\\r\\n:\d+\\r\\n", "$2\\r\\nid\\r\\n:<id>\\r\\n");

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Split_at_every_byte(string name)
    {
        var (bytes, frames) = Sessions[name];
        var expected = Mask(await Harness.Differential.PlaySplitAsync(servers.RedisPort, bytes, [], frames));
        Assert.DoesNotContain("<expected", expected);
        var failures = new List<string>();
        for (var cut = 1; cut < bytes.Length; cut++)
        {
            var actual = Mask(await Harness.Differential.PlaySplitAsync(servers.OurPort, bytes, [cut], frames));
            if (actual != expected)
            {
                failures.Add($"split at byte {cut}: {RespFrame.Escape(bytes.AsSpan(0, cut))} | {RespFrame.Escape(bytes.AsSpan(cut))}\n  redis: {expected}\n  ours:  {actual}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(5)));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task One_byte_per_write(string name)
    {
        var (bytes, frames) = Sessions[name];
        var expected = Mask(await Harness.Differential.PlaySplitAsync(servers.RedisPort, bytes, Enumerable.Range(1, bytes.Length - 1), frames));
        var unsplit = Mask(await Harness.Differential.PlaySplitAsync(servers.RedisPort, bytes, [], frames));
        Assert.Equal(unsplit, expected);
        var actual = Mask(await Harness.Differential.PlaySplitAsync(servers.OurPort, bytes, Enumerable.Range(1, bytes.Length - 1), frames));
        Assert.Equal(expected, actual);
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
