using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Differential;

/// <summary>Inline commands, pipelining, ignored empty requests and HTTP aimed at the server.</summary>
public sealed class FramingTests(ServerPair servers) : IClassFixture<ServerPair>
{
    internal static readonly Script[] Scripts =
    [
        new Script("inline commands")
            .Inline("PING").Raw("PING\n", 1).Inline("  PING   hello  ").Inline("ping \"\"").Inline("ECHO \"a b\"")
            .Inline("ECHO \"tab\\there\\r\\n\\x41\\x4a\\xzz\\\\ \\\" end\"").Inline("ECHO 'it\\'s' ").Inline("ECHO 'a\"b'")
            .Inline("ECHO \"\\xff\\x00\\x80\"").Inline("ECHO \u00ff\u0080")
            .Inline("SUBSCRIBE a b", 2).Inline("UNSUBSCRIBE a b", 2).Inline("FOO bar 'baz qux'")
            .Raw("\r\n", 0).Raw("   \r\n", 0).Raw("\n", 0).Inline("PING")
            .Raw("PING\r\nPING\r\nECHO x\r\n", 3, 3).Inline("ECHO " + new string('z', 1000))
            .Raw("PING\r\r\n", 1).Inline("PING\tx").Inline("\"PING\"").Inline("'ping' 'y'"),

        new Script("pipelined commands in one write")
            .Pipeline(60, [.. Enumerable.Range(0, 60).Select(i => i % 3 == 0 ? new[] { "PING" } : i % 3 == 1 ? ["ECHO", $"e{i}"] : ["PUBLISH", $"p{i}", "x"])])
            .Pipeline(6, ["SUBSCRIBE", "a", "b"], ["PING"], ["ECHO", "refused"], ["UNSUBSCRIBE", "a", "b"], ["ECHO", "ok"])
            .Raw(string.Concat(Enumerable.Repeat("PING\r\n", 100)), 100, 100)
            .Raw(string.Concat(Enumerable.Repeat("*1\r\n$4\r\nPING\r\nPING\r\n", 50)), 100, 100),

        new Script("empty and null multibulk are ignored")
            .Raw("*0\r\n", 0).Raw("*-1\r\n", 0).Raw("*-5\r\n", 0).Inline("PING").Raw("*0\r\n*1\r\n$4\r\nPING\r\n", 1, 2),

        new Script("http post is dropped without a reply")
            .Inline("PING").RawClose("POST / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));
}
