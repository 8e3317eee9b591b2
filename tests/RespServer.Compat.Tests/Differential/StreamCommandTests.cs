using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Differential;

/// <summary>
/// The stream commands byte for byte against redis-server 7.0.15, each script in RESP2 and again after
/// HELLO 3: ids in every form, every error, ranges, deletes, trims (exact and by whole nodes), XSETID,
/// XINFO, non-blocking XREAD. Each script starts from FLUSHALL; ids are explicit unless a step says
/// otherwise, so replies do not depend on the clock.
/// </summary>
public sealed class StreamCommandTests(ServerPair servers) : IClassFixture<ServerPair>
{
    private const string MaxU64 = "18446744073709551615";
    private static readonly string Long64 = new('m', 64);

    internal static readonly Script[] Scripts =
    [
        .. Both("xadd explicit and partial ids", s => s
            .Cmd("XADD", "s", "1-1", "f", "v").Cmd("XADD", "s", "1-1", "f", "v").Cmd("XADD", "s", "1-0", "f", "v")
            .Cmd("XADD", "s", "1", "f", "v").Cmd("XADD", "s", "1-2", "a", "1", "b", "2").Cmd("XADD", "s", "2", "f", "v")
            .Cmd("XADD", "s", "2", "f", "v").Cmd("XADD", "s", "3-*", "f", "v").Cmd("XADD", "s", "3-*", "g", "w")
            .Cmd("XADD", "s", "2-*", "f", "v").Cmd("XADD", "s", "4-*", "f", "v").Cmd("XADD", "s", "10-5", "", "")
            .Cmd("XADD", "s", "10-*", "f", "v").Cmd("xadd", "s", "11-0", "field", Long64)
            .Cmd("XRANGE", "s", "-", "+").Cmd("XLEN", "s")
            .Cmd("XADD", "s", $"{MaxU64}-18446744073709551614", "f", "v").Cmd("XADD", "s", $"{MaxU64}-*", "f", "v")
            .Cmd("XADD", "s", $"{MaxU64}-*", "f", "v").Cmd("XADD", "s", "*", "f", "v").Cmd("XADD", "s", "5-5", "f", "v")
            .Cmd("XREVRANGE", "s", "+", "-", "COUNT", "3").Cmd("XLEN", "s")
            .Cmd("XADD", "t", "5-18446744073709551615", "f", "v").Cmd("XADD", "t", "5-*", "f", "v")
            .Cmd("XADD", "t", "6-*", "f", "v").Cmd("XRANGE", "t", "-", "+")
            .Cmd("XADD", "u", "0-*", "f", "v").Cmd("XADD", "u", "0-*", "f", "v").Cmd("XRANGE", "u", "-", "+")),

        .. Both("xadd id syntax", s => s
            .Cmd("XADD", "s", "0-0", "f", "v").Cmd("EXISTS", "s").Cmd("XADD", "s", "0", "f", "v").Cmd("EXISTS", "s")
            .Cmd("XADD", "s", "-", "f", "v").Cmd("XADD", "s", "+", "f", "v").Cmd("XADD", "s", "abc", "f", "v")
            .Cmd("XADD", "s", "1-abc", "f", "v").Cmd("XADD", "s", "-1", "f", "v").Cmd("XADD", "s", "1--1", "f", "v")
            .Cmd("XADD", "s", "1-", "f", "v").Cmd("XADD", "s", "-1-1", "f", "v").Cmd("XADD", "s", "", "f", "v")
            .Cmd("XADD", "s", "1.5", "f", "v").Cmd("XADD", "s", "1-2-3", "f", "v").Cmd("XADD", "s", "0x10", "f", "v")
            .Cmd("XADD", "s", "18446744073709551616", "f", "v").Cmd("XADD", "s", "7-18446744073709551616", "f", "v")
            .Cmd("XADD", "s", new string('1', 128), "f", "v").Cmd("XADD", "s", "*-1", "f", "v").Cmd("XADD", "s", "1-**", "f", "v")
            .Cmd("XADD", "s", "**", "f", "v").Cmd("XADD", "s", "1-*x", "f", "v").Cmd("EXISTS", "s")
            .Cmd("XADD", "s", " 5-1", "f", "v").Cmd("XADD", "s", "+6-1", "f", "v").Cmd("XADD", "s", "007-1", "f", "v")
            .Cmd("XADD", "s", "8- 3", "f", "v").Cmd("XADD", "s", "9-+4", "f", "v").Cmd("XADD", "s", "\t10-\n1", "f", "v")
            .Cmd("XADD", "s", "11\u0000junk", "f", "v").Cmd("XADD", "s", "12-*\u0000x", "f", "v")
            .Cmd("XADD", "s", "-0-1", "f", "v").Cmd("XADD", "s", "13-+0", "f", "v")
            .Cmd("XADD", "s", "99- -1", "f", "v").Cmd("XRANGE", "s", "-", "+")),

        .. Both("xadd options and their errors", s => s
            .Cmd("XADD", "s", "*", "f").Cmd("XADD", "s", "1-1", "f", "v", "g").Cmd("XADD", "s", "*").Cmd("XADD", "s")
            .Cmd("XADD", "s", "NOMKSTREAM", "f", "v").Cmd("XADD", "s", "MAXLEN", "5", "f", "v")
            .Cmd("XADD", "s", "MAXLEN", "x", "1-1", "f", "v").Cmd("XADD", "s", "MAXLEN", "-1", "1-1", "f", "v")
            .Cmd("XADD", "s", "MAXLEN", "1", "MINID", "1", "1-1", "f", "v").Cmd("XADD", "s", "MINID", "1", "MAXLEN", "1", "1-1", "f", "v")
            .Cmd("XADD", "s", "MINID", "x", "1-1", "f", "v").Cmd("XADD", "s", "MINID", "-", "1-1", "f", "v")
            .Cmd("XADD", "s", "MINID", "+", "1-1", "f", "v").Cmd("XADD", "s", "LIMIT", "10", "1-1", "f", "v")
            .Cmd("XADD", "s", "LIMIT", "0", "1-1", "f", "v").Cmd("XADD", "s", "MAXLEN", "1", "LIMIT", "10", "1-1", "f", "v")
            .Cmd("XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "1-1", "f", "v").Cmd("XADD", "s", "MAXLEN", "~", "1", "LIMIT", "x", "1-1", "f", "v")
            .Cmd("XADD", "s", "MAXLEN", "=", "x", "1-1", "f", "v").Cmd("XADD", "s", "MAXLEN", "~").Cmd("XADD", "s", "MAXLEN", "~", "1")
            .Cmd("XADD", "s", "FOO", "1-1", "f", "v").Cmd("XADD", "s", "NOMKSTREAM", "MAXLEN", "5", "LIMIT", "1")
            .Cmd("EXISTS", "s").Cmd("XADD", "s", "NOMKSTREAM", "1-1", "f", "v").Cmd("XADD", "s", "nomkstream", "*", "f", "v")
            .Cmd("EXISTS", "s").Cmd("XADD", "s", "1-1", "f", "v").Cmd("XADD", "s", "NOMKSTREAM", "2-1", "f", "v")
            .Cmd("XADD", "s", "maxlen", "=", "5", "3-1", "f", "v").Cmd("XADD", "s", "MaxLen", "~", "5", "limit", "0", "4-1", "f", "v")
            .Cmd("XADD", "s", "MINID", "~", "0", "LIMIT", "100", "5-1", "f", "v").Cmd("XADD", "s", "NOMKSTREAM", "MINID", "=", "3", "6-1", "f", "v")
            .Cmd("XADD", "s", "MAXLEN\u0000x", "9", "7-1", "f", "v").Cmd("XADD", "s", "*\u0000", "f", "v").Normalize(Normalize.TimeIds)
            .Cmd("XRANGE", "s", "-", "+", "COUNT", "5").Cmd("XLEN", "s")),

        .. Both("xadd trimming", s => s
            .Cmd("XADD", "s", "1-1", "a", "1").Cmd("XADD", "s", "2-1", "a", "2").Cmd("XADD", "s", "3-1", "a", "3")
            .Cmd("XADD", "s", "MAXLEN", "2", "4-1", "a", "4").Cmd("XRANGE", "s", "-", "+")
            .Cmd("XADD", "s", "MINID", "4", "5-1", "a", "5").Cmd("XRANGE", "s", "-", "+")
            .Cmd("XADD", "s", "MINID", "=", "5-1", "6-1", "a", "6").Cmd("XINFO", "STREAM", "s")
            .Cmd("XADD", "s", "MAXLEN", "0", "7-1", "a", "7").Cmd("XLEN", "s").Cmd("EXISTS", "s").Cmd("XRANGE", "s", "-", "+")
            .Cmd("XINFO", "STREAM", "s").Cmd("XADD", "s", "7-1", "a", "7").Cmd("XADD", "s", "8-1", "a", "8")
            .Cmd("XINFO", "STREAM", "s").Cmd("XADD", "s", "MINID", "100", "9-1", "a", "9").Cmd("XINFO", "STREAM", "s")),

        .. Both("xrange and xrevrange", s => s
            .Cmd("XADD", "s", "1-0", "a", "1").Cmd("XADD", "s", "1-1", "a", "2").Cmd("XADD", "s", "2-0", "a", "3")
            .Cmd("XADD", "s", "2-5", "a", "4", "b", "x").Cmd("XADD", "s", "3-0", "a", "5").Cmd("XADD", "s", $"{MaxU64}-0", "a", "6")
            .Cmd("XRANGE", "s", "-", "+").Cmd("XRANGE", "s", "2", "2").Cmd("XRANGE", "s", "1", "2-0").Cmd("XRANGE", "s", "(1-0", "(3-0")
            .Cmd("XRANGE", "s", "(1", "+").Cmd("XRANGE", "s", "-", "(2").Cmd("XRANGE", "s", "(0-0", "+", "COUNT", "2")
            .Cmd("XRANGE", "s", $"({MaxU64}-{MaxU64}", "+").Cmd("XRANGE", "s", "-", "(0-0").Cmd("XRANGE", "s", "-", "(0")
            .Cmd("XRANGE", "s", "(-", "+").Cmd("XRANGE", "s", "-", "(+").Cmd("XRANGE", "s", "(", "+").Cmd("XRANGE", "s", "-", "(")
            .Cmd("XRANGE", "s", "((1", "+").Cmd("XRANGE", "s", "x", "+").Cmd("XRANGE", "s", "-", "x").Cmd("XRANGE", "s", "3", "1")
            .Cmd("XRANGE", "s", "-", "+", "COUNT", "0").Cmd("XRANGE", "s", "-", "+", "COUNT", "-1").Cmd("XRANGE", "s", "-", "+", "COUNT", "2")
            .Cmd("XRANGE", "s", "-", "+", "COUNT", "9223372036854775807").Cmd("XRANGE", "s", "-", "+", "COUNT", "x")
            .Cmd("XRANGE", "s", "-", "+", "COUNT").Cmd("XRANGE", "s", "-", "+", "FOO", "1").Cmd("XRANGE", "s", "-", "+", "COUNT", "1", "COUNT", "3")
            .Cmd("XRANGE", "s", "-", "+", "count", "1").Cmd("XRANGE", "s", "-").Cmd("XRANGE", "nokey", "-", "+")
            .Cmd("XRANGE", "nokey", "-", "+", "COUNT", "0").Cmd("XRANGE", "nokey", "x", "+")
            .Cmd("XREVRANGE", "s", "+", "-").Cmd("XREVRANGE", "s", "2", "2").Cmd("XREVRANGE", "s", "(3", "(1-0")
            .Cmd("XREVRANGE", "s", "+", "-", "COUNT", "2").Cmd("XREVRANGE", "s", "+", "-", "COUNT", "0").Cmd("XREVRANGE", "s", "1", "3")
            .Cmd("XREVRANGE", "s", "(0-0", "-").Cmd("XREVRANGE", "s", "+", $"({MaxU64}-{MaxU64}").Cmd("XREVRANGE", "nokey", "+", "-")
            .Cmd("XREVRANGE", "s", "+", "-", "COUNT", "x").Cmd("XREVRANGE", "s", "0", "-").Cmd("XREVRANGE", "s", "3-0", "3-0")),

        .. Both("xdel", s => s
            .Cmd("XDEL", "nokey", "x").Cmd("XDEL", "nokey", "1-1").Cmd("EXISTS", "nokey")
            .Cmd("XADD", "s", "1-1", "a", "1").Cmd("XADD", "s", "2-1", "a", "2").Cmd("XADD", "s", "3-1", "a", "3").Cmd("XADD", "s", "4-1", "a", "4")
            .Cmd("XDEL", "s", "x").Cmd("XDEL", "s", "2-1", "x").Cmd("XDEL", "s", "-").Cmd("XDEL", "s", "+").Cmd("XLEN", "s")
            .Cmd("XDEL", "s", "2-1", "2-1", "9-9", "0-1").Cmd("XDEL", "s", "2-1").Cmd("XINFO", "STREAM", "s")
            .Cmd("XDEL", "s", "1-1").Cmd("XINFO", "STREAM", "s").Cmd("XDEL", "s", "4").Cmd("XDEL", "s", "4-1").Cmd("XINFO", "STREAM", "s")
            .Cmd("XDEL", "s", "3-1").Cmd("XLEN", "s").Cmd("EXISTS", "s").Cmd("XINFO", "STREAM", "s").Cmd("XRANGE", "s", "-", "+")
            .Cmd("XADD", "s", "4-1", "a", "4").Cmd("XADD", "s", "5-1", "a", "5").Cmd("XINFO", "STREAM", "s").Cmd("XDEL", "s")),

        .. Both("xtrim", s => s
            .Cmd("XTRIM", "nokey", "MAXLEN", "0").Cmd("XTRIM", "nokey", "FOO", "1").Cmd("XTRIM", "nokey", "MAXLEN", "x")
            .Cmd("XTRIM", "s").Cmd("XTRIM", "s", "MAXLEN").Cmd("XTRIM", "s", "MAXLEN", "~").Cmd("XTRIM", "s", "MAXLEN", "-1")
            .Cmd("XTRIM", "s", "LIMIT", "1", "MAXLEN", "1").Cmd("XTRIM", "s", "MAXLEN", "1", "LIMIT", "1")
            .Cmd("XTRIM", "s", "LIMIT", "1", "1").Cmd("XTRIM", "s", "LIMIT", "0", "FOO").Cmd("XTRIM", "s", "FOO", "1", "2")
            .Cmd("XTRIM", "s", "MINID", "-").Cmd("XTRIM", "s", "MINID", "~", "+").Cmd("XTRIM", "s", "MAXLEN", "1", "MINID", "1")
            .Cmd("XTRIM", "s", "NOMKSTREAM", "MAXLEN", "1").Cmd("XTRIM", "s", "MAXLEN", "1", "LIMIT")
            .Cmd("XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1")
            .Cmd("XADD", "s", "1-1", "a", "1").Cmd("XADD", "s", "2-1", "a", "2").Cmd("XADD", "s", "3-1", "a", "3")
            .Cmd("XADD", "s", "4-1", "a", "4").Cmd("XADD", "s", "5-1", "a", "5")
            .Cmd("XTRIM", "s", "MAXLEN", "~", "1").Cmd("XTRIM", "s", "MINID", "~", "4").Cmd("XLEN", "s")
            .Cmd("XTRIM", "s", "MAXLEN", "10").Cmd("XTRIM", "s", "MAXLEN", "=", "4").Cmd("XTRIM", "s", "MINID", "3")
            .Cmd("XRANGE", "s", "-", "+").Cmd("XINFO", "STREAM", "s").Cmd("XTRIM", "s", "MINID", "=", "5-1").Cmd("XTRIM", "s", "MINID", "6")
            .Cmd("XLEN", "s").Cmd("EXISTS", "s").Cmd("XINFO", "STREAM", "s").Cmd("XTRIM", "s", "MAXLEN", "0")),

        .. Both("xsetid", s => s
            .Cmd("XSETID", "nokey", "1-1").Cmd("XSETID", "nokey", "x").Cmd("XSETID", "nokey", "-").Cmd("XSETID", "nokey", "+")
            .Cmd("XSETID", "nokey", "1-1", "FOO").Cmd("XSETID", "nokey", "1-1", "ENTRIESADDED").Cmd("XSETID", "nokey", "1-1", "ENTRIESADDED", "x")
            .Cmd("XSETID", "nokey", "1-1", "ENTRIESADDED", "-1").Cmd("XSETID", "nokey", "1-1", "MAXDELETEDID", "x")
            .Cmd("XSETID", "nokey", "1-1", "MAXDELETEDID", "2-0").Cmd("XSETID", "nokey", "1-1", "MAXDELETEDID", "1-1", "ENTRIESADDED", "5")
            .Cmd("XADD", "s", "5-1", "a", "1").Cmd("XADD", "s", "6-1", "a", "2")
            .Cmd("XSETID", "s", "6-0").Cmd("XSETID", "s", "6-1").Cmd("XSETID", "s", "6").Cmd("XSETID", "s", "100-1", "ENTRIESADDED", "1")
            .Cmd("XSETID", "s", "100-1", "ENTRIESADDED", "2", "MAXDELETEDID", "200-0")
            .Cmd("XSETID", "s", "100-1", "entriesadded", "50", "maxdeletedid", "7-7").Cmd("XINFO", "STREAM", "s")
            .Cmd("XADD", "s", "100-1", "a", "3").Cmd("XADD", "s", "100-*", "a", "3").Cmd("XINFO", "STREAM", "s")
            .Cmd("XSETID", "s", "100-3", "MAXDELETEDID", "0-0").Cmd("XINFO", "STREAM", "s")
            .Cmd("XDEL", "s", "5-1", "6-1", "100-2").Cmd("XSETID", "s", "1-1").Cmd("XINFO", "STREAM", "s")
            .Cmd("XADD", "s", "2-*", "a", "4").Cmd("XSETID", "s", $"{MaxU64}-{MaxU64}").Cmd("XADD", "s", "*", "a", "5")
            .Cmd("XADD", "s", $"{MaxU64}-*", "a", "5").Cmd("XSETID", "s", "3-0", "ENTRIESADDED", "0")),

        .. Both("xinfo", s => s
            .Cmd("XINFO").Cmd("XINFO", "HELP").Cmd("xinfo", "help").Cmd("XINFO", "HELP", "x").Cmd("XINFO", "FOO")
            .Cmd("XINFO", "FOO", "s").Cmd("XINFO", "STREAM").Cmd("XINFO", "GROUPS").Cmd("XINFO", "CONSUMERS", "s")
            .Cmd("XINFO", "STREAM", "nokey").Cmd("XINFO", "STREAM", "nokey", "FOO").Cmd("XINFO", "GROUPS", "nokey")
            .Cmd("XINFO", "CONSUMERS", "nokey", "g")
            .Cmd("XADD", "s", "1-1", "a", "1", "b", "2").Cmd("XADD", "s", "2-1", "a", "3", "b", "4").Cmd("XADD", "s", "3-1", "c", "5")
            .Cmd("XINFO", "STREAM", "s").Cmd("XINFO", "stream", "s", "FULL").Cmd("XINFO", "STREAM", "s", "full", "count", "1")
            .Cmd("XINFO", "STREAM", "s", "FULL", "COUNT", "0").Cmd("XINFO", "STREAM", "s", "FULL", "COUNT", "-5")
            .Cmd("XINFO", "STREAM", "s", "FULL", "COUNT", "x").Cmd("XINFO", "STREAM", "s", "FULL", "COUNT")
            .Cmd("XINFO", "STREAM", "s", "FULL", "x", "1").Cmd("XINFO", "STREAM", "s", "FOO").Cmd("XINFO", "sTrEaM", "s", "FULL", "COUNT", "1", "x")
            .Cmd("XINFO", "GROUPS", "s").Cmd("XINFO", "CONSUMERS", "s", "g").Cmd("XINFO", "GROUPS", "s", "x")
            .Cmd("XDEL", "s", "1-1", "2-1", "3-1").Cmd("XINFO", "STREAM", "s").Cmd("XINFO", "STREAM", "s", "FULL")),

        .. Both("xread without blocking", s => s
            .Cmd("XREAD").Cmd("XREAD", "STREAMS").Cmd("XREAD", "STREAMS", "s").Cmd("XREAD", "COUNT", "1", "STREAMS", "s")
            .Cmd("XREAD", "STREAMS", "s", "t", "0").Cmd("XREAD", "COUNT", "x", "STREAMS", "s", "0").Cmd("XREAD", "BLOCK", "x", "STREAMS", "s", "0")
            .Cmd("XREAD", "BLOCK", "-1", "STREAMS", "s", "0").Cmd("XREAD", "FOO", "STREAMS", "s", "0").Cmd("XREAD", "COUNT", "1", "s", "0")
            .Cmd("XREAD", "GROUP", "g", "c", "STREAMS", "s", "0").Cmd("XREAD", "NOACK", "STREAMS", "s", "0").Cmd("XREAD", "GROUP", "g", "STREAMS", "s")
            .Cmd("XREAD", "STREAMS", "s", ">").Cmd("XREAD", "STREAMS", "s", "x").Cmd("XREAD", "STREAMS", "s", "-").Cmd("XREAD", "STREAMS", "s", "+")
            .Cmd("XREAD", "STREAMS", "s", "0").Cmd("XREAD", "STREAMS", "s", "$").Cmd("XREAD", "COUNT", "5", "BLOCK", "10", "STREAMS", "s", "0")
            .Cmd("XADD", "s", "1-1", "a", "1").Cmd("XADD", "s", "2-1", "a", "2").Cmd("XADD", "s", "3-1", "a", "3").Cmd("XADD", "t", "1-1", "b", "1")
            .Cmd("XREAD", "STREAMS", "s", "0").Cmd("XREAD", "COUNT", "2", "STREAMS", "s", "0").Cmd("XREAD", "COUNT", "0", "STREAMS", "s", "1-1")
            .Cmd("XREAD", "COUNT", "-1", "STREAMS", "s", "2").Cmd("XREAD", "STREAMS", "s", "t", "1-1", "0").Cmd("XREAD", "STREAMS", "s", "t", "3", "1")
            .Cmd("XREAD", "STREAMS", "s", "t", "$", "$").Cmd("XREAD", "STREAMS", "nokey", "s", "0", "2-1").Cmd("XREAD", "streams", "s", "s", "0", "2")
            .Cmd("XREAD", "COUNT", "1", "COUNT", "2", "STREAMS", "s", "0").Cmd("XREAD", "COUNT", "9223372036854775807", "STREAMS", "s", "0")
            .Cmd("XREAD", "COUNT", "9223372036854775808", "STREAMS", "s", "0").Cmd("XREAD", "BLOCK", "9223372036854775808", "STREAMS", "s", "0")
            .Cmd("XREAD", "count", "2", "block", "1", "streams", "t", "s", "0", "(1").Cmd("XREAD", "BLOCK", "0", "STREAMS", "s", "0")
            .Cmd("XREAD", "BLOCK", "100", "COUNT", "1", "STREAMS", "t", "s", "0", "0").Cmd("XREAD", "STREAMS", "s", "t", "x", "0")
            .Cmd("XREAD", "STREAMS", "s", "3-1").Cmd("XREAD", "STREAMS", "s", $"{MaxU64}-{MaxU64}")
            .Cmd("XDEL", "s", "3-1").Cmd("XREAD", "STREAMS", "s", "2-1").Cmd("XREAD", "STREAMS", "s", "2")
            .Cmd("XREAD", "STREAMS", "s", "1-1", "COUNT").Cmd("XREAD", "COUNT", "1", "STREAMS", "STREAMS", "0")),

        .. Both("keyspace commands over streams", s => s
            .Cmd("XADD", "s1", "1-1", "a", "1").Cmd("XADD", "s2", "1-1", "a", "1").Cmd("XADD", "k3", "1-1", "a", "1")
            .Cmd("TYPE", "s1").Cmd("TYPE", "nokey").Cmd("EXISTS", "s1", "s2", "nokey", "s1").Cmd("DBSIZE")
            .Cmd("KEYS", "*").Normalize(Normalize.ElementsAsSet).Cmd("KEYS", "s*").Normalize(Normalize.ElementsAsSet).Cmd("KEYS", "x*")
            .Cmd("SCAN", "0", "COUNT", "1000").Normalize(Normalize.ScanKeysAsSet)
            .Cmd("SCAN", "0", "MATCH", "s*", "COUNT", "1000").Normalize(Normalize.ScanKeysAsSet)
            .Cmd("SCAN", "0", "TYPE", "stream", "COUNT", "1000").Normalize(Normalize.ScanKeysAsSet)
            .Cmd("SCAN", "0", "TYPE", "STREAM", "COUNT", "1000").Normalize(Normalize.ScanKeysAsSet)
            .Cmd("SCAN", "0", "TYPE", "string", "COUNT", "1000").Normalize(Normalize.ScanKeysAsSet)
            .Cmd("GET", "s1").Cmd("GET", "nokey").Cmd("DEL", "s1", "nokey").Cmd("UNLINK", "s2").Cmd("EXISTS", "s1", "s2").Cmd("DBSIZE")
            .Cmd("XLEN", "s1").Cmd("XADD", "s1", "1-1", "a", "again").Cmd("XRANGE", "s1", "-", "+")
            .Cmd("SELECT", "1").Cmd("DBSIZE").Cmd("EXISTS", "s1").Cmd("XLEN", "k3").Cmd("XADD", "k3", "2-2", "in", "db1")
            .Cmd("XRANGE", "k3", "-", "+").Cmd("SELECT", "0").Cmd("XRANGE", "k3", "-", "+").Cmd("FLUSHDB").Cmd("DBSIZE")
            .Cmd("SELECT", "1").Cmd("DBSIZE").Cmd("XADD", "x", "1-1", "a", "1").Cmd("FLUSHALL").Cmd("DBSIZE").Cmd("SELECT", "0")
            .Cmd("DBSIZE").Cmd("XINFO", "STREAM", "k3")),

        .. Both("keyspace arguments and errors", s => s
            .Cmd("FLUSHALL").Cmd("SCAN", "x").Cmd("SCAN", "-1").Cmd("SCAN", "18446744073709551615").Cmd("SCAN", "18446744073709551616")
            .Cmd("SCAN", "1.5").Cmd("SCAN", "").Cmd("SCAN", " 1").Cmd("SCAN", "+5").Cmd("SCAN", "-").Cmd("SCAN", "0x10")
            .Cmd("SCAN", "-18446744073709551616").Cmd("SCAN", "0", "COUNT", "0").Cmd("SCAN", "0", "COUNT", "-1").Cmd("SCAN", "0", "COUNT", "x")
            .Cmd("SCAN", "0", "MATCH").Cmd("SCAN", "0", "FOO", "bar").Cmd("SCAN", "0", "TYPE", "nosuch").Cmd("SCAN", "0", "count", "5", "match", "*")
            .Cmd("XADD", "big", "1-1", "f", "v").Cmd("SCAN", "0", "COUNT", "9223372036854775807").Cmd("SCAN", "0", "COUNT", "2147483648").Cmd("DEL", "big")
            .Cmd("SCAN").Cmd("KEYS").Cmd("KEYS", "a", "b").Cmd("DBSIZE", "x").Cmd("TYPE").Cmd("TYPE", "a", "b").Cmd("EXISTS").Cmd("DEL").Cmd("UNLINK")
            .Cmd("FLUSHDB", "x").Cmd("FLUSHDB", "ASYNC", "x").Cmd("FLUSHDB", "async").Cmd("FLUSHALL", "SYNC").Cmd("FLUSHALL", "foo").Cmd("GET")),

        .. Both("xadd with the clock", s => s
            .Cmd("XADD", "s", "*", "f", "v").Normalize(Normalize.TimeIds).Cmd("XADD", "s", "*", "f", "v").Normalize(Normalize.TimeIds)
            .Cmd("XLEN", "s").Cmd("XADD", "s", "1-1", "f", "v").Cmd("XRANGE", "s", "-", "+").Normalize(Normalize.TimeIds)
            .Cmd("XADD", "s", "MAXLEN", "1", "*", "f", "v").Normalize(Normalize.TimeIds).Cmd("XLEN", "s")
            .Cmd("XADD", "t", "99999999999999-0", "f", "v").Cmd("XADD", "t", "*", "f", "v")),

        .. Both("binary fields and values", s => s
            .Cmd("XADD", "s", "1-1", "\u0000\u00ff\r\n", "\u0080 \"'\\", "", "").Cmd("XADD", "s", "2-1", "\u0000\u00ff\r\n", "x", "", "y")
            .Cmd("XADD", "s", "3-1", "12", "-4096", "9223372036854775807", "9223372036854775808", "-0", "007")
            .Cmd("XADD", "s", "4-1", new string('k', 300), new string('v', 5000)).Cmd("XRANGE", "s", "-", "+").Cmd("XREVRANGE", "s", "+", "-")
            .Cmd("XINFO", "STREAM", "s")),

        .. Both("nodes split, trimmed and deleted as in redis", s => NodeScript(s)),
    ];

    public static TheoryData<string> Names => [.. Scripts.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Same_bytes_as_redis(string name)
        => Harness.Differential.AssertSameAsync(servers, Scripts.Single(s => s.Name == name));

    /// <summary>
    /// Some 1,500 entries of mixed shapes (field sets that match the node's first entry or not, integers
    /// Redis stores packed, values from 1 byte to 5 KB), so nodes fill by entry count and by bytes; then
    /// approximate trims (whole nodes only, LIMIT), exact trims inside a node, deletes across nodes, and
    /// range reads over node edges, with XINFO's node counts after each.
    /// </summary>
    private static Script NodeScript(Script script)
    {
        var random = new Random(20240607);
        string[] values = ["12", "-5000", "hello", "9999999999", new string('v', 64), "0", "-1", "300"];
        var ms = 1000L;
        var batch = new List<string[]>();
        for (var i = 0; i < 1500; i++)
        {
            ms += random.Next(4) switch { 0 => 0, 1 => 1, 2 => 300, _ => 70000 };
            var pairs = random.Next(8) switch { 0 => 2, 1 => 3, _ => 1 };
            var command = new List<string> { "XADD", "s", $"{ms}-*" };
            for (var j = 0; j < pairs; j++)
            {
                command.Add(random.Next(20) == 0 ? $"g{j}" : $"f{j}");
                command.Add(random.Next(25) == 0 ? new string('x', random.Next(2) == 0 ? 300 : 5000) : values[random.Next(values.Length)]);
            }

            batch.Add([.. command]);
            if (batch.Count == 100)
            {
                script.Pipeline(batch.Count, [.. batch]);
                batch.Clear();
            }
        }

        return script
            .Cmd("XINFO", "STREAM", "s").Cmd("XLEN", "s")
            .Cmd("XRANGE", "s", "-", "+", "COUNT", "150").Cmd("XREVRANGE", "s", "+", "-", "COUNT", "150")
            .Cmd("XTRIM", "s", "MAXLEN", "~", "1400").Cmd("XINFO", "STREAM", "s")
            .Cmd("XTRIM", "s", "MAXLEN", "~", "1000", "LIMIT", "50").Cmd("XTRIM", "s", "MAXLEN", "~", "1000", "LIMIT", "250")
            .Cmd("XINFO", "STREAM", "s").Cmd("XTRIM", "s", "MINID", "~", "20000000").Cmd("XINFO", "STREAM", "s")
            .Cmd("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "0").Cmd("XLEN", "s")
            .Cmd("XADD", "t", "1-1", "a", "1").Cmd("XADD", "t", "2-1", "a", "2").Cmd("XTRIM", "t", "MAXLEN", "1").Cmd("XINFO", "STREAM", "t")
            .Cmd("XTRIM", "t", "MAXLEN", "~", "0").Cmd("XINFO", "STREAM", "t").Cmd("XADD", "t", "3-1", "a", "3").Cmd("XINFO", "STREAM", "t", "FULL")
            .Cmd("DEL", "s")
            .Pipeline(100, [.. Enumerable.Range(0, 100).Select(i => new[] { "XADD", "s", $"{5000000 + (i * 1000)}-1", "f0", $"{i}" })])
            .Pipeline(300, [.. Enumerable.Range(0, 300).Select(i => new[] { "XADD", "s", $"{6000000 + i}-{i}", "f0", Long64 })])
            .Cmd("XINFO", "STREAM", "s")
            .Pipeline(100, [.. Enumerable.Range(0, 100).Select(i => new[] { "XDEL", "s", $"{5000000 + (i * 1000)}-1" })])
            .Cmd("XINFO", "STREAM", "s").Cmd("XRANGE", "s", "-", "+", "COUNT", "3").Cmd("XREVRANGE", "s", "6000060", "6000040")
            .Pipeline(60, [.. Enumerable.Range(0, 60).Select(i => new[] { "XDEL", "s", $"{6000100 + i}-{100 + i}" })])
            .Cmd("XINFO", "STREAM", "s").Cmd("XRANGE", "s", "6000095", "6000165").Cmd("XREVRANGE", "s", "6000165", "6000095", "COUNT", "7")
            .Cmd("XTRIM", "s", "MINID", "6000130").Cmd("XINFO", "STREAM", "s").Cmd("XTRIM", "s", "MINID", "~", "6000200")
            .Cmd("XINFO", "STREAM", "s").Cmd("XTRIM", "s", "MAXLEN", "~", "10").Cmd("XINFO", "STREAM", "s").Cmd("XRANGE", "s", "-", "+", "COUNT", "2")
            .Cmd("XREAD", "COUNT", "3", "STREAMS", "s", "6000250").Cmd("XADD", "s", "MAXLEN", "~", "5", "7000000-1", "f0", "x")
            .Cmd("XINFO", "STREAM", "s");
    }

    /// <summary>The script in RESP2, and again on a connection switched to RESP3; each starts from an empty keyspace.</summary>
    internal static Script[] Both(string name, Func<Script, Script> body) =>
    [
        body(new Script(name + " (RESP2)").Cmd("FLUSHALL")),
        body(new Script(name + " (RESP3)").Cmd("HELLO", "3").Normalize(Normalize.ValueOf("id")).Cmd("FLUSHALL")),
    ];
}
