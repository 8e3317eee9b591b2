using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Acl;

/// <summary>ACL users from <c>user</c> directives: AUTH, HELLO AUTH, NOPERM for commands and channels, ACL SETUSER/GETUSER/LIST.</summary>
public sealed class AclTests(AclServerPair servers) : IClassFixture<AclServerPair>
{
    private static readonly Func<IReadOnlyList<RespFrame>, IReadOnlyList<RespFrame>> Rules = AclNormalize.CommandRules;

    internal static readonly Script[] Scripts =
    [
        new Script("auth as users")
            .Cmd("ACL", "WHOAMI").Cmd("AUTH", "alice", "alicepw").Cmd("PING")
            .Cmd("AUTH", "alice", "wrong").Cmd("AUTH", "off1", "offpw").Cmd("AUTH", "nouser", "x").Cmd("AUTH", "alice")
            .Cmd("AUTH", "bob", "bobpw2").Cmd("PUBLISH", "bob:1", "x").Cmd("AUTH", "bob", "bobpw")
            .Cmd("AUTH", "keys", "anything").Cmd("AUTH", "default", "whatever").Cmd("ACL", "WHOAMI")
            .Cmd("AUTH", "alice", "alicepw").Cmd("RESET").Cmd("ACL", "WHOAMI"),

        new Script("noperm for commands")
            .Cmd("AUTH", "alice", "alicepw").Cmd("PING").Cmd("ECHO", "x").Cmd("ACL", "WHOAMI").Cmd("CLIENT", "ID")
            .Cmd("CONFIG", "GET", "port").Cmd("PUBSUB", "NUMPAT").Cmd("GET", "k").Cmd("INFO").Cmd("COMMAND", "COUNT")
            .Cmd("ECHO").Cmd("FOO").Cmd("CLIENT", "FOO").Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"))
            .Cmd("ECHO", "x").Cmd("QUIT"),

        new Script("noperm for keys")
            .Cmd("AUTH", "keys", "x").Cmd("GET", "k:1").Cmd("GET", "r:1").Cmd("GET", "other").Cmd("ECHO", "x"),

        new Script("channel permissions")
            .Cmd("AUTH", "alice", "alicepw").Cmd("PUBLISH", "news:1", "x").Cmd("PUBLISH", "other", "x")
            .Cmd("SPUBLISH", "alerts", "x").Cmd("SPUBLISH", "alerts2", "x").Cmd("PUBLISH", "news:", "x")
            .CmdN(1, "SUBSCRIBE", "news:1", "other").Cmd("SUBSCRIBE", "news:1", "news:2")
            .Cmd("PSUBSCRIBE", "news:*").CmdN(1, "PSUBSCRIBE", "news:1*").CmdN(1, "PSUBSCRIBE", "*").CmdN(1, "PSUBSCRIBE", "news:?")
            .Cmd("SSUBSCRIBE", "alerts").CmdN(1, "SSUBSCRIBE", "news:1").CmdN(1, "SSUBSCRIBE", "nope")
            .Cmd("PING").Cmd("ECHO", "x").Cmd("PUNSUBSCRIBE", "nope"),

        new Script("channel permissions resp3")
            .Cmd("HELLO", "3", "AUTH", "bob", "bobpw").Normalize(Normalize.ValueOf("id"))
            .Cmd("SUBSCRIBE", "bob:x").CmdN(1, "SUBSCRIBE", "bob", "bob:y").Cmd("PSUBSCRIBE", "bob:*")
            .CmdN(1, "PSUBSCRIBE", "bob:x").Cmd("PUBLISH", "bob:x", "hello").Read(2).Cmd("PUBLISH", "alice", "x")
            .CmdN(1, "SSUBSCRIBE", "bob:x").Cmd("UNSUBSCRIBE", "bob:x"),

        new Script("hello auth")
            .Cmd("HELLO", "3", "AUTH", "alice", "alicepw").Normalize(Normalize.ValueOf("id")).Cmd("ACL", "WHOAMI")
            .Cmd("HELLO", "2", "AUTH", "alice", "wrong").Cmd("HELLO", "2", "AUTH", "off1", "offpw")
            .Cmd("HELLO", "2", "AUTH", "bob", "bobpw", "SETNAME", "b").Normalize(Normalize.ValueOf("id"))
            .Cmd("CLIENT", "GETNAME"),

        new Script("setuser and getuser")
            .Cmd("ACL", "SETUSER", "s1").Cmd("ACL", "GETUSER", "s1").Normalize(Rules)
            .Cmd("ACL", "SETUSER", "s1", "on", ">p1", ">p2", "<p1", "&a:*", "&b", "&a:*", "~k*", "%R~r*", "%W~w*", "%RW~x", "+@pubsub", "-spublish", "+ping")
            .Cmd("ACL", "GETUSER", "s1").Normalize(Rules)
            .Cmd("ACL", "SETUSER", "s2", "reset", "nopass", "allchannels", "allkeys", "allcommands", "-@dangerous")
            .Cmd("ACL", "GETUSER", "s2").Normalize(Rules)
            .Cmd("ACL", "SETUSER", "s3", "on", "#" + AclServerPair.Sha256Hex("p"), "+@all", "-@pubsub", "+publish", "resetchannels", "&x", "skip-sanitize-payload")
            .Cmd("ACL", "GETUSER", "s3").Normalize(Rules)
            .Cmd("ACL", "SETUSER", "s4", "nocommands", "+@admin", "-@dangerous", "+client|kill", "-client")
            .Cmd("ACL", "GETUSER", "s4").Normalize(Rules)
            .Cmd("ACL", "SETUSER", "s5", "+@read", "+@write", "-@keyspace").Cmd("ACL", "GETUSER", "s5").Normalize(Rules)
            .Cmd("ACL", "SETUSER", "s6", "+@fast", "+@slow", "-@write").Cmd("ACL", "GETUSER", "s6").Normalize(Rules)
            .Cmd("ACL", "SETUSER", "s7", "+get|x", "+get|y", "+@connection", "-@slow").Cmd("ACL", "GETUSER", "s7").Normalize(Rules)
            .Cmd("ACL", "SETUSER", "s1", "reset").Cmd("ACL", "GETUSER", "s1").Normalize(Rules)
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id")).Cmd("ACL", "GETUSER", "s3").Normalize(Rules)
            .Cmd("ACL", "GETUSER", "nobody").Cmd("ACL", "LIST").Normalize(Rules).Cmd("ACL", "USERS")
            .Cmd("ACL", "DELUSER", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "nobody").Cmd("ACL", "USERS"),

        new Script("setuser errors")
            .Cmd("ACL", "SETUSER", "e", "+@nonexist").Cmd("ACL", "SETUSER", "e", "foo").Cmd("ACL", "SETUSER", "e", "+client|")
            .Cmd("ACL", "SETUSER", "e", "+client|list|x").Cmd("ACL", "SETUSER", "e", "+client|foo").Cmd("ACL", "SETUSER", "e", "+nocmd")
            .Cmd("ACL", "SETUSER", "e", "-get|x").Cmd("ACL", "SETUSER", "e", "&*", "&a").Cmd("ACL", "SETUSER", "e", "~*", "~a")
            .Cmd("ACL", "SETUSER", "e", "<nopw").Cmd("ACL", "SETUSER", "e", "!abc").Cmd("ACL", "SETUSER", "e", "#ABC")
            .Cmd("ACL", "SETUSER", "e", "#" + new string('A', 64)).Cmd("ACL", "SETUSER", "e", "&a b").Cmd("ACL", "SETUSER", "a b")
            .Cmd("ACL", "SETUSER", "e", "%X~a").Cmd("ACL", "SETUSER", "e", "+").Cmd("ACL", "SETUSER", "e", "on", "+ping", "bad")
            .Cmd("ACL", "USERS").Cmd("ACL", "SETUSER").Cmd("ACL", "DELUSER", "default").Cmd("ACL", "GETUSER")
            .Cmd("ACL", "LIST", "x").Cmd("ACL", "CAT", "a", "b").Cmd("ACL", "NOPE").Cmd("ACL")
            .Cmd("ACL", "LOAD").Cmd("ACL", "SAVE").Cmd("ACL", "GENPASS", "0").Cmd("ACL", "GENPASS", "x").Cmd("ACL", "GENPASS", "5000"),

        new Script("acl cat and help")
            .Cmd("ACL", "CAT").Cmd("ACL", "CAT", "pubsub").Normalize(Normalize.ElementsAsSet).Cmd("ACL", "CAT", "PubSub")
            .Normalize(Normalize.ElementsAsSet).Cmd("ACL", "CAT", "nope").Cmd("ACL", "HELP"),

        new Script("dryrun")
            .Cmd("ACL", "DRYRUN", "alice", "publish", "news:1", "x").Cmd("ACL", "DRYRUN", "alice", "publish", "x", "x")
            .Cmd("ACL", "DRYRUN", "alice", "echo", "x").Cmd("ACL", "DRYRUN", "alice", "psubscribe", "news:*")
            .Cmd("ACL", "DRYRUN", "alice", "psubscribe", "news:1*").Cmd("ACL", "DRYRUN", "alice", "subscribe", "news:1", "x")
            .Cmd("ACL", "DRYRUN", "keys", "get", "r:1").Cmd("ACL", "DRYRUN", "keys", "get", "x")
            .Cmd("ACL", "DRYRUN", "nobody", "ping").Cmd("ACL", "DRYRUN", "alice", "nocmd").Cmd("ACL", "DRYRUN", "alice", "client", "id")
            .Cmd("ACL", "DRYRUN", "default", "client", "id"),

        new Script("changing channel rights closes subscribers no longer allowed")
            .On(0).Cmd("ACL", "SETUSER", "k1", "on", ">k", "resetchannels", "&kc:*", "&kp:*", "+@pubsub")
            .On(1).Cmd("AUTH", "k1", "k").Cmd("SUBSCRIBE", "kc:1")
            .On(2).Cmd("AUTH", "k1", "k").Cmd("PSUBSCRIBE", "kp:*")
            .On(3).Cmd("AUTH", "k1", "k").Cmd("PUBLISH", "kc:1", "x")
            .On(1).Read(1)
            .On(0).Cmd("ACL", "SETUSER", "k1", "&more").Cmd("PUBSUB", "NUMSUB", "kc:1")
            .On(1).Cmd("PING")
            .On(0).Cmd("ACL", "SETUSER", "k1", "resetchannels", "&kc:*", "&kp:x")
            .On(2).RawClose("")
            .On(1).Cmd("PING")
            .On(0).Cmd("ACL", "SETUSER", "k1", "resetchannels", "&other")
            .On(1).RawClose("")
            .On(3).Cmd("PING")
            .On(0).Cmd("ACL", "DELUSER", "k1")
            .On(3).RawClose(""),

        new Script("allchannels to resetchannels")
            .On(0).Cmd("ACL", "SETUSER", "k2", "on", ">k", "allchannels", "+@pubsub")
            .On(1).Cmd("AUTH", "k2", "k").Cmd("SUBSCRIBE", "any")
            .On(2).Cmd("AUTH", "k2", "k").Cmd("SUBSCRIBE", "x")
            .On(0).Cmd("ACL", "SETUSER", "k2", "resetchannels", "&x")
            .On(1).RawClose("")
            .On(2).Cmd("PING")
            .On(0).Cmd("ACL", "SETUSER", "k2", "&y").Cmd("ACL", "DELUSER", "k2")
            .On(2).RawClose(""),

        new Script("deluser of the current user")
            .Cmd("ACL", "SETUSER", "k3", "on", "nopass", "+@all").Cmd("AUTH", "k3", "x").Cmd("ACL", "WHOAMI")
            .CmdClose("ACL", "DELUSER", "k3"),

        new Script("acl log")
            .On(0).Cmd("ACL", "LOG", "RESET").Cmd("ACL", "LOG")
            .On(1).Cmd("AUTH", "alice", "wrong").Cmd("auth", "alice", "wrong").Cmd("HELLO", "2", "AUTH", "nouser", "x")
            .Cmd("AUTH", "alice", "alicepw").Cmd("PUBLISH", "other", "x").Cmd("ECHO", "x").Cmd("ECHO", "y")
            .CmdN(1, "SUBSCRIBE", "news:1", "bad")
            .On(2).Cmd("AUTH", "keys", "x").Cmd("GET", "nokey")
            .On(0).Cmd("ACL", "LOG").Normalize(AclNormalize.LogEntries).Cmd("ACL", "LOG", "2").Normalize(AclNormalize.LogEntries)
            .Cmd("ACL", "LOG", "-1").Cmd("ACL", "LOG", "x").Cmd("ACL", "LOG", "1", "2")
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id")).Cmd("ACL", "LOG", "1").Normalize(AclNormalize.LogEntries)
            .Cmd("ACL", "LOG", "RESET").Cmd("ACL", "LOG"),

        new Script("client list and kill by user")
            .On(1).Cmd("AUTH", "alice", "alicepw")
            .On(0).Cmd("CLIENT", "KILL", "USER", "nobody").Cmd("CLIENT", "KILL", "USER", "alice")
            .On(1).RawClose(""),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));
}
