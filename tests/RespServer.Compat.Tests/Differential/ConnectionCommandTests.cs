using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Differential;

/// <summary>PING, ECHO, QUIT, RESET, SELECT, HELLO, AUTH without requirepass, CLIENT, CONFIG, unknown commands, arity.</summary>
public sealed class ConnectionCommandTests(ServerPair servers) : IClassFixture<ServerPair>
{
    private static readonly string Long200 = new('x', 200);
    private static readonly string Binary = "\u0000\u00ff\r\n\u0080 \"'\\";

    internal static readonly Script[] Scripts =
    [
        new Script("ping and echo")
            .Cmd("PING").Cmd("ping").Cmd("PiNg").Cmd("PING", "hello").Cmd("PING", "").Cmd("PING", Binary)
            .Cmd("PING", "a", "b").Cmd("PING", Long200)
            .Cmd("ECHO", "hello").Cmd("ECHO", "").Cmd("ECHO", Binary).Cmd("ECHO", Long200).Cmd("echo", "\u00ff")
            .Cmd("ECHO").Cmd("ECHO", "a", "b"),

        new Script("select")
            .Cmd("SELECT", "0").Cmd("SELECT", "15").Cmd("SELECT", "16").Cmd("SELECT", "-1").Cmd("SELECT", "abc")
            .Cmd("SELECT", "1.5").Cmd("SELECT", "").Cmd("SELECT").Cmd("SELECT", "1", "2")
            .Cmd("SELECT", " 1").Cmd("SELECT", "+1").Cmd("SELECT", "01"),

        new Script("unknown commands and subcommands")
            .Cmd("FOO").Cmd("foo", "a", "b").Cmd("FOO", "\u00ff\u0000x", "y").Cmd(Long200, Long200, "z")
            .Cmd("FOO", Long200).Cmd("FOO", "a", Long200, "c").Cmd("\u00ffbar").Cmd("").Cmd("FOO", "")
            .Cmd("CLIENT", "FOO").Cmd("client", "foo", "bar").Cmd("CLIENT", Long200).Cmd("CLIENT", "\u00ff")
            .Cmd("PUBSUB", "FOO").Cmd("CONFIG", "FOO").Cmd("COMMAND", "FOO").Cmd("CLUSTER", "FOO")
            .Cmd("SENTINEL", "MASTERS").Cmd("SUBSCRIBEX", "a"),

        new Script("arity errors")
            .Cmd("CLIENT").Cmd("CONFIG").Cmd("PUBSUB").Cmd("CLUSTER").Cmd("SUBSCRIBE").Cmd("PSUBSCRIBE").Cmd("SSUBSCRIBE")
            .Cmd("PUBLISH").Cmd("PUBLISH", "a").Cmd("PUBLISH", "a", "b", "c").Cmd("SPUBLISH", "a")
            .Cmd("RESET", "x").Cmd("CLIENT", "ID", "x").Cmd("CLIENT", "GETNAME", "x").Cmd("CLIENT", "SETNAME")
            .Cmd("CLIENT", "SETNAME", "a", "b").Cmd("CLIENT", "REPLY").Cmd("CLIENT", "KILL").Cmd("CONFIG", "GET")
            .Cmd("CONFIG", "SET", "timeout").Cmd("PUBSUB", "NUMPAT", "x").Cmd("PUBSUB", "HELP", "x")
            .Cmd("PUBSUB", "CHANNELS", "a", "b").Cmd("PUBSUB", "SHARDCHANNELS", "a", "b").Cmd("GET").Cmd("TIME", "x")
            .Cmd("AUTH").Cmd("CLUSTER", "NODES", "x"),

        new Script("hello")
            .Cmd("HELLO").Normalize(Normalize.ValueOf("id"))
            .Cmd("HELLO", "2").Normalize(Normalize.ValueOf("id"))
            .Cmd("HELLO", "4").Cmd("HELLO", "1").Cmd("HELLO", "0").Cmd("HELLO", "-1").Cmd("HELLO", "abc").Cmd("HELLO", "3.0")
            .Cmd("HELLO", "").Cmd("HELLO", "99999999999999999999")
            .Cmd("HELLO", "3", "FOO").Cmd("HELLO", "3", "AUTH").Cmd("HELLO", "3", "AUTH", "default")
            .Cmd("HELLO", "3", "SETNAME").Cmd("HELLO", "2", "SETNAME", "a b").Cmd("HELLO", "2", "foo", "bar")
            .Cmd("HELLO", "2", "AUTH", "nouser", "pw").Cmd("HELLO", "4", "FOO")
            .Cmd("HELLO", "3", "AUTH", "default", "anything", "SETNAME", "n1").Normalize(Normalize.ValueOf("id"))
            .Cmd("CLIENT", "GETNAME").Cmd("PING").Cmd("ECHO", "x").Cmd("GET", "nokey")
            .Cmd("HELLO").Normalize(Normalize.ValueOf("id"))
            .Cmd("HELLO", "2", "setname", "n2").Normalize(Normalize.ValueOf("id"))
            .Cmd("CLIENT", "GETNAME").Cmd("GET", "nokey")
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"))
            .Cmd("RESET").Cmd("GET", "nokey").Cmd("CLIENT", "GETNAME"),

        new Script("auth without requirepass")
            .Cmd("AUTH", "pw").Cmd("AUTH", "default", "pw").Cmd("AUTH", "nouser", "pw").Cmd("AUTH", "a", "b", "c")
            .Cmd("AUTH", "default", "").Cmd("PING"),

        new Script("client name, id, reply")
            .Cmd("CLIENT", "GETNAME").Cmd("CLIENT", "SETNAME", "worker-1").Cmd("CLIENT", "GETNAME")
            .Cmd("CLIENT", "SETNAME", "a b").Cmd("CLIENT", "SETNAME", "a\nb").Cmd("CLIENT", "SETNAME", "\u00ff")
            .Cmd("CLIENT", "SETNAME", "~!@#$%^&*()").Cmd("CLIENT", "GETNAME")
            .Cmd("CLIENT", "SETNAME", "").Cmd("CLIENT", "GETNAME")
            .Cmd("CLIENT", "ID").Normalize(Normalize.AnyInteger)
            .Cmd("client", "id").Normalize(Normalize.AnyInteger)
            .Cmd("CLIENT", "REPLY", "FOO").Cmd("CLIENT", "REPLY", "ON")
            .CmdN(0, "CLIENT", "REPLY", "OFF").CmdN(0, "PING").CmdN(0, "ECHO", "x").CmdN(0, "FOO")
            .Cmd("CLIENT", "REPLY", "ON")
            .CmdN(0, "CLIENT", "REPLY", "SKIP").CmdN(0, "ECHO", "skipped").Cmd("ECHO", "shown")
            .Cmd("PING"),

        new Script("client kill errors")
            .Cmd("CLIENT", "KILL", "1.2.3.4:5").Cmd("CLIENT", "KILL", "nonsense").Cmd("CLIENT", "KILL", "ID", "abc")
            .Cmd("CLIENT", "KILL", "ID", "0").Cmd("CLIENT", "KILL", "ID", "-5").Cmd("CLIENT", "KILL", "ID", "999999")
            .Cmd("CLIENT", "KILL", "TYPE", "foo").Cmd("CLIENT", "KILL", "TYPE", "pubsub").Cmd("CLIENT", "KILL", "ID")
            .Cmd("CLIENT", "KILL", "ADDR", "1.2.3.4:5").Cmd("CLIENT", "KILL", "SKIPME", "maybe")
            .Cmd("CLIENT", "KILL", "FOO", "bar").Cmd("CLIENT", "KILL", "ID", "999999", "SKIPME", "yes")
            .Cmd("CLIENT", "KILL", "USER", "nouser").Cmd("CLIENT", "NO-EVICT", "maybe"),

        new Script("config get and set")
            .Cmd("CONFIG", "GET", "port").Normalize(Normalize.ValueOf("port"))
            .Cmd("CONFIG", "GET", "requirepass").Cmd("CONFIG", "GET", "timeout").Cmd("CONFIG", "GET", "tcp-keepalive")
            .Cmd("CONFIG", "GET", "client-output-buffer-limit").Cmd("CONFIG", "GET", "proto-max-bulk-len")
            .Cmd("CONFIG", "GET", "client-query-buffer-limit").Cmd("CONFIG", "GET", "databases")
            .Cmd("CONFIG", "GET", "bind").Cmd("CONFIG", "GET", "loglevel").Cmd("CONFIG", "GET", "logfile")
            .Cmd("CONFIG", "GET", "nosuchdirective").Cmd("CONFIG", "GET", "")
            .Cmd("CONFIG", "SET", "timeout", "0").Cmd("CONFIG", "SET", "timeout", "abc")
            .Cmd("CONFIG", "SET", "nosuch", "1").Cmd("CONFIG", "SET", "databases", "1")
            .Cmd("CONFIG", "SET", "loglevel", "verbose").Cmd("CONFIG", "GET", "loglevel")
            .Cmd("CONFIG", "SET", "loglevel", "loud").Cmd("CONFIG", "SET", "loglevel", "notice"),

        new Script("config get and set of supervised")
            .Cmd("CONFIG", "GET", "supervised").Cmd("CONFIG", "SET", "supervised", "systemd")
            .Cmd("CONFIG", "SET", "supervised", "sometimes").Cmd("CONFIG", "GET", "supervised"),

        new Script("config get and set of the AOF directives")
            .Cmd("CONFIG", "GET", "appendonly").Cmd("CONFIG", "GET", "appendfsync").Cmd("CONFIG", "GET", "appendfilename")
            .Cmd("CONFIG", "GET", "appenddirname").Cmd("CONFIG", "GET", "aof-load-truncated")
            .Cmd("CONFIG", "GET", "auto-aof-rewrite-percentage").Cmd("CONFIG", "GET", "auto-aof-rewrite-min-size")
            .Cmd("CONFIG", "GET", "dir").Normalize(Normalize.ValueOf("dir"))
            .Cmd("CONFIG", "SET", "appendfsync", "always").Cmd("CONFIG", "GET", "appendfsync")
            .Cmd("CONFIG", "SET", "appendfsync", "sometimes").Cmd("CONFIG", "SET", "appendfsync", "everysec")
            .Cmd("CONFIG", "SET", "aof-load-truncated", "no").Cmd("CONFIG", "GET", "aof-load-truncated")
            .Cmd("CONFIG", "SET", "aof-load-truncated", "maybe").Cmd("CONFIG", "SET", "aof-load-truncated", "yes")
            .Cmd("CONFIG", "SET", "auto-aof-rewrite-percentage", "50").Cmd("CONFIG", "GET", "auto-aof-rewrite-percentage")
            .Cmd("CONFIG", "SET", "auto-aof-rewrite-percentage", "-1").Cmd("CONFIG", "SET", "auto-aof-rewrite-percentage", "100")
            .Cmd("CONFIG", "SET", "auto-aof-rewrite-min-size", "1mb").Cmd("CONFIG", "GET", "auto-aof-rewrite-min-size")
            .Cmd("CONFIG", "SET", "auto-aof-rewrite-min-size", "64mb")
            .Cmd("CONFIG", "SET", "appendfilename", "other.aof").Cmd("CONFIG", "SET", "appenddirname", "other")
            .Cmd("CONFIG", "SET", "dir", "/").Cmd("CONFIG", "SET", "appendonly", "maybe")
            // The same fields in the same order; with the log off, the same values for those that say what it does.
            .Cmd("INFO", "persistence").Normalize(frames => [.. frames.Select(f => RespFrame.Simple(
                string.Join(",", f.Text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':')[0]))))])
            .Cmd("INFO", "persistence").Normalize(Normalize.InfoLine("aof_enabled"))
            .Cmd("INFO", "persistence").Normalize(Normalize.InfoLine("aof_rewrite_in_progress"))
            .Cmd("INFO", "persistence").Normalize(Normalize.InfoLine("aof_last_write_status"))
            .Cmd("INFO", "persistence").Normalize(Normalize.InfoLine("aof_last_bgrewrite_status")),

        new Script("reset")
            .Cmd("CLIENT", "SETNAME", "x").CmdN(0, "CLIENT", "REPLY", "OFF").Cmd("RESET").Cmd("CLIENT", "GETNAME")
            .Cmd("SELECT", "3").Cmd("RESET").Cmd("reset").Cmd("PING"),

        new Script("non-cluster replies clients ask for")
            .Cmd("CLUSTER", "NODES").Cmd("CLUSTER", "SLOTS").Cmd("CLUSTER", "INFO").Cmd("CLUSTER", "SHARDS")
            .Cmd("GET", "__Booksleeve_TieBreak").Cmd("GET", "").Cmd("SENTINEL", "masters"),

        new Script("introspection shapes")
            .Cmd("TIME").Normalize(Normalize.Shape(1))
            .Cmd("INFO").Normalize(Normalize.Shape(0))
            .Cmd("INFO", "server").Normalize(Normalize.Shape(0))
            .Cmd("CLIENT", "INFO").Normalize(Normalize.Shape(0))
            .Cmd("CLIENT", "LIST").Normalize(Normalize.Shape(0))
            .Cmd("CLIENT", "HELP").Normalize(Normalize.Shape(0))
            .Cmd("COMMAND", "COUNT").Normalize(Normalize.Shape(0))
            .Cmd("COMMAND", "INFO", "subscribe").Normalize(Normalize.Shape(2))
            .Cmd("COMMAND", "DOCS", "nosuchcommand")
            .Cmd("COMMAND", "DOCS", "publish").Normalize(Normalize.Shape(1))
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"))
            .Cmd("TIME").Normalize(Normalize.Shape(1))
            .Cmd("INFO").Normalize(Normalize.Shape(0))
            .Cmd("CLIENT", "INFO").Normalize(Normalize.Shape(0))
            .Cmd("COMMAND", "DOCS", "publish").Normalize(Normalize.Shape(1)),

        new Script("command info of commands with keys")
            .Cmd("COMMAND", "INFO", "get", "type", "publish", "nosuch").Cmd("COMMAND", "INFO", "TYPE")
            .Cmd("COMMAND", "INFO", "spublish", "ssubscribe", "sunsubscribe")
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id")).Cmd("COMMAND", "INFO", "get", "type", "spublish"),

        new Script("command info of the stream commands")
            .Cmd("COMMAND", "INFO", "xadd", "xrange", "xrevrange", "xlen", "xdel", "xtrim", "xsetid", "xread")
            .Cmd("COMMAND", "INFO", "xinfo").Normalize(Normalize.SubcommandsAsSet)
            .Cmd("COMMAND", "INFO", "xinfo|stream", "xinfo|groups", "xinfo|consumers", "xinfo|help", "XINFO|Stream")
            // Not "xinfo|stream\0": Redis compares subcommand names as C strings but hashes their full length
            // with a per-process seed, so whether it finds the subcommand changes from one start to the next.
            .Cmd("COMMAND", "INFO", "xinfo|", "|stream", "xinfo||stream", "xinfo|stream|full", "xinfo|nosuch", "xlen|x", "|", "")
            .Cmd("COMMAND", "INFO", "client|nosuch", "ping|x", "CLIENT|")
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id"))
            .Cmd("COMMAND", "INFO", "xadd", "xrange", "xrevrange", "xlen", "xdel", "xtrim", "xsetid", "xread")
            .Cmd("COMMAND", "INFO", "xinfo").Normalize(Normalize.SubcommandsAsSet)
            .Cmd("COMMAND", "INFO", "xinfo|stream", "xinfo|groups", "xinfo|consumers", "xinfo|help", "xinfo|nosuch"),

        new Script("command info tips")
            .Cmd("COMMAND", "INFO", "del", "unlink", "exists", "dbsize", "keys", "scan", "flushdb", "flushall", "ping", "time", "info")
            .Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id")).Cmd("COMMAND", "INFO", "del", "keys", "scan", "ping"),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));
}
