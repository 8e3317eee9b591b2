using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Acl;

/// <summary>
/// Key patterns (~, %R~, %W~, %RW~, allkeys, resetkeys) on the stream commands, in RESP2 and RESP3: each
/// command on keys it may and may not touch (XADD, XDEL, XTRIM and XSETID need %W; XRANGE, XREVRANGE, XREAD
/// and the three XINFO key subcommands need %R; XLEN's key spec has neither, so any matching pattern does),
/// XREAD's keys found after STREAMS, ACL DRYRUN, ACL LOG, a refused command before a refused key, a refused
/// XREAD BLOCK that never blocks, and PUBLISH needing only its channel. Each script starts from FLUSHALL with
/// a one-entry stream at s1, r1, w1, x1 and q1, written by the default user.
/// </summary>
public sealed class AclStreamKeyTests(AclKeyServerPair servers) : IClassFixture<AclKeyServerPair>
{
    internal static readonly Script[] Scripts =
    [
        .. Both("stream commands against read and write patterns", s => s
            .Cmd("AUTH", "ks", "x")
            .Cmd("XADD", "s1", "2-1", "f", "v").Cmd("XADD", "r1", "2-1", "f", "v").Cmd("XADD", "w1", "2-1", "f", "v")
            .Cmd("XADD", "x1", "2-1", "f", "v").Cmd("XADD", "q1", "2-1", "f", "v").Cmd("XADD", "q2", "NOMKSTREAM", "MAXLEN", "1", "*", "f", "v")
            .Cmd("XADD", "s1", "1-1", "f", "v").Cmd("XADD", "q1")
            .Cmd("XRANGE", "s1", "-", "+").Cmd("XRANGE", "r1", "-", "+").Cmd("XRANGE", "w1", "-", "+").Cmd("XRANGE", "x1", "-", "+")
            .Cmd("XRANGE", "q1", "-", "+").Cmd("XRANGE", "q1", "-").Cmd("XRANGE", "r1", "x", "+")
            .Cmd("XREVRANGE", "r1", "+", "-", "COUNT", "1").Cmd("XREVRANGE", "w1", "+", "-").Cmd("XREVRANGE", "q1", "+", "-")
            .Cmd("XLEN", "s1").Cmd("XLEN", "r1").Cmd("XLEN", "w1").Cmd("XLEN", "x1").Cmd("XLEN", "q1").Cmd("XLEN", "q1", "x")
            .Cmd("XDEL", "r1", "1-1").Cmd("XDEL", "w1", "1-1").Cmd("XDEL", "q1", "1-1").Cmd("XDEL", "x1", "1-1", "9-9")
            .Cmd("XTRIM", "r1", "MAXLEN", "0").Cmd("XTRIM", "w1", "MAXLEN", "0").Cmd("XTRIM", "q1", "MINID", "0").Cmd("XTRIM", "x1", "MAXLEN", "x")
            .Cmd("XSETID", "r1", "5-5").Cmd("XSETID", "w1", "5-5").Cmd("XSETID", "q1", "5-5").Cmd("XSETID", "x1", "1-0")
            .Cmd("XINFO", "STREAM", "s1").Cmd("XINFO", "STREAM", "r1").Cmd("XINFO", "STREAM", "w1").Cmd("XINFO", "STREAM", "q1")
            .Cmd("XINFO", "STREAM", "x1", "FULL").Cmd("XINFO", "STREAM", "q1", "FULL", "COUNT", "x").Cmd("XINFO", "STREAM")
            .Cmd("XINFO", "GROUPS", "r1").Cmd("XINFO", "GROUPS", "w1").Cmd("XINFO", "GROUPS", "q1").Cmd("xinfo", "groups", "x1")
            .Cmd("XINFO", "CONSUMERS", "r1", "g").Cmd("XINFO", "CONSUMERS", "w1", "g").Cmd("XINFO", "CONSUMERS", "q1", "g")
            .Cmd("XINFO", "CONSUMERS", "q1").Cmd("XINFO", "HELP").Cmd("XINFO", "HELP", "q1").Cmd("XINFO", "NOSUCH", "q1")
            .Cmd("XRANGE", "w1", "-", "+").Cmd("XLEN", "w1")),

        .. Both("xread keys after streams, one refused in the middle", s => s
            .Cmd("AUTH", "ks", "x")
            .Cmd("XREAD", "STREAMS", "s1", "r1", "x1", "0", "0", "0").Cmd("XREAD", "STREAMS", "s1", "q1", "x1", "0", "0", "0")
            .Cmd("XREAD", "STREAMS", "s1", "w1", "x1", "0", "0", "0").Cmd("XREAD", "COUNT", "1", "STREAMS", "s1", "q1", "0", "0")
            .Cmd("XREAD", "STREAMS", "q1", "s1", "0", "0").Cmd("XREAD", "STREAMS", "s1", "s2", "x1", "r1", "q1", "0", "0", "0", "0", "0")
            .Cmd("XREAD", "STREAMS", "s1", "q1", "0").Cmd("XREAD", "STREAMS", "s1", "s2", "q1", "0", "0")
            .Cmd("XREAD", "COUNT", "1", "STREAMS", "q1").Cmd("XREAD", "STREAMS", "q1").Cmd("XREAD", "STREAMS")
            .Cmd("XREAD", "COUNT", "1", "STREAMS").Cmd("XREAD", "COUNT", "STREAMS", "q1", "0").Cmd("XREAD", "COUNT", "STREAMS", "s1", "0")
            .Cmd("XREAD", "streams", "q1", "STREAMS", "s1", "0").Cmd("XREAD", "STREAMS", "s1", "STREAMS", "q1", "0")
            .Cmd("XREAD", "STREAMS", "STREAMS", "q1", "0").Cmd("XREAD", "STREAMS", "s1", "STREAMS")
            .Cmd("XREAD", "STREAMS\u0000x", "q1", "0").Cmd("XREAD", "STREAMS\u0000x", "s1", "0").Cmd("XREAD", "STREAMSX", "q1", "0")
            .Cmd("XREAD", "NOSUCH", "1", "STREAMS", "q1", "0").Cmd("XREAD", "COUNT", "x", "STREAMS", "q1", "0")
            .Cmd("XREAD", "COUNT", "x", "STREAMS", "s1", "0").Cmd("XREAD", "BLOCK", "x", "STREAMS", "q1", "0")
            .Cmd("XREAD", "STREAMS", "s\u0000q", "r\u00ff", "0", "0").Cmd("XREAD", "STREAMS", "s1", "q\u0000s", "0", "0")
            .Cmd("XREAD", "BLOCK", "10", "STREAMS", "s1", "r1", "$", "$").Cmd("XREAD", "BLOCK", "10", "STREAMS", "s1", "w1", "$", "$")),

        .. Both("refused command before refused key, arity before both", s => s
            .Cmd("AUTH", "kscmd", "x")
            .Cmd("XADD", "q1", "3-1", "f", "v").Cmd("XADD", "s1", "3-1", "f", "v").Cmd("XADD", "q1").Cmd("XRANGE", "q1", "-", "+")
            .Cmd("XLEN", "q1").Cmd("XLEN", "s1").Cmd("XLEN", "q1", "x").Cmd("XINFO", "STREAM", "q1").Cmd("XINFO", "STREAM", "s1")
            .Cmd("XINFO", "GROUPS", "s1").Cmd("XINFO", "GROUPS", "q1").Cmd("XINFO", "HELP").Cmd("XINFO")
            .Cmd("XREAD", "STREAMS", "s1", "q1", "0", "0").Cmd("XREAD", "STREAMS", "s1", "0").Cmd("XREAD")
            .Cmd("XDEL", "q1", "1-1").Cmd("XSETID", "s1", "9-9")),

        .. Both("allkeys, resetkeys and no keys", s => s
            .Cmd("AUTH", "kall", "x").Cmd("XADD", "q1", "3-1", "f", "v").Cmd("XREAD", "STREAMS", "q1", "zz", "2", "0")
            .Cmd("XINFO", "GROUPS", "q1").Cmd("XDEL", "q1", "3-1").Cmd("XTRIM", "q1", "MAXLEN", "0").Cmd("XSETID", "q1", "9-9")
            .Cmd("AUTH", "kreset", "x").Cmd("XADD", "a1", "1-1", "f", "v").Cmd("XLEN", "b1").Cmd("XRANGE", "b1", "-", "+")
            .Cmd("XADD", "b1", "*", "f", "v").Cmd("XREAD", "STREAMS", "b1", "b2", "0", "0").Cmd("XREAD", "STREAMS", "b1", "a1", "0", "0")
            .Cmd("XINFO", "STREAM", "a1").Cmd("XINFO", "CONSUMERS", "b1", "g")
            .Cmd("AUTH", "knone", "x").Cmd("XLEN", "s1").Cmd("XREAD", "STREAMS", "s1", "0").Cmd("XINFO", "HELP")
            .Cmd("XADD", "s1", "*", "f", "v")),

        .. Both("dryrun on stream commands", s => s
            .Cmd("ACL", "DRYRUN", "ks", "xadd", "s1", "*", "f", "v").Cmd("ACL", "DRYRUN", "ks", "xadd", "r1", "*", "f", "v")
            .Cmd("ACL", "DRYRUN", "ks", "xadd", "w1", "*", "f", "v").Cmd("ACL", "DRYRUN", "ks", "xadd", "q1")
            .Cmd("ACL", "DRYRUN", "ks", "xrange", "w1", "-", "+").Cmd("ACL", "DRYRUN", "ks", "xrange", "r1", "-", "+")
            .Cmd("ACL", "DRYRUN", "ks", "xrevrange", "w1", "+", "-").Cmd("ACL", "DRYRUN", "ks", "xlen", "w1")
            .Cmd("ACL", "DRYRUN", "ks", "xlen", "q1").Cmd("ACL", "DRYRUN", "ks", "xdel", "r1", "1-1").Cmd("ACL", "DRYRUN", "ks", "xdel", "w1", "1-1")
            .Cmd("ACL", "DRYRUN", "ks", "xtrim", "r1", "MAXLEN", "0").Cmd("ACL", "DRYRUN", "ks", "xtrim", "x1", "MAXLEN", "0")
            .Cmd("ACL", "DRYRUN", "ks", "xsetid", "r1", "1-1").Cmd("ACL", "DRYRUN", "ks", "xsetid", "w1", "1-1")
            .Cmd("ACL", "DRYRUN", "ks", "xinfo", "stream", "w1").Cmd("ACL", "DRYRUN", "ks", "xinfo", "groups", "w1")
            .Cmd("ACL", "DRYRUN", "ks", "xinfo", "consumers", "w1", "g").Cmd("ACL", "DRYRUN", "ks", "xinfo", "consumers", "r1", "g")
            .Cmd("ACL", "DRYRUN", "ks", "xinfo", "help").Cmd("ACL", "DRYRUN", "ks", "xinfo", "nosuch").Cmd("ACL", "DRYRUN", "ks", "xinfo")
            .Cmd("ACL", "DRYRUN", "ks", "xread", "streams", "s1", "w1", "x1", "0", "0", "0")
            .Cmd("ACL", "DRYRUN", "ks", "xread", "streams", "s1", "r1", "x1", "0", "0", "0")
            .Cmd("ACL", "DRYRUN", "ks", "xread", "count", "1", "streams").Cmd("ACL", "DRYRUN", "ks", "xread", "streams", "s1", "q1", "0")
            .Cmd("ACL", "DRYRUN", "ks", "xread", "block", "0", "streams", "q1", "$")
            .Cmd("ACL", "DRYRUN", "kscmd", "xadd", "s1", "*", "f", "v").Cmd("ACL", "DRYRUN", "kscmd", "xinfo", "groups", "q1")
            .Cmd("ACL", "DRYRUN", "kscmd", "xinfo", "stream", "q1").Cmd("ACL", "DRYRUN", "kscmd", "xread", "streams", "q1", "0")
            .Cmd("ACL", "DRYRUN", "kscmd", "xlen").Cmd("ACL", "DRYRUN", "kall", "xadd", "q", "*", "f", "v")
            .Cmd("ACL", "DRYRUN", "kreset", "xadd", "b1", "*", "f", "v").Cmd("ACL", "DRYRUN", "kreset", "xrange", "b1", "-", "+")
            .Cmd("ACL", "DRYRUN", "knone", "xlen", "a").Cmd("ACL", "DRYRUN", "kpub", "publish", "ch", "x")
            .Cmd("ACL", "DRYRUN", "kpub", "publish", "ch2", "x").Cmd("ACL", "DRYRUN", "kpub", "xlen", "ch")
            .Cmd("ACL", "DRYRUN", "kpub", "xadd", "ch", "*", "f", "v")),

        .. Both("acl log names the refused stream key", s => s
            .Cmd("ACL", "LOG", "RESET")
            .On(1).Cmd("AUTH", "ks", "x").Cmd("XADD", "r1", "1-1", "f", "v").Cmd("XREAD", "STREAMS", "s1", "w1", "x1", "0", "0", "0")
            .Cmd("XREAD", "BLOCK", "0", "STREAMS", "s1", "q1", "$", "$").Cmd("XINFO", "STREAM", "q1").Cmd("XINFO", "GROUPS", "w1")
            .Cmd("XINFO", "CONSUMERS", "w1", "g").Cmd("XTRIM", "r1", "MAXLEN", "0")
            .On(2).Cmd("AUTH", "kscmd", "x").Cmd("XADD", "s1", "*", "f", "v").Cmd("XLEN", "q1").Cmd("XINFO", "GROUPS", "s1")
            .On(0).Cmd("ACL", "LOG").Normalize(AclNormalize.LogEntries).Cmd("ACL", "LOG", "RESET")),

        .. Both("a refused xread block answers at once", s => s
            .Cmd("AUTH", "ks", "x").Cmd("XREAD", "BLOCK", "0", "STREAMS", "s1", "q1", "$", "$")
            .Cmd("XREAD", "BLOCK", "0", "STREAMS", "w1", "$").Cmd("XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "q9", "0")
            .On(1).Cmd("INFO", "clients").Normalize(Normalize.InfoLine("blocked_clients"))
            .Cmd("XADD", "q1", "5-1", "f", "v").Cmd("XADD", "w1", "5-1", "f", "v").Cmd("XADD", "q9", "5-1", "f", "v")
            .On(0).Cmd("PING").Cmd("XREAD", "BLOCK", "0", "STREAMS", "s1", "0")),

        .. Both("publish needs only the channel", s => s
            .On(1).Cmd("SUBSCRIBE", "ch")
            .On(0).Cmd("AUTH", "kpub", "x").Cmd("PUBLISH", "ch", "hello")
            .On(1).Read(1)
            .On(0).Cmd("PUBLISH", "ch", "again").Cmd("PUBLISH", "ch2", "x").Cmd("XLEN", "ch").Cmd("XADD", "ch", "*", "f", "v")
            .Cmd("XREAD", "STREAMS", "ch", "0").Cmd("SPUBLISH", "ch", "x")
            .On(1).Read(1)),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));

    /// <summary>The script from a clean keyspace with five one-entry streams, on RESP2 connections and again on RESP3 ones.</summary>
    private static Script[] Both(string name, Func<Script, Script> body) =>
    [
        body(Setup(new Script(name + " (RESP2)"), resp3: false)),
        body(Setup(new Script(name + " (RESP3)"), resp3: true)),
    ];

    private static Script Setup(Script script, bool resp3)
    {
        script.Cmd("FLUSHALL");
        foreach (var key in (string[])["s1", "r1", "w1", "x1", "q1"])
        {
            script.Cmd("XADD", key, "1-1", "f", key);
        }

        if (resp3)
        {
            // Every connection of the script speaks RESP3 from its first command.
            for (var connection = 2; connection >= 0; connection--)
            {
                script.On(connection).Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"));
            }
        }

        return script.On(0);
    }
}
