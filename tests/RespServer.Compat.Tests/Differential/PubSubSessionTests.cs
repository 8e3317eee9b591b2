using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Differential;

/// <summary>Subscribe/unsubscribe sequences with their counts, messages from a second connection, PUBSUB, RESP2 and RESP3.</summary>
public sealed class PubSubSessionTests(ServerPair servers) : IClassFixture<ServerPair>
{
    private static readonly string Binary = "\u0000\u00ff\r\n\u0080 \"'\\";
    private static readonly string Long300 = new('c', 300);

    internal static readonly Script[] Scripts =
    [
        new Script("resp2 subscribe counts and the subscribed-mode restriction")
            .Cmd("SUBSCRIBE", "a", "b", "c").Cmd("SUBSCRIBE", "a").Cmd("subscribe", "d", "d")
            .Cmd("PING").Cmd("PING", "x").Cmd("PING", "").Cmd("ping", "a", "b")
            .Cmd("ECHO", "x").Cmd("PUBLISH", "a", "m").Cmd("CLIENT", "ID").Cmd("HELLO", "3").Cmd("HELLO")
            .Cmd("SELECT", "0").Cmd("AUTH", "pw").Cmd("PUBSUB", "NUMPAT").Cmd("GET", "k").Cmd("CLIENT", "SETNAME", "x")
            .Cmd("FOO").Cmd("FOO", "bar").Cmd("ECHO").Cmd("SUBSCRIBE").Cmd("PSUBSCRIBE").Cmd("CLIENT", "NOSUCH")
            .Cmd("PSUBSCRIBE", "p*", "q?").Cmd("SSUBSCRIBE", "s1", "s2").Cmd("SSUBSCRIBE", "s1")
            .Cmd("UNSUBSCRIBE", "b").Cmd("UNSUBSCRIBE", "b", "nosuch").Cmd("PUNSUBSCRIBE", "nosuch")
            .Cmd("SUNSUBSCRIBE", "s2").Cmd("SUNSUBSCRIBE", "nosuch")
            .CmdN(3, "UNSUBSCRIBE").Normalize(Normalize.NamesAsSet)
            .CmdN(1, "UNSUBSCRIBE")
            .CmdN(2, "PUNSUBSCRIBE").Normalize(Normalize.NamesAsSet)
            .CmdN(1, "PUNSUBSCRIBE")
            .Cmd("PING").Cmd("ECHO", "still shard-subscribed")
            .CmdN(1, "SUNSUBSCRIBE").CmdN(1, "SUNSUBSCRIBE")
            .Cmd("PING").Cmd("ECHO", "out of subscribed mode").Cmd("PUBSUB", "NUMPAT"),

        new Script("unsubscribe with nothing subscribed")
            .CmdN(1, "UNSUBSCRIBE").CmdN(1, "PUNSUBSCRIBE").CmdN(1, "SUNSUBSCRIBE").Cmd("UNSUBSCRIBE", "a", "b")
            .Cmd("PUNSUBSCRIBE", "x").Cmd("SUNSUBSCRIBE", "y").Cmd("PING").Cmd("ECHO", "not subscribed"),

        new Script("messages from a second connection")
            .On(0).Cmd("SUBSCRIBE", "news", "", Binary, Long300)
            .On(1).Cmd("PUBLISH", "news", "hello").On(0).Read(1)
            .On(1).Cmd("PUBLISH", "news", "").On(0).Read(1)
            .On(1).Cmd("PUBLISH", "news", Binary).On(0).Read(1)
            .On(1).Cmd("PUBLISH", "", "to the empty channel").On(0).Read(1)
            .On(1).Cmd("PUBLISH", Binary, Binary).On(0).Read(1)
            .On(1).Cmd("PUBLISH", Long300, new string('m', 70000)).On(0).Read(1)
            .On(1).Cmd("PUBLISH", "nobody", "x").Cmd("PUBLISH", "NEWS", "case matters")
            .On(1).Pipeline(3, ["PUBLISH", "news", "1"], ["PUBLISH", "news", "2"], ["PUBLISH", "news", "3"]).On(0).Read(3)
            .On(0).Cmd("UNSUBSCRIBE", "news").On(1).Cmd("PUBLISH", "news", "gone")
            .On(0).Cmd("PING", "after"),

        new Script("publish receiver counts with channels and several patterns")
            .On(0).Cmd("SUBSCRIBE", "a.b")
            .On(1).Cmd("PSUBSCRIBE", "a.*", "*", "a.?", "?.b", "b.*")
            .On(2).Cmd("PSUBSCRIBE", "a*").Cmd("SUBSCRIBE", "a.b")
            .On(3).Cmd("PUBLISH", "a.b", "hi")
            .On(0).Read(1)
            .On(1).Read(4).Normalize(Normalize.FramesAsSet)
            .On(2).Read(2)
            .On(3).Cmd("PUBLISH", "b.c", "x").On(1).Read(2).Normalize(Normalize.FramesAsSet)
            .On(3).Cmd("PUBLISH", "zzz", "y").On(1).Read(1)
            .On(3).Cmd("PUBSUB", "NUMPAT").Cmd("PUBSUB", "NUMSUB", "a.b", "a.*", "nosuch").Cmd("PUBSUB", "NUMSUB")
            .Cmd("PUBSUB", "CHANNELS").Cmd("PUBSUB", "CHANNELS", "*").Cmd("PUBSUB", "CHANNELS", "x*")
            .On(1).CmdN(5, "PUNSUBSCRIBE").Normalize(Normalize.NamesAsSet)
            .On(3).Cmd("PUBLISH", "a.b", "again").On(0).Read(1).On(2).Read(2)
            .On(3).Cmd("PUBSUB", "NUMPAT"),

        new Script("pubsub channels and numsub")
            .On(0).Cmd("SUBSCRIBE", "news.1", "news.2", "sport", "\u00ffbin")
            .On(1).Cmd("SUBSCRIBE", "news.1")
            .On(2).Cmd("PUBSUB", "CHANNELS").Normalize(Normalize.ElementsAsSet)
            .Cmd("PUBSUB", "CHANNELS", "news.*").Normalize(Normalize.ElementsAsSet)
            .Cmd("PUBSUB", "CHANNELS", "news.[1]").Cmd("PUBSUB", "CHANNELS", "\u00ff*").Cmd("PUBSUB", "CHANNELS", "")
            .Cmd("pubsub", "channels", "SPORT").Cmd("PUBSUB", "NUMSUB", "news.1", "news.2", "sport", "none", "news.1")
            .Cmd("PUBSUB", "SHARDCHANNELS").Cmd("PUBSUB", "SHARDNUMSUB", "news.1").Cmd("PUBSUB", "SHARDNUMSUB")
            .Cmd("PUBSUB", "HELP").Cmd("pubsub", "help")
            .On(1).Cmd("UNSUBSCRIBE", "news.1")
            .On(2).Cmd("PUBSUB", "NUMSUB", "news.1").Cmd("PUBSUB", "CHANNELS", "news.1"),

        new Script("shard channels")
            .On(0).Cmd("SSUBSCRIBE", "s1", "s2").Cmd("SUBSCRIBE", "c1").Cmd("PSUBSCRIBE", "s*")
            .On(1).Cmd("SPUBLISH", "s1", "shard message").On(0).Read(1)
            .On(1).Cmd("PUBLISH", "s1", "plain message").On(0).Read(1)
            .On(1).Cmd("SPUBLISH", "c1", "nobody").Cmd("SPUBLISH", "s2", "")
            .On(0).Read(1)
            .On(1).Cmd("PUBSUB", "SHARDCHANNELS").Normalize(Normalize.ElementsAsSet)
            .Cmd("PUBSUB", "SHARDCHANNELS", "s1").Cmd("PUBSUB", "SHARDNUMSUB", "s1", "s2", "c1")
            .Cmd("PUBSUB", "NUMSUB", "s1").Cmd("PUBSUB", "CHANNELS").Cmd("PUBSUB", "NUMPAT")
            .On(0).Cmd("SUNSUBSCRIBE", "s1").CmdN(1, "SUNSUBSCRIBE").CmdN(1, "SUNSUBSCRIBE")
            .Cmd("UNSUBSCRIBE", "c1").Cmd("PUNSUBSCRIBE", "s*").Cmd("ECHO", "done"),

        new Script("resp3 pushes and commands while subscribed")
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"))
            .Cmd("SUBSCRIBE", "a", "b").Cmd("PSUBSCRIBE", "a*").Cmd("SSUBSCRIBE", "s")
            .Cmd("PING").Cmd("PING", "x").Cmd("ECHO", "allowed").Cmd("GET", "k").Cmd("CLIENT", "GETNAME")
            .Cmd("PUBSUB", "NUMSUB", "a").Cmd("FOO")
            .CmdN(3, "PUBLISH", "a", "to myself")
            .On(1).Cmd("PUBLISH", "b", "from another").On(0).Read(1)
            .On(1).Cmd("SPUBLISH", "s", "shard").On(0).Read(1)
            .On(1).Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"))
            .Cmd("SUBSCRIBE", "a").Cmd("PUBLISH", "a", "both").On(0).Read(2).On(1).Read(1)
            .On(0).CmdN(2, "UNSUBSCRIBE").Normalize(Normalize.NamesAsSet).CmdN(1, "UNSUBSCRIBE")
            .CmdN(1, "PUNSUBSCRIBE").CmdN(1, "PUNSUBSCRIBE").CmdN(1, "SUNSUBSCRIBE").CmdN(1, "SUNSUBSCRIBE")
            .Cmd("HELLO", "2").Normalize(Normalize.ValueOf("id"))
            .Cmd("SUBSCRIBE", "z").Cmd("ECHO", "blocked in resp2").Cmd("PING")
            .Cmd("HELLO", "3").Cmd("ECHO", "hello is not allowed there"),

        new Script("resp3 pipelined publishes to itself keep their place among its replies")
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"))
            .Cmd("SUBSCRIBE", "a").Cmd("PSUBSCRIBE", "a*")
            .On(1).Cmd("SUBSCRIBE", "a")

            // 20 PUBLISH in one write, more than a small batch (Tuning.LargeBatch, 16 commands), a
            // PING after every fifth: each PUBLISH answers its own two messages, then :3; the other
            // subscriber gets all 20 in order.
            .On(0).Pipeline(
                64,
                [.. Enumerable.Range(1, 20).SelectMany(i => i % 5 == 0 ? new[] { new[] { "PUBLISH", "a", $"m{i}" }, ["PING"] } : [["PUBLISH", "a", $"m{i}"]])])
            .On(1).Read(20),

        new Script("resp3 subscribed then back to resp2")
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"))
            .Cmd("SUBSCRIBE", "x").Cmd("HELLO", "2").Normalize(Normalize.ValueOf("id"))
            .Cmd("PING").Cmd("ECHO", "x").Cmd("UNSUBSCRIBE", "x").Cmd("PING"),

        new Script("reset leaves subscribed mode")
            .Cmd("SUBSCRIBE", "a", "b").Cmd("PSUBSCRIBE", "c*").Cmd("SSUBSCRIBE", "d")
            .Cmd("RESET").Cmd("ECHO", "free").Cmd("PUBSUB", "NUMPAT").Cmd("PUBSUB", "CHANNELS").Cmd("PUBSUB", "SHARDCHANNELS")
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"))
            .Cmd("SUBSCRIBE", "a").Cmd("RESET").Cmd("PING").Cmd("ECHO", "resp2 again"),

        new Script("subscriptions seen from another connection")
            .On(0).Cmd("SUBSCRIBE", "a").Cmd("PSUBSCRIBE", "*")
            .On(1).Cmd("PUBSUB", "NUMSUB", "a").Cmd("PUBSUB", "NUMPAT"),

        new Script("client reply off does not stop pushes")
            .On(0).CmdN(0, "CLIENT", "REPLY", "OFF").Cmd("SUBSCRIBE", "a")
            .On(1).Cmd("PUBLISH", "a", "pushed").On(0).Read(1),

        new Script("many channels in one subscribe")
            .Cmd(["SUBSCRIBE", .. Enumerable.Range(0, 100).Select(i => $"ch{i}")])
            .Cmd(["PSUBSCRIBE", .. Enumerable.Range(0, 50).Select(i => $"p{i}*")])
            .Cmd(["UNSUBSCRIBE", .. Enumerable.Range(0, 100).Select(i => $"ch{i}")])
            .Cmd(["PUNSUBSCRIBE", .. Enumerable.Range(0, 50).Select(i => $"p{i}*")]),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));
}
