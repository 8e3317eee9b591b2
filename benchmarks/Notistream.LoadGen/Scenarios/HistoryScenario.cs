using System.Diagnostics;
using System.Globalization;
using System.Net;
using Notistream.LoadGen.Reporting;
using Notistream.LoadGen.Verification;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>
/// Channel history kept as streams: storing messages as they are published and delivering them live,
/// the memory a stored message takes, and reading stored messages back. Four cases:
/// <list type="bullet">
/// <item><b>history store</b>: the comparison, each server's way of keeping a bounded history of
/// a channel while one reader gets every message live. Our server: <c>PUBLISH ch payload</c> to a
/// channel with history (the default rule <c>channel-history * 1000 24h</c> appends it to the stream
/// <c>ch</c> and trims it to 1,000 entries) and one SUBSCRIBE subscriber. Redis has no PUBLISH that
/// stores, so there the message is <c>XADD ch MAXLEN ~ 1000 * message payload</c> and the live reader
/// follows the stream with <c>XREAD BLOCK 0 STREAMS ch last-id</c> (<see cref="StreamFollower"/>): one
/// command per message on both sides, stored in memory (compare.sh runs Redis with appendonly no; our
/// server keeps history in memory only) and delivered to one reader. Against a server that is not ours,
/// the Redis side is run.</item>
/// <item><b>history XADD + XREAD</b>: the like-for-like stream figure, the same commands on both servers:
/// <c>XADD ch MAXLEN ~ 1000 * message payload</c> and a <see cref="StreamFollower"/>. It separates the
/// cost of the stream itself from that of the PUBLISH path in the case above.</item>
/// <item><b>history memory</b>: <see cref="LoadGenOptions.HistoryEntries"/> 64-byte messages stored in one
/// stream by pipelined <c>XADD s * message payload</c> (no MAXLEN) on both; the growth of the server's
/// resident memory (VmRSS of <c>--server-pid</c>) and of INFO memory <c>used_memory</c> per entry, and
/// the store rate. Our server's <c>used_memory</c> is its managed heap as the runtime counts it, garbage
/// not yet collected included; Redis's is its allocator's count.</item>
/// <item><b>history catch-up</b>: <see cref="LoadGenOptions.CatchUpEntries"/> stored messages read back from
/// id 0 as a reconnecting client would: <c>XREAD COUNT 1000 STREAMS s last-id</c> until the server
/// answers that nothing follows; the seconds it takes and messages per second.</item>
/// </list>
/// Both store cases use the fan-out shape (publisher connections pipelining windows of commands to one
/// channel or stream, one reader) with a publishing window small enough that the reader can never fall
/// more than 3/4 of the 1,000 kept entries behind, so trimming never removes an entry before it has
/// been read. Every case checks that each message arrived (or is stored) once and in order.
/// </summary>
internal static class HistoryScenario
{
    /// <summary>Entries a history channel keeps: our server's default rule and the MAXLEN ~ of Redis's XADD.</summary>
    public const int HistoryLength = 1000;

    /// <summary>Entries per XREAD of the catch-up reader.</summary>
    public const int CatchUpBatch = 1000;

    public const string StoreCase = "history store";

    public const string XaddCase = "history XADD + XREAD";

    public static string MemoryCase(LoadGenOptions options) => $"history memory N={options.HistoryEntries.ToString(CultureInfo.InvariantCulture)}";

    public static string CatchUpCase(LoadGenOptions options) => $"history catch-up N={options.CatchUpEntries.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// The store cases: <paramref name="publish"/> for our server's PUBLISH to a history channel with a
    /// SUBSCRIBE subscriber, else XADD MAXLEN ~ 1000 followed by an XREAD BLOCK reader.
    /// </summary>
    public static async Task<ScenarioResult> StoreAsync(LoadGenOptions options, EndPoint endPoint, string caseName, bool publish)
    {
        var key = CasePrefix() + "history";

        // Deliveries the publishers may be ahead of the reader, counted when their replies are in: each
        // of them may have one more pipeline in flight, and the reader must stay within the kept entries.
        var inFlight = (long)options.Publishers * options.Pipeline;
        var window = (HistoryLength * 3 / 4) - inFlight;
        if (window < 0)
        {
            throw new LoadGenException(
                $"the history cases need --publishers x --pipeline <= {HistoryLength * 3 / 4} (now {inFlight}): a stream keeps "
                + $"{HistoryLength} entries and its reader must not fall behind its trimming");
        }

        using var run = new ThroughputCase(
            options,
            endPoint,
            [key],
            receiversPerPublish: 1,
            batch: publish ? null : (channel, payloadSize, depth) => PublishBatch.Xadd(channel, HistoryLength, payloadSize, depth),
            window: window);
        if (publish)
        {
            await run.AddSubscriberAsync([key], [], [0]).ConfigureAwait(false);
        }
        else
        {
            await run.AddStreamReaderAsync(key, [0]).ConfigureAwait(false);
        }

        var (delivery, metrics, problems) = await run.RunAsync().ConfigureAwait(false);

        // What the stream keeps afterwards: about 1,000 on both once PUBLISH stores history.
        using var admin = await LoadConnection.ConnectAsync(endPoint, busy: false).ConfigureAwait(false);
        var kept = (await admin.CallAsync("XLEN", key).ConfigureAwait(false)).Integer;
        await admin.CallAsync("DEL", key).ConfigureAwait(false);
        metrics.Add(Metric.Context("entries kept", kept, "entries"));
        if (kept == 0)
        {
            // A server that keeps nothing would be measured doing less than the one it is compared with.
            problems = [.. problems, $"{caseName}: the server kept no entry in '{key}' (is its history off?)"];
        }

        return new ScenarioResult("history", caseName, delivery, metrics, problems);
    }

    /// <summary>The memory case: N entries in one stream, the server's memory growth per entry.</summary>
    public static async Task<ScenarioResult> MemoryAsync(LoadGenOptions options, EndPoint endPoint)
    {
        var key = CasePrefix() + "memory";
        var count = options.HistoryEntries;
        var problems = new List<string>();
        using var admin = await LoadConnection.ConnectAsync(endPoint, busy: false).ConfigureAwait(false);
        var connections = await OpenAsync(endPoint, options.Publishers).ConfigureAwait(false);
        try
        {
            var rssBefore = ConnectionsScenario.ReadRss(options.ServerPid);
            var usedBefore = await UsedMemoryAsync(admin).ConfigureAwait(false);
            var fill = await FillAsync(options, connections, key, count, problems).ConfigureAwait(false);

            // Let the server finish whatever it does after the last reply before reading its memory.
            await Task.Delay(500).ConfigureAwait(false);
            var rssAfter = ConnectionsScenario.ReadRss(options.ServerPid);
            var usedAfter = await UsedMemoryAsync(admin).ConfigureAwait(false);
            var length = (await admin.CallAsync("XLEN", key).ConfigureAwait(false)).Integer;
            await admin.CallAsync("DEL", key).ConfigureAwait(false);

            double? PerEntry(long? before, long? after) => before is { } b && after is { } a ? (double)(a - b) / count : null;
            var metrics = new List<Metric>
            {
                Metric.Higher("stored/s", count / fill.Seconds, "msg/s"),
            };
            metrics.AddRange(CpuSample.Metrics(fill.Cpu0, fill.Cpu1, fill.Seconds, count, "entries"));
            metrics.AddRange(
            [
                Metric.Lower("server RSS per entry", PerEntry(rssBefore, rssAfter), "bytes"),
                Metric.Lower("used_memory per entry", PerEntry(usedBefore, usedAfter), "bytes"),
                Metric.Info("server RSS before", rssBefore / 1048576.0, "MiB"),
                Metric.Info("server RSS after", rssAfter / 1048576.0, "MiB"),
            ]);
            return new ScenarioResult("history", MemoryCase(options), Stored(count, length), metrics, problems);
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>The catch-up case: N entries stored, then read back from id 0 in XREADs of 1,000.</summary>
    /// <remarks>
    /// Against our server the same entries are then read a second way, as the <c>notistream</c> client
    /// catches up: <c>NOTI.SUBSCRIBE 0 CHANNELS 1 s</c>, every entry pushed in id order (Redis has no
    /// equivalent; its figure is XREAD's above).
    /// </remarks>
    public static async Task<ScenarioResult> CatchUpAsync(LoadGenOptions options, EndPoint endPoint, bool ours)
    {
        var key = CasePrefix() + "catchup";
        var count = options.CatchUpEntries;
        var problems = new List<string>();
        var connections = await OpenAsync(endPoint, options.Publishers).ConfigureAwait(false);
        Fill fill;
        try
        {
            fill = await FillAsync(options, connections, key, count, problems).ConfigureAwait(false);
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }
        }

        using var reader = await LoadConnection.ConnectAsync(endPoint, busy: true).ConfigureAwait(false);
        var cursor = new StreamCursor(key, CatchUpBatch, block: false);
        var verifier = new DeliveryVerifier();
        var entries = new List<StreamEntry>(CatchUpBatch);
        long read = 0;
        long reads = 0;
        var (t0, cpu0) = (Stopwatch.GetTimestamp(), CpuSample.Take(options.ServerPid));
        while (true)
        {
            await reader.SendAsync(cursor.Command()).ConfigureAwait(false);
            reads++;
            var used = await ReadEntriesAsync(reader, entries).ConfigureAwait(false);
            if (entries.Count == 0)
            {
                reader.Consume(used);
                break;
            }

            var data = reader.Unparsed;
            foreach (var entry in entries)
            {
                if (!cursor.Advance(data.Slice(entry.IdOffset, entry.IdLength)))
                {
                    throw new LoadGenException($"catch-up: entry id {System.Text.Encoding.ASCII.GetString(data.Slice(entry.IdOffset, entry.IdLength))} does not follow {cursor.LastId}");
                }

                if (entry.MessageLength < 0)
                {
                    throw new LoadGenException("catch-up: a stream entry has no message field");
                }

                Payload.Read(data.Slice(entry.MessageOffset, entry.MessageLength), out var stream, out var sequence, out _);
                verifier.Observe(stream, sequence);
            }

            read += entries.Count;
            entries.Clear();
            reader.Consume(used);
        }

        var (t1, cpu1) = (Stopwatch.GetTimestamp(), CpuSample.Take(options.ServerPid));
        var seconds = Stopwatch.GetElapsedTime(t0, t1).TotalSeconds;
        double? followSeconds = ours ? await FollowCatchUpAsync(endPoint, key, read).ConfigureAwait(false) : null;
        using (var admin = await LoadConnection.ConnectAsync(endPoint, busy: false).ConfigureAwait(false))
        {
            await admin.CallAsync("DEL", key).ConfigureAwait(false);
        }

        var delivery = verifier.Finish(fill.Sent.Select((sent, publisher) => new KeyValuePair<int, long>(publisher, sent)));
        var metrics = new List<Metric>
        {
            Metric.Lower("catch-up time", seconds, "s"),
            Metric.Higher("read/s", read / seconds, "msg/s"),
            Metric.Info("XREADs", reads, "count"),
            Metric.Info("stored/s", count / fill.Seconds, "msg/s"),
            Metric.Info("NOTI.SUBSCRIBE catch-up time", followSeconds, "s"),
        };
        metrics.AddRange(CpuSample.Metrics(cpu0, cpu1, seconds, read, "entries read"));
        return new ScenarioResult("history", CatchUpCase(options), delivery, metrics, problems);
    }

    /// <summary>
    /// <paramref name="expected"/> messages published to a channel of their own (a rule put first for it keeps
    /// them all; the server's rules are put back after), then read as a follower from id 0; returns the seconds
    /// from sending NOTI.SUBSCRIBE to the last push. Each push must be a noti.message with an id above the one
    /// before. NOTI.SUBSCRIBE reads channel histories only, not the XADD stream the XREAD case read.
    /// </summary>
    private static async Task<double> FollowCatchUpAsync(EndPoint endPoint, string key, long expected)
    {
        key += ":follow";
        using var admin = await LoadConnection.ConnectAsync(endPoint, busy: false).ConfigureAwait(false);
        var rules = (await admin.CallAsync("CONFIG", "GET", "channel-history").ConfigureAwait(false)).Items;
        var saved = rules.Count == 2 ? rules[1].Text ?? "" : "";
        await admin.CallAsync("CONFIG", "SET", "channel-history", $"{key} 0 0 {saved}".Trim()).ConfigureAwait(false);
        try
        {
            using (var publisher = await LoadConnection.ConnectAsync(endPoint, busy: true).ConfigureAwait(false))
            {
                const int Window = 1000;
                for (long sent = 0; sent < expected; sent += Window)
                {
                    var depth = (int)Math.Min(Window, expected - sent);
                    var batch = new List<byte>();
                    for (var i = 0; i < depth; i++)
                    {
                        batch.AddRange(RespCommand.Encode("PUBLISH", key, (sent + i).ToString(CultureInfo.InvariantCulture)));
                    }

                    await publisher.SendAsync(batch.ToArray()).ConfigureAwait(false);
                    await ReadRepliesAsync(publisher, depth, "PUBLISH", RespKind.Integer).ConfigureAwait(false);
                }
            }

            return await FollowAsync(endPoint, key, expected).ConfigureAwait(false);
        }
        finally
        {
            await admin.CallAsync("CONFIG", "SET", "channel-history", saved).ConfigureAwait(false);
            await admin.CallAsync("DEL", key).ConfigureAwait(false);
        }
    }

    private static async Task<double> FollowAsync(EndPoint endPoint, string key, long expected)
    {
        using var follower = await LoadConnection.ConnectAsync(endPoint, busy: true).ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var t0 = Stopwatch.GetTimestamp();
        await follower.SendAsync(RespCommand.Encode("NOTI.SUBSCRIBE", "0", "CHANNELS", "1", key)).ConfigureAwait(false);
        long pushes = -1; // the confirmation first
        var last = (Ms: 0UL, Seq: 0UL);
        while (pushes < expected)
        {
            var data = follower.Unparsed;
            var position = 0;
            while (pushes < expected)
            {
                var used = RespParser.TryParse(data[position..], out var reply);
                if (used == 0)
                {
                    break;
                }

                if (reply.Kind == RespKind.Array && reply.Count == 2)
                {
                    position += used; // noti.caughtup: the end of the catch-up, after every entry
                    continue;
                }

                if (reply.Kind != RespKind.Array || reply.Count != 4)
                {
                    throw new LoadGenException($"NOTI.SUBSCRIBE pushed {SetupReply.From(reply, data[position..])}");
                }

                if (pushes >= 0)
                {
                    var idElement = reply[2];
                    var id = data.Slice(position + idElement.Offset, idElement.Length);
                    var dash = id.IndexOf((byte)'-');
                    if (dash < 0
                        || !System.Buffers.Text.Utf8Parser.TryParse(id[..dash], out ulong ms, out _)
                        || !System.Buffers.Text.Utf8Parser.TryParse(id[(dash + 1)..], out ulong seq, out _)
                        || (ms, seq).CompareTo(last) <= 0)
                    {
                        throw new LoadGenException($"NOTI.SUBSCRIBE catch-up: id {System.Text.Encoding.ASCII.GetString(id)} does not follow {last.Ms}-{last.Seq}");
                    }

                    var next = (ms, seq);

                    last = next;
                }

                position += used;
                pushes++;
            }

            follower.Consume(position);
            if (pushes < expected && !await follower.FillAsync(timeout.Token).ConfigureAwait(false))
            {
                throw new LoadGenException("the server closed the follower's connection");
            }
        }

        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    /// <summary>Sent per publisher, and the window the entries were stored in.</summary>
    private sealed record Fill(long[] Sent, double Seconds, CpuSample Cpu0, CpuSample Cpu1);

    private static async Task<List<LoadConnection>> OpenAsync(EndPoint endPoint, int count)
    {
        var connections = new List<LoadConnection>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                connections.Add(await LoadConnection.ConnectAsync(endPoint, busy: true).ConfigureAwait(false));
            }
        }
        catch
        {
            foreach (var connection in connections)
            {
                connection.Dispose();
            }

            throw;
        }

        return connections;
    }

    /// <summary>
    /// Stores <paramref name="count"/> numbered messages in <paramref name="key"/>, shared out over the
    /// connections, each pipelining windows of <c>XADD key * message payload</c> and checking that every
    /// reply is an entry id. A failure is a problem of the case, and the fill stops.
    /// </summary>
    private static async Task<Fill> FillAsync(LoadGenOptions options, List<LoadConnection> connections, string key, int count, List<string> problems)
    {
        var sent = new long[connections.Count];
        var (t0, cpu0) = (Stopwatch.GetTimestamp(), CpuSample.Take(options.ServerPid));
        await Task.WhenAll(connections.Select((connection, p) => Task.Run(async () =>
        {
            var quota = (count / connections.Count) + (p < count % connections.Count ? 1 : 0);
            var batch = PublishBatch.Xadd(key, maxLength: null, options.PayloadSize, options.Pipeline);
            try
            {
                while (sent[p] < quota)
                {
                    var depth = (int)Math.Min(batch.Depth, quota - sent[p]);
                    for (var slot = 0; slot < depth; slot++)
                    {
                        batch.SetMessage(slot, p, sent[p] + slot, 0);
                    }

                    await connection.SendAsync(batch.Frames(depth)).ConfigureAwait(false);
                    await ReadRepliesAsync(connection, depth, "XADD", RespKind.Bulk).ConfigureAwait(false);
                    sent[p] += depth;
                }
            }
            catch (Exception ex) when (ex is LoadGenException or System.Net.Sockets.SocketException or IOException or InvalidDataException)
            {
                lock (problems)
                {
                    problems.Add($"XADD connection {p}: {ex.Message}");
                }
            }
        }))).ConfigureAwait(false);
        var (t1, cpu1) = (Stopwatch.GetTimestamp(), CpuSample.Take(options.ServerPid));
        return new Fill(sent, Stopwatch.GetElapsedTime(t0, t1).TotalSeconds, cpu0, cpu1);
    }

    /// <summary>Reads <paramref name="count"/> replies to <paramref name="command"/>, each of which must be of <paramref name="kind"/> (XADD: an entry id; PUBLISH: the receivers).</summary>
    private static async Task ReadRepliesAsync(LoadConnection connection, int count, string command, RespKind kind)
    {
        var replies = 0;
        while (true)
        {
            var data = connection.Unparsed;
            var position = 0;
            while (replies < count)
            {
                var used = RespParser.TryParse(data[position..], out var reply);
                if (used == 0)
                {
                    break;
                }

                if (reply.Kind != kind)
                {
                    throw new LoadGenException($"{command} answered {SetupReply.From(reply, data[position..])}");
                }

                position += used;
                replies++;
            }

            connection.Consume(position);
            if (replies == count)
            {
                return;
            }

            if (!await connection.FillAsync().ConfigureAwait(false))
            {
                throw new LoadGenException($"the server closed a {command} connection");
            }
        }
    }

    /// <summary>Waits for one whole XREAD reply and parses its entries (none: nothing follows); returns its length, not yet consumed.</summary>
    private static async Task<int> ReadEntriesAsync(LoadConnection connection, List<StreamEntry> entries)
    {
        using var timeout = new CancellationTokenSource(LoadConnection.SetupTimeout);
        while (true)
        {
            var used = StreamReplyParser.TryParseXRead(connection.Unparsed, entries, out var error);
            if (error is not null)
            {
                throw new LoadGenException($"XREAD answered -{error}");
            }

            if (used > 0)
            {
                return used;
            }

            bool more;
            try
            {
                more = await connection.FillAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new LoadGenException($"no XREAD reply within {LoadConnection.SetupTimeout.TotalSeconds} s");
            }

            if (!more)
            {
                throw new LoadGenException("the server closed the catch-up reader's connection");
            }
        }
    }

    /// <summary>Nothing lost when the stream holds exactly what was stored.</summary>
    private static DeliveryReport Stored(long count, long length) =>
        new(length, Math.Max(0, count - length), Math.Max(0, length - count), 0);

    /// <summary>INFO memory's <c>used_memory</c> in bytes, or null when the server does not report it.</summary>
    private static async Task<long?> UsedMemoryAsync(LoadConnection admin)
    {
        var info = (await admin.CallAsync("INFO", "memory").ConfigureAwait(false)).Text ?? "";
        var line = info.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.StartsWith("used_memory:", StringComparison.Ordinal));
        return line is not null && long.TryParse(line["used_memory:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : null;
    }

    private static string CasePrefix() => "lg" + Guid.NewGuid().ToString("N")[..8] + ":";
}
