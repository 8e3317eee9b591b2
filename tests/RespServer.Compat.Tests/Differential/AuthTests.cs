using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Differential;

/// <summary>Both servers started with the same --requirepass: NOAUTH, AUTH, HELLO AUTH, the pre-AUTH framing limits.</summary>
public sealed class AuthTests(AuthServerPair servers) : IClassFixture<AuthServerPair>
{
    internal static readonly Script[] Scripts =
    [
        new Script("noauth before auth")
            .Cmd("PING").Cmd("ECHO", "x").Cmd("SUBSCRIBE", "a").Cmd("PUBLISH", "a", "b").Cmd("PUBSUB", "NUMPAT")
            .Cmd("CLIENT", "ID").Cmd("SELECT", "0").Cmd("CONFIG", "GET", "timeout").Cmd("FOO").Cmd("CLIENT", "FOO")
            .Cmd("ECHO").Cmd("SUBSCRIBE").Cmd("HELLO").Cmd("HELLO", "3").Cmd("HELLO", "2").Cmd("HELLO", "4")
            .Cmd("HELLO", "3", "SETNAME", "x").Cmd("HELLO", "3", "AUTH", "default", "wrong")
            .Cmd("HELLO", "3", "AUTH", "nouser", "pw").Cmd("HELLO", "x", "AUTH", "default", "pw")
            .Cmd("AUTH", "wrong").Cmd("AUTH", "default", "wrong").Cmd("AUTH", "nouser", "pw").Cmd("AUTH", "a", "b", "c")
            .Cmd("AUTH", "").Cmd("PING").Cmd("RESET").Cmd("PING"),

        new Script("auth then commands")
            .Cmd("AUTH", "pw").Cmd("PING").Cmd("SUBSCRIBE", "a").Cmd("UNSUBSCRIBE", "a").Cmd("AUTH", "pw")
            .Cmd("AUTH", "default", "pw").Cmd("AUTH", "wrong").Cmd("PING")
            .Cmd("RESET").Cmd("PING").Cmd("AUTH", "default", "pw").Cmd("ECHO", "again"),

        new Script("hello auth")
            .Cmd("HELLO", "3", "AUTH", "default", "pw").Normalize(Normalize.ValueOf("id"))
            .Cmd("PING").Cmd("HELLO", "3", "AUTH", "default", "wrong").Cmd("PING").Cmd("HELLO", "2")
            .Normalize(Normalize.ValueOf("id"))
            .Cmd("HELLO", "2", "AUTH", "default", "pw", "SETNAME", "authed").Normalize(Normalize.ValueOf("id"))
            .Cmd("CLIENT", "GETNAME"),

        new Script("large frames after auth")
            .Cmd("AUTH", "pw")
            .Cmd(["SUBSCRIBE", .. Enumerable.Range(0, 20).Select(i => $"c{i}")])
            .Cmd("ECHO", new string('y', 100_000)),

        new Script("http request before auth is dropped silently")
            .RawClose("POST / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));
}
