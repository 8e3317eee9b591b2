using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Differential;

/// <summary>Input that breaks the protocol: the same error text as Redis, after the replies before it, then the close.</summary>
public sealed class MalformedInputTests(ServerPair servers) : IClassFixture<ServerPair>
{
    internal static readonly Script[] Scripts =
    [
        new Script("quit").Cmd("PING").CmdClose("QUIT"),
        new Script("quit with arguments").Inline("PING").RawClose("quit now please\r\n"),
        new Script("quit then more in one write").RawClose("QUIT\r\nPING\r\n"),
        new Script("quit while subscribed").Cmd("SUBSCRIBE", "q").CmdClose("QUIT"),
        new Script("multibulk length too large").Inline("PING").RawClose("*2147483648\r\n"),
        new Script("multibulk length with plus").RawClose("*+1\r\n$4\r\nPING\r\n"),
        new Script("multibulk length not a number").Inline("PING").RawClose("*abc\r\n"),
        new Script("dollar expected").RawClose("*1\r\nx\r\n"),
        new Script("dollar expected got colon").RawClose("*2\r\n$4\r\nECHO\r\n:5\r\n"),
        new Script("negative bulk length").RawClose("*1\r\n$-1\r\n"),
        new Script("bulk length not a number").RawClose("*1\r\n$abc\r\n"),
        new Script("bulk length over proto-max-bulk-len").RawClose("*1\r\n$536870913\r\n"),
        new Script("bulk length overflow").RawClose("*1\r\n$99999999999999999999\r\n"),
        new Script("too big inline request").RawClose(new string('a', 70_000)),
        new Script("too big mbulk count string").RawClose("*" + new string('1', 70_000)),
        new Script("too big bulk count string").RawClose("*1\r\n$" + new string('1', 70_000)),
        new Script("unbalanced double quote").RawClose("ECHO \"abc\r\n"),
        new Script("unbalanced single quote").RawClose("ECHO 'abc\r\n"),
        new Script("text after closing quote").RawClose("ECHO \"abc\"d\r\n"),
        new Script("quotes inside a word").RawClose("ECHO a\"b\"c\r\n"),
        new Script("good commands then a bad frame").RawClose("*1\r\n$4\r\nPING\r\nECHO x\r\n*1\r\n$3\r\nabc\r\n*1\r\n$-3\r\n", 4),
        new Script("http get").RawClose("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis_then_closed(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));
}
