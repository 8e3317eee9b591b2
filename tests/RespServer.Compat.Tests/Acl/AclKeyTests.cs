using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Acl;

/// <summary>
/// Key patterns (~, %R~, %W~, %RW~, allkeys, resetkeys) checked on every key of the keyspace commands, for
/// requests and ACL DRYRUN, with the refused key in ACL LOG. No key exists: only permissions differ.
/// </summary>
public sealed class AclKeyTests(AclKeyServerPair servers) : IClassFixture<AclKeyServerPair>
{
    internal static readonly Script[] Scripts =
    [
        new Script("keyspace commands against read and write patterns")
            .Cmd("AUTH", "kp", "x")
            .Cmd("GET", "a1").Cmd("GET", "r1").Cmd("GET", "w1").Cmd("GET", "x1").Cmd("GET", "q").Cmd("GET")
            .Cmd("DEL", "a1").Cmd("DEL", "r1").Cmd("DEL", "w1").Cmd("DEL", "x1").Cmd("DEL", "a1", "q", "a2")
            .Cmd("DEL", "w1", "x1", "a1").Cmd("DEL", "w1", "r1").Cmd("del", "a\u0000", "\u00ff")
            .Cmd("UNLINK", "r1").Cmd("UNLINK", "w1", "x1").Cmd("UNLINK", "a1", "q")
            .Cmd("EXISTS", "r1", "w1", "x1", "a1").Cmd("EXISTS", "a1", "q", "a2").Cmd("TYPE", "w1").Cmd("TYPE", "r1").Cmd("TYPE", "q")
            .Cmd("KEYS", "q*").Cmd("SCAN", "0", "MATCH", "q*").Cmd("DBSIZE").Cmd("FLUSHDB")
            .Cmd("PUBLISH", "c1", "x").Cmd("PUBLISH", "a1", "x"),

        new Script("keyspace commands against read and write patterns resp3")
            .Cmd("HELLO", "3", "AUTH", "kp", "x").Normalize(Normalize.ValueOf("id"))
            .Cmd("GET", "r1").Cmd("GET", "w1").Cmd("DEL", "a1", "r1").Cmd("EXISTS", "w1").Cmd("TYPE", "x1").Cmd("TYPE", "q"),

        // FLUSHALL first: our server keeps history for the PUBLISHes of other scripts (as streams of their
        // channels' names), which KEYS, SCAN and DBSIZE below would see; Redis keeps nothing for a PUBLISH.
        new Script("allkeys, resetkeys and no keys")
            .Cmd("AUTH", "kall", "x").Cmd("FLUSHALL").Cmd("DEL", "q", "r").Cmd("GET", "q").Cmd("TYPE", "q")
            .Cmd("AUTH", "kreset", "x").Cmd("GET", "b1").Cmd("GET", "a1").Cmd("DEL", "b1").Cmd("EXISTS", "b1").Cmd("TYPE", "a1")
            .Cmd("AUTH", "knone", "x").Cmd("GET", "a").Cmd("EXISTS", "a").Cmd("DEL", "a").Cmd("KEYS", "*").Cmd("SCAN", "0")
            .Cmd("DBSIZE").Cmd("PUBLISH", "q", "x").Cmd("SPUBLISH", "c1", "x").CmdN(1, "SSUBSCRIBE", "c1").Cmd("SUNSUBSCRIBE", "c1")
            .Cmd("AUTH", "kcmd", "x").Cmd("DEL", "q").Cmd("EXISTS", "a1", "q").Cmd("GET", "q").Cmd("GET", "a1"),

        new Script("dryrun with keys")
            .Cmd("ACL", "DRYRUN", "kp", "get", "r1").Cmd("ACL", "DRYRUN", "kp", "get", "w1").Cmd("ACL", "DRYRUN", "kp", "GET", "q")
            .Cmd("ACL", "DRYRUN", "kp", "del", "a1", "q", "a2").Cmd("ACL", "DRYRUN", "kp", "del", "w1", "x1", "r1")
            .Cmd("ACL", "DRYRUN", "kp", "del", "w1", "x1").Cmd("ACL", "DRYRUN", "kp", "unlink", "r1")
            .Cmd("ACL", "DRYRUN", "kp", "exists", "r1", "w1", "z").Cmd("ACL", "DRYRUN", "kp", "exists", "w1")
            .Cmd("ACL", "DRYRUN", "kp", "type", "w1").Cmd("ACL", "DRYRUN", "kp", "type", "q")
            .Cmd("ACL", "DRYRUN", "kp", "del", "a1", "q\u0000z").Cmd("ACL", "DRYRUN", "kp", "keys", "q")
            .Cmd("ACL", "DRYRUN", "kp", "scan", "0").Cmd("ACL", "DRYRUN", "kp", "flushall").Cmd("ACL", "DRYRUN", "kp", "publish", "q", "x")
            .Cmd("ACL", "DRYRUN", "kall", "del", "q").Cmd("ACL", "DRYRUN", "kreset", "get", "b").Cmd("ACL", "DRYRUN", "kreset", "get", "a")
            .Cmd("ACL", "DRYRUN", "knone", "exists", "a").Cmd("ACL", "DRYRUN", "kcmd", "del", "q").Cmd("ACL", "DRYRUN", "kcmd", "exists", "q")
            .Cmd("ACL", "DRYRUN", "kp", "get").Cmd("ACL", "DRYRUN", "kp", "get", "a", "b").Cmd("ACL", "DRYRUN", "kp", "del")
            .Cmd("ACL", "DRYRUN", "kp", "type").Cmd("ACL", "DRYRUN", "kp", "client").Cmd("ACL", "DRYRUN", "kp", "nosuch", "a"),

        new Script("acl log names the refused key")
            .On(0).Cmd("ACL", "LOG", "RESET")
            .On(1).Cmd("AUTH", "kp", "x").Cmd("DEL", "a1", "q", "a2").Cmd("GET", "w1").Cmd("GET", "w1").Cmd("DEL", "a1", "q\u0000z\u00ff")
            .On(2).Cmd("AUTH", "kcmd", "x").Cmd("DEL", "q").Cmd("EXISTS", "a1", "q")
            .On(0).Cmd("ACL", "LOG").Normalize(AclNormalize.LogEntries)
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id")).Cmd("ACL", "LOG", "2").Normalize(AclNormalize.LogEntries)
            .Cmd("ACL", "LOG", "RESET"),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));
}
