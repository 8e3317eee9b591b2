using Notistream.RespServer.Connections;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

/// <summary>
/// The stream commands with Redis 7.0's replies and errors (t_stream.c): XADD, XRANGE, XREVRANGE, XLEN,
/// XDEL, XTRIM, XSETID, XINFO and XREAD (BLOCK included). Arguments are parsed before taking
/// <see cref="KeyStore.Gate"/>; each holds it while it reads or changes a stream and writes its reply,
/// which reads the entries in place. A change is recorded in the append-only file (<see cref="KeyStore.Log"/>)
/// in the same hold, as the command that replays its effect.
/// </summary>
internal static class StreamCommands
{
    /// <summary>Redis's XREAD_BLOCKED_DEFAULT_COUNT: a blocked XREAD without COUNT is served this many entries at most.</summary>
    private const long BlockedDefaultCount = 1000;

    /// <summary>The longest wait a timer takes (Task.Delay's limit, some 49 days): longer BLOCKs wait this long.</summary>
    private const long LongestTimeout = uint.MaxValue - 1L;

    private static readonly byte[] NoSuchKey = "-ERR no such key\r\n"u8.ToArray();

    public static void Register(CommandTable table)
    {
        table.Add("xadd", -5, Add, CommandFlags.Write);
        table.Add("xrange", -4, (c, in r) => Range(c, r, reverse: false));
        table.Add("xrevrange", -4, (c, in r) => Range(c, r, reverse: true));
        table.Add("xlen", 2, Length);
        table.Add("xdel", -3, Delete, CommandFlags.Write);
        table.Add("xtrim", -4, Trim, CommandFlags.Write);
        table.Add("xsetid", -3, SetId, CommandFlags.Write);
        table.Add("xread", -4, Read);
        table.Add("xinfo", -2, null)
            .Add("help", 2, InfoHelp)
            .Add("stream", -3, InfoStream)
            .Add("groups", 3, InfoGroups)
            .Add("consumers", 4, InfoConsumers);
    }

    /// <summary>XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]</summary>
    private static void Add(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        var idPosition = StreamArguments.ParseAddOrTrim(writer, request, xadd: true, out var args);
        if (idPosition < 0)
        {
            return;
        }

        var firstField = idPosition + 1;
        if (request.Count - firstField < 2 || (request.Count - firstField) % 2 == 1)
        {
            writer.WriteError("wrong number of arguments for 'xadd' command");
            return;
        }

        // Refused before the key is looked up, so no empty stream is left behind.
        if (args.IdGiven && args.SeqGiven && args.Id.IsZero)
        {
            writer.WriteError("The ID specified in XADD must be greater than 0-0");
            return;
        }

        var key = request[1];
        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            var db = keys[client.Database];
            var value = db.Find(key);
            if (value is not null and not StreamValue)
            {
                writer.WriteRaw(RespConstants.WrongType);
                return;
            }

            var stream = (StreamValue?)value;
            var created = stream is null;
            if (stream is null)
            {
                if (args.NoMakeStream)
                {
                    writer.WriteNull();
                    return;
                }

                stream = new StreamValue();
                db.Add(key, stream);
            }

            var log = keys.Log;
            if (stream.LastId == StreamId.Max)
            {
                writer.WriteError("The stream has exhausted the last possible ID, unable to add more items");
                return;
            }

            var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var id = args.IdGiven ? args.Id : keys.NextId(stream, now);
            if (id is null)
            {
                if (created)
                {
                    // As in Redis, the failed XADD leaves the key it created: an empty stream, recorded as one.
                    log?.EmptyStream(client.Database, key, stream);
                }

                writer.WriteError("The stream has exhausted the last possible ID, unable to add more items");
                return;
            }

            var result = stream.Append(request, firstField, id, args.IdGiven ? args.SeqGiven : true, now, out var added);
            if (result != StreamAppendResult.Added)
            {
                if (created)
                {
                    log?.EmptyStream(client.Database, key, stream);
                }

                writer.WriteError(result == StreamAppendResult.IdTooSmall
                    ? "The ID specified in XADD is equal or smaller than the target stream top item"
                    : "Elements are too large to be stored");
                return;
            }

            StreamValue.WriteId(writer, added);
            log?.XAdd(client.Database, key, added, new EntryFields(request, firstField));
            var (length, nodes) = (stream.Length, stream.NodeCount);
            stream.Trim(args.Strategy, args.MaxLength, args.MinId, args.Approximate, args.Limit);
            if (stream.Length != length || stream.NodeCount != nodes)
            {
                log?.Trimmed(client.Database, key, stream, args.Strategy, args.MaxLength, args.MinId, args.Approximate);
            }

            db.Signal(key);
            if (client.Database == ChannelHistory.Database && stream.IsChannelHistory)
            {
                keys.Followers.Appended(key, added);
            }
        }
    }

    /// <summary>XRANGE key start end [COUNT n] and XREVRANGE key end start [COUNT n].</summary>
    private static void Range(RespConnection client, in RespRequest request, bool reverse)
    {
        var writer = client.Writer;
        var startArgument = reverse ? request[3] : request[2];
        var endArgument = reverse ? request[2] : request[3];
        if (!TryParseInterval(startArgument, 0, out var start, out var startExclusive))
        {
            writer.WriteRaw(StreamArguments.InvalidId);
            return;
        }

        if (startExclusive && !start.TryIncrement(out start))
        {
            writer.WriteError("invalid start ID for the interval");
            return;
        }

        if (!TryParseInterval(endArgument, ulong.MaxValue, out var end, out var endExclusive))
        {
            writer.WriteRaw(StreamArguments.InvalidId);
            return;
        }

        if (endExclusive && !end.TryDecrement(out end))
        {
            writer.WriteError("invalid end ID for the interval");
            return;
        }

        long count = -1;
        for (var i = 4; i < request.Count; i++)
        {
            if (StreamArguments.IsOption(request[i], "COUNT"u8) && i + 1 < request.Count)
            {
                if (!RespNumber.TryParseInt64(request[++i], out count))
                {
                    writer.WriteRaw(RespConstants.NotInteger);
                    return;
                }

                count = Math.Max(count, 0);
            }
            else
            {
                writer.WriteRaw(RespConstants.SyntaxError);
                return;
            }
        }

        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            if (!TryFindStream(client, request[1], out var stream, RespConstants.EmptyArray))
            {
                return;
            }

            if (count == 0)
            {
                writer.WriteNullArray();
                return;
            }

            var found = new List<StreamEntryRef>();
            stream.Collect(start, end, reverse, count == -1 ? 0 : count, found);
            WriteEntries(writer, found);
        }
    }

    /// <summary>XLEN key</summary>
    private static void Length(RespConnection client, in RespRequest request)
    {
        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            if (TryFindStream(client, request[1], out var stream, RespConstants.Integer(0)))
            {
                client.Writer.WriteInteger(stream.Length);
            }
        }
    }

    /// <summary>XDEL key id [id ...]: the key is looked up before the ids are checked, as Redis does.</summary>
    private static void Delete(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            if (!TryFindStream(client, request[1], out var stream, RespConstants.Integer(0)))
            {
                return;
            }

            var ids = new StreamId[request.Count - 2];
            for (var i = 0; i < ids.Length; i++)
            {
                if (!StreamArguments.TryParseId(request[i + 2], 0, strict: true, out ids[i]))
                {
                    writer.WriteRaw(StreamArguments.InvalidId);
                    return;
                }
            }

            var deleted = 0;
            var firstDeleted = false;
            for (var i = 0; i < ids.Length; i++)
            {
                var id = ids[i];
                if (stream.Delete(id))
                {
                    firstDeleted |= id == stream.FirstId;
                    if (id > stream.MaxDeletedId)
                    {
                        stream.MaxDeletedId = id;
                    }

                    // The ids deleted move to the front: those are what the log replays.
                    ids[deleted++] = id;
                }
            }

            if (deleted > 0 && (stream.Length == 0 || firstDeleted))
            {
                stream.RefreshFirstId();
            }

            keys.Log?.XDel(client.Database, request[1], ids.AsSpan(0, deleted));
            writer.WriteInteger(deleted);
        }
    }

    /// <summary>XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]</summary>
    private static void Trim(RespConnection client, in RespRequest request)
    {
        if (StreamArguments.ParseAddOrTrim(client.Writer, request, xadd: false, out var args) < 0)
        {
            return;
        }

        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            if (TryFindStream(client, request[1], out var stream, RespConstants.Integer(0)))
            {
                var (length, nodes) = (stream.Length, stream.NodeCount);
                client.Writer.WriteInteger(stream.Trim(args.Strategy, args.MaxLength, args.MinId, args.Approximate, args.Limit));
                if (stream.Length != length || stream.NodeCount != nodes)
                {
                    keys.Log?.Trimmed(client.Database, request[1], stream, args.Strategy, args.MaxLength, args.MinId, args.Approximate);
                }
            }
        }
    }

    /// <summary>XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]</summary>
    private static void SetId(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        if (!StreamArguments.TryParseId(request[2], 0, strict: true, out var id))
        {
            writer.WriteRaw(StreamArguments.InvalidId);
            return;
        }

        long entriesAdded = -1;
        var maxDeleted = StreamId.Min;
        for (var i = 3; i < request.Count; i += 2)
        {
            var more = i + 1 < request.Count;
            if (more && StreamArguments.IsOption(request[i], "ENTRIESADDED"u8))
            {
                if (!RespNumber.TryParseInt64(request[i + 1], out entriesAdded))
                {
                    writer.WriteRaw(RespConstants.NotInteger);
                    return;
                }

                if (entriesAdded < 0)
                {
                    writer.WriteError("entries_added must be positive");
                    return;
                }
            }
            else if (more && StreamArguments.IsOption(request[i], "MAXDELETEDID"u8))
            {
                if (!StreamArguments.TryParseId(request[i + 1], 0, strict: true, out maxDeleted))
                {
                    writer.WriteRaw(StreamArguments.InvalidId);
                    return;
                }

                if (id < maxDeleted)
                {
                    writer.WriteError("The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                    return;
                }
            }
            else
            {
                writer.WriteRaw(RespConstants.SyntaxError);
                return;
            }
        }

        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            if (!TryFindStream(client, request[1], out var stream, NoSuchKey))
            {
                return;
            }

            if (stream.Length > 0)
            {
                if (id < stream.LastLiveId()!.Value)
                {
                    writer.WriteError("The ID specified in XSETID is smaller than the target stream top item");
                    return;
                }

                if (entriesAdded != -1 && stream.Length > entriesAdded)
                {
                    writer.WriteError("The entries_added specified in XSETID is smaller than the target stream length");
                    return;
                }
            }

            stream.LastId = id;
            if (entriesAdded != -1)
            {
                stream.EntriesAdded = entriesAdded;
            }

            if (!maxDeleted.IsZero)
            {
                stream.MaxDeletedId = maxDeleted;
            }

            keys.Log?.XSetIdAsGiven(client.Database, request);
            writer.WriteRaw(RespConstants.Ok);
        }
    }

    /// <summary>XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]</summary>
    private static void Read(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        long timeout = -1;
        long count = 0;
        var streamsAt = 0;
        var streamCount = 0;
        for (var i = 1; i < request.Count; i++)
        {
            var more = request.Count - i - 1;
            var option = request[i];
            if (more > 0 && StreamArguments.IsOption(option, "BLOCK"u8))
            {
                if (!RespNumber.TryParseInt64(request[++i], out timeout))
                {
                    writer.WriteError("timeout is not an integer or out of range");
                    return;
                }

                if (timeout < 0)
                {
                    writer.WriteError("timeout is negative");
                    return;
                }
            }
            else if (more > 0 && StreamArguments.IsOption(option, "COUNT"u8))
            {
                if (!RespNumber.TryParseInt64(request[++i], out count))
                {
                    writer.WriteRaw(RespConstants.NotInteger);
                    return;
                }

                count = Math.Max(count, 0);
            }
            else if (more > 0 && StreamArguments.IsOption(option, "STREAMS"u8))
            {
                streamsAt = i + 1;
                streamCount = request.Count - streamsAt;
                if (streamCount % 2 != 0)
                {
                    writer.WriteError("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                    return;
                }

                streamCount /= 2;
                break;
            }
            else if (more >= 2 && StreamArguments.IsOption(option, "GROUP"u8))
            {
                writer.WriteError("The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            else if (StreamArguments.IsOption(option, "NOACK"u8))
            {
                writer.WriteError("The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            else
            {
                writer.WriteRaw(RespConstants.SyntaxError);
                return;
            }
        }

        if (streamsAt == 0)
        {
            writer.WriteRaw(RespConstants.SyntaxError);
            return;
        }

        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            var db = keys[client.Database];
            var after = new StreamId[streamCount];
            for (var i = 0; i < streamCount; i++)
            {
                var value = db.Find(request[streamsAt + i]);
                if (value is not null and not StreamValue)
                {
                    writer.WriteRaw(RespConstants.WrongType);
                    return;
                }

                var idArgument = request[streamsAt + streamCount + i];
                if (StreamArguments.CString(idArgument) is [(byte)'$'])
                {
                    after[i] = value is StreamValue existing ? existing.LastId : StreamId.Min;
                }
                else if (StreamArguments.CString(idArgument) is [(byte)'>'])
                {
                    writer.WriteError("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                    return;
                }
                else if (!StreamArguments.TryParseId(idArgument, 0, strict: true, out after[i]))
                {
                    writer.WriteRaw(StreamArguments.InvalidId);
                    return;
                }
            }

            List<(int Index, List<StreamEntryRef> Entries)>? served = null;
            for (var i = 0; i < streamCount; i++)
            {
                if (db.Find(request[streamsAt + i]) is StreamValue { Length: > 0 } stream && stream.LastLiveId() > after[i])
                {
                    after[i].TryIncrement(out var start);
                    var entries = new List<StreamEntryRef>();
                    stream.Collect(start, StreamId.Max, reverse: false, count, entries);
                    (served ??= []).Add((i, entries));
                }
            }

            if (served is not null)
            {
                if (writer.Resp3)
                {
                    writer.WriteMapHeader(served.Count);
                }
                else
                {
                    writer.WriteArrayHeader(served.Count);
                }

                foreach (var (index, entries) in served)
                {
                    if (!writer.Resp3)
                    {
                        writer.WriteArrayHeader(2);
                    }

                    writer.WriteBulk(request[streamsAt + index]);
                    WriteEntries(writer, entries);
                }

                return;
            }

            if (timeout == -1)
            {
                writer.WriteNullArray();
                return;
            }

            var blockKeys = new byte[streamCount][];
            for (var i = 0; i < streamCount; i++)
            {
                blockKeys[i] = request[streamsAt + i].ToArray();
            }

            client.Block(new StreamReadBlock(db, client.Database, blockKeys, after,
                count != 0 ? count : BlockedDefaultCount, Math.Min(timeout, LongestTimeout)));
        }
    }

    private static void InfoHelp(RespConnection client, in RespRequest request) => HelpText.Write(client.Writer, "XINFO",
    [
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
    ]);

    /// <summary>XINFO STREAM key [FULL [COUNT count]]: the key is looked up before the options are read, as Redis does.</summary>
    private static void InfoStream(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            if (!TryFindStream(client, request[2], out var stream, NoSuchKey))
            {
                return;
            }

            var options = request.Count - 3;
            var full = options > 0;
            long count = 10;
            if (full)
            {
                if ((options != 1 && options != 3) || !StreamArguments.IsOption(request[3], "FULL"u8)
                    || (options == 3 && !StreamArguments.IsOption(request[4], "COUNT"u8)))
                {
                    WriteSubcommandSyntaxError(writer, request);
                    return;
                }

                if (options == 3)
                {
                    if (!RespNumber.TryParseInt64(request[5], out count))
                    {
                        writer.WriteRaw(RespConstants.NotInteger);
                        return;
                    }

                    if (count < 0)
                    {
                        count = 10;
                    }
                }
            }

            writer.WriteMapHeader(full ? 9 : 10);
            writer.WriteBulk("length"u8);
            writer.WriteInteger(stream.Length);
            writer.WriteBulk("radix-tree-keys"u8);
            writer.WriteInteger(stream.NodeCount);
            writer.WriteBulk("radix-tree-nodes"u8);
            writer.WriteInteger(stream.RadixTreeNodes());
            writer.WriteBulk("last-generated-id"u8);
            StreamValue.WriteId(writer, stream.LastId);
            writer.WriteBulk("max-deleted-entry-id"u8);
            StreamValue.WriteId(writer, stream.MaxDeletedId);
            writer.WriteBulk("entries-added"u8);
            writer.WriteInteger(stream.EntriesAdded);
            writer.WriteBulk("recorded-first-entry-id"u8);
            StreamValue.WriteId(writer, stream.FirstId);
            var found = new List<StreamEntryRef>();
            if (!full)
            {
                writer.WriteBulk("groups"u8);
                writer.WriteInteger(stream.GroupCount);
                writer.WriteBulk("first-entry"u8);
                WriteEdge(writer, stream, reverse: false, found);
                writer.WriteBulk("last-entry"u8);
                WriteEdge(writer, stream, reverse: true, found);
                return;
            }

            writer.WriteBulk("entries"u8);
            stream.Collect(StreamId.Min, StreamId.Max, reverse: false, count, found);
            WriteEntries(writer, found);
            writer.WriteBulk("groups"u8);
            writer.WriteArrayHeader(stream.GroupCount);
        }
    }

    /// <summary>XINFO GROUPS key: no stream has consumer groups yet, so an existing one lists none.</summary>
    private static void InfoGroups(RespConnection client, in RespRequest request)
    {
        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            if (TryFindStream(client, request[2], out var stream, NoSuchKey))
            {
                client.Writer.WriteArrayHeader(stream.GroupCount);
            }
        }
    }

    /// <summary>XINFO CONSUMERS key group: no stream has consumer groups yet, so the group is not found.</summary>
    private static void InfoConsumers(RespConnection client, in RespRequest request)
    {
        var keys = client.Server.Keys;
        lock (keys.Gate)
        {
            if (TryFindStream(client, request[2], out _, NoSuchKey))
            {
                client.Writer.WriteErrorRaw([.. "-NOGROUP No such consumer group '"u8, .. StreamArguments.CString(request[3]),
                    .. "' for key name '"u8, .. StreamArguments.CString(request[2]), .. "'"u8]);
            }
        }
    }

    /// <summary>addReplySubcommandSyntaxError, naming the subcommand as the client spelled it.</summary>
    private static void WriteSubcommandSyntaxError(RespWriter writer, in RespRequest request)
    {
        writer.WriteErrorRaw([.. "-ERR unknown subcommand or wrong number of arguments for '"u8, .. CommandTable.CString(request[1], 128),
            .. "'. Try XINFO HELP."u8]);
    }

    private static void WriteEdge(RespWriter writer, StreamValue stream, bool reverse, List<StreamEntryRef> found)
    {
        found.Clear();
        if (stream.Collect(StreamId.Min, StreamId.Max, reverse, 1, found) == 0)
        {
            writer.WriteNull();
            return;
        }

        StreamValue.WriteEntry(writer, found[0]);
    }

    private static void WriteEntries(RespWriter writer, List<StreamEntryRef> entries)
    {
        writer.WriteArrayHeader(entries.Count);
        foreach (var entry in entries)
        {
            StreamValue.WriteEntry(writer, entry);
        }
    }

    /// <summary>
    /// The stream under <paramref name="key"/>; when there is none, writes <paramref name="missing"/> (or
    /// WRONGTYPE for another type) and returns false. The caller holds the gate.
    /// </summary>
    private static bool TryFindStream(RespConnection client, ReadOnlySpan<byte> key, out StreamValue stream, ReadOnlySpan<byte> missing)
    {
        stream = null!;
        switch (client.Server.Keys[client.Database].Find(key))
        {
            case null:
                client.Writer.WriteRaw(missing);
                return false;
            case StreamValue found:
                stream = found;
                return true;
            default:
                client.Writer.WriteRaw(RespConstants.WrongType);
                return false;
        }
    }

    /// <summary>streamParseIntervalIDOrReply: "(" before an id (of more than that one character) makes it exclusive and strict.</summary>
    private static bool TryParseInterval(ReadOnlySpan<byte> argument, ulong missingSeq, out StreamId id, out bool exclusive)
    {
        exclusive = argument.Length > 1 && argument[0] == '(';
        return exclusive
            ? StreamArguments.TryParseId(argument[1..], missingSeq, strict: true, out id)
            : StreamArguments.TryParseId(argument, missingSeq, strict: false, out id);
    }
}
