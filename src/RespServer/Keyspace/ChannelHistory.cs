using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Keyspace;

/// <summary>
/// What a PUBLISH keeps: the message appended to the stream of the channel's name in database 0 (one
/// field, <c>message</c>), with an id from <see cref="KeyStore.NextId"/>, before the message is fanned out;
/// the stream trimmed to its rule's bounds; readers blocked on it woken. The count is trimmed as
/// <c>MAXLEN ~</c> trims, a whole node of up to 100 entries at a time, so a stream keeps at least its
/// rule's entries and at most 99 more; the age exactly (<c>MINID =</c>). A once-a-second sweep
/// (<see cref="Sweep"/>) ages out what no PUBLISH trims, and removes a channel's stream once all of it
/// is older than its rule allows. Every change here (append, trims, evictions, removals) is recorded in the
/// append-only file in the same hold of the gate.
/// </summary>
internal static class ChannelHistory
{
    /// <summary>The database whose streams hold channel history (channels belong to no database).</summary>
    public const int Database = 0;

    /// <summary>
    /// Appends <paramref name="message"/> to <paramref name="channel"/>'s stream under
    /// <paramref name="rule"/>; returns its id, or null when it was not kept (the key holds no stream,
    /// no id is left, or the message is larger than an entry may be). Takes <see cref="KeyStore.Gate"/>.
    /// </summary>
    public static StreamId? Append(KeyStore keys, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, HistoryRule rule, long maxMemory)
    {
        var now = NowMs();
        lock (keys.Gate)
        {
            return AppendLocked(keys, channel, message, rule, maxMemory, now);
        }
    }

    /// <summary>The wall clock in Unix milliseconds, as ids count it.</summary>
    public static ulong NowMs() => (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>
    /// As <see cref="Append"/>, with the gate held by the caller (one hold for many messages). With
    /// <paramref name="given"/> (a cluster's history, whose ids JetStream's order decides: Cluster/SharedHistory.cs)
    /// the entry takes that id and the generator moves past it; null, and nothing kept, when the stream already
    /// holds that id or a greater one.
    /// </summary>
    public static StreamId? AppendLocked(KeyStore keys, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, HistoryRule rule, long maxMemory, ulong now, StreamId? given = null)
    {
        var db = keys[Database];
        var value = db.Find(channel);
        if (value is not null and not StreamValue)
        {
            return null;
        }

        var stream = (StreamValue?)value;
        var created = stream is null;
        stream ??= new StreamValue();
        var before = created || !stream.IsChannelHistory ? 0 : stream.MemoryBytes;
        var entriesBefore = created || !stream.IsChannelHistory ? 0 : stream.Length;
        if (given is { } fixedId)
        {
            if (fixedId <= stream.LastId)
            {
                return null;
            }

            keys.GeneratorAtLeast(fixedId);
        }

        if ((given ?? keys.NextId(stream, now)) is not { } id
            || stream.Append(EntryFields.Message(message), id, seqGiven: true, now, out var added) != StreamAppendResult.Added)
        {
            return null;
        }

        if (created)
        {
            db.Add(channel, stream);
        }

        var log = keys.Log;
        log?.XAdd(Database, channel, added, EntryFields.Message(message));
        if (!stream.IsChannelHistory)
        {
            stream.IsChannelHistory = true;
            log?.HistoryMark();
        }

        // A history dropped whole and started again (by this PUBLISH, or by an XADD before it) keeps the record
        // of what its trims removed: a follower from before the drop still learns of that gap.
        stream.Trimmed ??= keys.Followers.TakeDropped(channel) ?? NewTrimmed(stream, rule);
        Trim(keys, channel, stream, rule, now);
        keys.HistoryBytes += stream.MemoryBytes - before;
        keys.HistoryEntries += stream.Length - entriesBefore;
        if (maxMemory > 0 && keys.HistoryBytes > maxMemory)
        {
            Evict(keys, db, maxMemory);
        }

        db.Signal(channel);
        keys.Followers.Appended(channel, added);
        return added;
    }

    /// <summary>
    /// Ages out entries older than their rule allows in channel histories (streams PUBLISH has kept messages
    /// in) that no PUBLISH has trimmed lately, and removes one left with nothing newer than that. Runs once a second (the server's cron); takes the gate.
    /// </summary>
    public static void Sweep(KeyStore keys, IReadOnlyList<HistoryRule> rules, long maxMemory)
    {
        var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        lock (keys.Gate)
        {
            if (keys.Find(Database) is not { Count: > 0 } db)
            {
                keys.HistoryBytes = 0;
                keys.HistoryEntries = 0;
                return;
            }

            List<byte[]>? gone = null;
            long bytes = 0, entries = 0;
            foreach (var (key, value) in db.Entries)
            {
                if (value is not StreamValue { IsChannelHistory: true } stream)
                {
                    continue;
                }

                if (HistoryRule.For(rules, key) is { MaxAge.Ticks: > 0 } rule)
                {
                    Trim(keys, key, stream, rule, now);
                    if (stream.Length == 0 && stream.LastId.Ms < Cutoff(rule, now))
                    {
                        (gone ??= []).Add(key);
                        continue;
                    }
                }

                bytes += stream.MemoryBytes;
                entries += stream.Length;
            }

            foreach (var key in gone ?? [])
            {
                keys.Followers.Dropped(key, (StreamValue)db.Find(key)!);
                db.Remove(key);
                keys.Log?.Del(Database, key);
            }

            keys.HistoryBytes = bytes;
            keys.HistoryEntries = entries;
            if (maxMemory > 0 && bytes > maxMemory)
            {
                Evict(keys, db, maxMemory);
            }
        }
    }

    /// <summary>
    /// history-max-memory reached: counts the histories anew (other commands — DEL, XTRIM, FLUSHALL — change
    /// them without telling the running count), removes the channels whose history is empty, then drops the
    /// oldest messages of all channels, a node (up to 100 messages) at a time from the channel whose first
    /// message is oldest, removing a channel once it is empty, until the histories hold 90% of the limit,
    /// so that the next run is a while away. Each run costs a pass over the keys and a heap of the channels;
    /// the caller holds the gate.
    /// </summary>
    private static void Evict(KeyStore keys, Database db, long maxMemory)
    {
        var target = maxMemory - (maxMemory / 10);
        var oldest = new PriorityQueue<(byte[] Key, StreamValue Stream), StreamId>();
        List<byte[]>? empty = null;
        long bytes = 0, entries = 0;
        foreach (var (key, value) in db.Entries)
        {
            if (value is not StreamValue { IsChannelHistory: true } stream)
            {
                continue;
            }

            if (stream.Length == 0)
            {
                (empty ??= []).Add(key);
                continue;
            }

            bytes += stream.MemoryBytes;
            entries += stream.Length;
            oldest.Enqueue((key, stream), stream.FirstId);
        }

        foreach (var key in empty ?? [])
        {
            keys.Followers.Dropped(key, (StreamValue)db.Find(key)!);
            db.Remove(key);
            keys.Log?.Del(Database, key);
        }

        keys.HistoryBytes = bytes;
        keys.HistoryEntries = entries;
        while (keys.HistoryBytes > target && oldest.TryDequeue(out var channel, out _))
        {
            var stream = channel.Stream;
            if (stream.FirstNodeLastId is not { } last || !last.TryIncrement(out var past))
            {
                continue;
            }

            var before = stream.MemoryBytes;
            var dropped = stream.Trim(StreamTrimStrategy.MinId, 0, past, approximate: true, limit: 0);
            keys.HistoryEvicted += dropped;
            keys.HistoryEntries -= dropped;
            if (stream.Length > 0)
            {
                keys.Log?.Trimmed(Database, channel.Key, stream, StreamTrimStrategy.MinId, 0, past, approximate: true);
                keys.HistoryBytes += stream.MemoryBytes - before;
                oldest.Enqueue(channel, stream.FirstId);
            }
            else
            {
                keys.HistoryBytes -= before;
                keys.Followers.Dropped(channel.Key, stream);
                db.Remove(channel.Key);
                keys.Log?.Del(Database, channel.Key);
            }
        }
    }

    /// <summary>
    /// How many trimmed ids a channel history remembers for gap counts: ten times its max-entries (a follower
    /// that missed up to that many learns the exact count; 2–4 bytes an id, against some 60 an entry holds),
    /// within 1,000 and 100,000, or 10,000 for a rule without a count.
    /// </summary>
    public static long TrimmedCapacity(HistoryRule rule) => rule.MaxEntries > 0 ? Math.Clamp(rule.MaxEntries * 10, 1_000, 100_000) : 10_000;

    /// <summary>
    /// The record for a stream that becomes a channel history: entries it lost before (an XADD stream's XTRIM, a
    /// base loaded from a rewrite) were not recorded, so a count reaching back before its first entry is unknown.
    /// </summary>
    private static TrimmedIds NewTrimmed(StreamValue stream, HistoryRule rule)
    {
        var trimmed = new TrimmedIds(TrimmedCapacity(rule));
        if (stream.EntriesAdded > stream.Length && stream.FirstId.TryDecrement(out var before))
        {
            trimmed.ForgetUpTo(before);
        }

        return trimmed;
    }

    /// <summary>The rule's bounds, each trim that removed something recorded in the append-only file.</summary>
    private static void Trim(KeyStore keys, ReadOnlySpan<byte> key, StreamValue stream, HistoryRule rule, ulong now)
    {
        if (rule.MaxEntries > 0 && stream.Length > rule.MaxEntries)
        {
            var nodes = stream.NodeCount;
            stream.Trim(StreamTrimStrategy.MaxLen, rule.MaxEntries, default, approximate: true, limit: 0);
            if (stream.NodeCount != nodes)
            {
                keys.Log?.Trimmed(Database, key, stream, StreamTrimStrategy.MaxLen, rule.MaxEntries, default, approximate: true);
            }
        }

        if (rule.MaxAge > TimeSpan.Zero && stream.Length > 0 && stream.FirstId.Ms < Cutoff(rule, now))
        {
            // Exactly: a node of a quiet channel may span days, and an age is a promise about each entry.
            var (length, nodes) = (stream.Length, stream.NodeCount);
            var cutoff = new StreamId(Cutoff(rule, now), 0);
            stream.Trim(StreamTrimStrategy.MinId, 0, cutoff, approximate: false, limit: 0);
            if (stream.Length != length || stream.NodeCount != nodes)
            {
                keys.Log?.Trimmed(Database, key, stream, StreamTrimStrategy.MinId, 0, cutoff, approximate: false);
            }
        }
    }

    private static ulong Cutoff(HistoryRule rule, ulong now)
    {
        var age = (ulong)rule.MaxAge.TotalMilliseconds;
        return now > age ? now - age : 0;
    }
}
