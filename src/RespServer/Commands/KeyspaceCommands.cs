using Notistream.RespServer.Connections;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Commands;

/// <summary>
/// The commands over the keyspace as a whole, with Redis 7.0's replies and errors: DEL, UNLINK, EXISTS,
/// TYPE, DBSIZE, KEYS, SCAN, FLUSHDB, FLUSHALL, and GET (no strings are stored: nil, or WRONGTYPE on a key
/// that holds another type). Each holds <see cref="KeyStore.Gate"/> for its run and writes its reply after; a
/// change is recorded in the append-only file in the same hold (a DEL for each key that was there).
/// </summary>
internal static class KeyspaceCommands
{
    public static void Register(CommandTable table)
    {
        table.Add("del", -2, Delete, CommandFlags.Write);
        table.Add("unlink", -2, Delete, CommandFlags.Write);
        table.Add("exists", -2, Exists);
        table.Add("type", 2, Type);
        table.Add("dbsize", 1, DbSize);
        table.Add("keys", 2, Keys);
        table.Add("scan", -2, Scan);
        table.Add("flushdb", -1, (c, in r) => Flush(c, r, all: false), CommandFlags.Write);
        table.Add("flushall", -1, (c, in r) => Flush(c, r, all: true), CommandFlags.Write);
        table.Add("get", 2, Get);
    }

    private static void Delete(RespConnection client, in RespRequest request) => CountKeys(client, request, remove: true);

    private static void Exists(RespConnection client, in RespRequest request) => CountKeys(client, request, remove: false);

    /// <summary>DEL/UNLINK (<paramref name="remove"/>) and EXISTS: how many of the named keys were there, each name counted as often as given.</summary>
    private static void CountKeys(RespConnection client, in RespRequest request, bool remove)
    {
        var keys = client.Server.Keys;
        var count = 0;
        lock (keys.Gate)
        {
            var db = keys[client.Database];
            for (var i = 1; i < request.Count; i++)
            {
                if (remove ? db.Remove(request[i]) : db.Find(request[i]) is not null)
                {
                    count++;
                    if (remove)
                    {
                        keys.Log?.Del(client.Database, request[i]);
                    }
                }
            }
        }

        client.Writer.WriteInteger(count);
    }

    private static void Type(RespConnection client, in RespRequest request)
    {
        var keys = client.Server.Keys;
        string name;
        lock (keys.Gate)
        {
            name = keys[client.Database].Find(request[1])?.TypeName ?? "none";
        }

        client.Writer.WriteSimpleString(name);
    }

    private static void DbSize(RespConnection client, in RespRequest request)
    {
        var keys = client.Server.Keys;
        int count;
        lock (keys.Gate)
        {
            count = keys[client.Database].Count;
        }

        client.Writer.WriteInteger(count);
    }

    private static void Keys(RespConnection client, in RespRequest request)
    {
        var keys = client.Server.Keys;
        var pattern = request[1];
        var all = pattern.SequenceEqual("*"u8);
        var matched = new List<byte[]>();
        lock (keys.Gate)
        {
            foreach (var (key, _) in keys[client.Database].Entries)
            {
                if (all || GlobMatcher.IsMatch(pattern, key))
                {
                    matched.Add(key);
                }
            }
        }

        var writer = client.Writer;
        writer.WriteArrayHeader(matched.Count);
        foreach (var key in matched)
        {
            writer.WriteBulk(key);
        }
    }

    /// <summary>SCAN cursor [MATCH pattern] [COUNT count] [TYPE type], as Redis 7.0's scanGenericCommand parses it.</summary>
    private static void Scan(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        if (!TryParseCursor(request[1], out var cursor))
        {
            writer.WriteError("invalid cursor");
            return;
        }

        long count = 10;
        byte[]? pattern = null;
        string? type = null;
        for (var i = 2; i < request.Count; i += 2)
        {
            var last = i + 1 >= request.Count;
            if (!last && RespRequest.EqualsIgnoreCase(request[i], "COUNT"u8))
            {
                if (!RespNumber.TryParseInt64(request[i + 1], out count))
                {
                    writer.WriteRaw(RespConstants.NotInteger);
                    return;
                }

                if (count < 1)
                {
                    writer.WriteRaw(RespConstants.SyntaxError);
                    return;
                }
            }
            else if (!last && RespRequest.EqualsIgnoreCase(request[i], "MATCH"u8))
            {
                pattern = request[i + 1].ToArray();
            }
            else if (!last && RespRequest.EqualsIgnoreCase(request[i], "TYPE"u8))
            {
                type = System.Text.Encoding.Latin1.GetString(request[i + 1]);
            }
            else
            {
                writer.WriteRaw(RespConstants.SyntaxError);
                return;
            }
        }

        var keys = client.Server.Keys;
        var found = new List<byte[]>();
        ulong next;
        lock (keys.Gate)
        {
            var db = keys[client.Database];
            next = db.Scan(cursor, (int)Math.Min(count, int.MaxValue), found);

            // Redis filters after the walk, so a call may return fewer keys than COUNT, even none.
            found.RemoveAll(key =>
                (pattern is not null && !(pattern is [(byte)'*'] || GlobMatcher.IsMatch(pattern, key)))
                || (type is not null && !string.Equals(type, db.Find(key)!.TypeName, StringComparison.OrdinalIgnoreCase)));
        }

        writer.WriteArrayHeader(2);
        writer.WriteBulk(next.ToString(System.Globalization.CultureInfo.InvariantCulture));
        writer.WriteArrayHeader(found.Count);
        foreach (var key in found)
        {
            writer.WriteBulk(key);
        }
    }

    /// <summary>
    /// strtoul in base 10 as Redis 7.0's parseScanCursorOrReply calls it: an optional sign (a minus wraps
    /// around), then digits to the end; the empty string is cursor 0; leading space, other characters or a
    /// value past 2^64 - 1 are an invalid cursor.
    /// </summary>
    internal static bool TryParseCursor(ReadOnlySpan<byte> text, out ulong cursor)
    {
        cursor = 0;
        return text.IsEmpty || RespNumber.TryParseStrtoull(text, out cursor);
    }

    /// <summary>FLUSHDB / FLUSHALL [ASYNC|SYNC]: both free at once here.</summary>
    private static void Flush(RespConnection client, in RespRequest request, bool all)
    {
        if (request.Count > 2
            || (request.Count == 2 && !RespRequest.EqualsIgnoreCase(request[1], "ASYNC"u8) && !RespRequest.EqualsIgnoreCase(request[1], "SYNC"u8)))
        {
            client.Writer.WriteRaw(RespConstants.SyntaxError);
            return;
        }

        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            if (all)
            {
                keys.Clear();
                keys.Log?.FlushAll();
            }
            else
            {
                keys[client.Database].Clear();
                keys.Log?.FlushDb(client.Database);
            }

            if (all || client.Database == ChannelHistory.Database)
            {
                keys.Followers.ClearDropped();
            }
        }

        client.Writer.WriteRaw(RespConstants.Ok);
    }

    private static void Get(RespConnection client, in RespRequest request)
    {
        var keys = client.Server.Keys;
        bool exists;
        lock (keys.Gate)
        {
            exists = keys[client.Database].Find(request[1]) is not null;
        }

        if (exists)
        {
            client.Writer.WriteRaw(RespConstants.WrongType);
        }
        else
        {
            client.Writer.WriteNull();
        }
    }
}
