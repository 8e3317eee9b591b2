using Notistream.RespServer.Hosting;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Keyspace;

/// <summary>
/// One NOTI.SUBSCRIBE: a connection that follows channels and patterns from a cursor, reading their
/// histories (the streams PUBLISH keeps) rather than receiving pushed frames, so the hand-off from stored
/// to live messages needs no hand-off at all: every message is read from its stream, in id order, after
/// the cursor.
/// <para>
/// Why this is exactly once and in order: ids increase across all streams (I10), and when the gate is
/// free every id up to the last given is in its stream. A pull (under the gate) takes the smallest ids
/// after the cursor from the streams that may hold some — the <em>active</em> ones — and moves the cursor
/// to the last id taken. A stream becomes active in the same hold of the gate that appends to it
/// (<see cref="FollowerIndex.Appended"/>), so no entry after the cursor is ever in a stream the pull does
/// not look at; a stream leaves the active set only when it holds nothing after the cursor.
/// </para>
/// <para>
/// Gaps: a trim removes entries (<see cref="StreamValue.Trimmed"/> records their ids). When a stream's
/// trims removed ids after what this follower has seen of it, the next pull of that stream writes
/// <c>noti.gap</c> with how many (or null when the record no longer reaches back), before any of its
/// later messages.
/// </para>
/// <para>
/// Who does what: every field is read and written under <see cref="KeyStore.Gate"/> — by the follower's own
/// pull loop (<see cref="Pull"/>), by appenders (<see cref="Activate"/>), by NOTI.SUBSCRIBE and the
/// connection's end (register, unregister) — except the wake-up, which has its own lock as
/// <see cref="BlockedCommand"/>'s has. The connection's follow loop is the only writer of its pushes.
/// </para>
/// </summary>
internal sealed class Follower
{
    private readonly Dictionary<byte[], byte[]?> _active = new(ByteArrayComparer.Instance);
    private readonly PriorityQueue<byte[], StreamId> _next = new();
    /// <summary>Per channel, the last trimmed id a gap notice covered, while above the cursor (at most about <see cref="MaxGapMarks"/>).</summary>
    private readonly Dictionary<byte[], StreamId> _gapReported = new(ByteArrayComparer.Instance);

    private const int MaxGapMarks = 1024;
    private readonly List<StreamEntryRef> _found = [];
    private TaskCompletionSource _woken = NewSignal();

    /// <summary>
    /// Messages before this id may have been lost without a record (a cluster node missed part of the shared
    /// stream while this follower followed): one gap of unknown size per name, before any message from this id on.
    /// </summary>
    private StreamId? _lostBefore;

    /// <summary>The server's last id at NOTI.SUBSCRIBE: the catch-up is over once nothing up to it is left to read.</summary>
    private readonly StreamId _catchUpEnd;
    private bool _caughtUpSent;

    public Follower(StreamId cursor, StreamId catchUpEnd, byte[][] channels, byte[][] patterns)
    {
        Cursor = cursor;
        _catchUpEnd = catchUpEnd;
        Channels = new HashSet<byte[]>(channels, ByteArrayComparer.Instance);
        Patterns = patterns;
    }

    /// <summary>The last id delivered (or the resume point): every later message of what is followed is still to come.</summary>
    public StreamId Cursor { get; private set; }

    /// <summary>Channels followed by name.</summary>
    public HashSet<byte[]> Channels { get; }

    /// <summary>Patterns followed (Redis globs).</summary>
    public byte[][] Patterns { get; }

    /// <summary>Held while the follow loop queues a pull's pushes, and while <see cref="Stopped"/> is set: nothing is queued after a stop.</summary>
    public Lock PushLock { get; } = new();

    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when the connection stops following (RESET, its end), under the gate and <see cref="PushLock"/>: nothing more is pulled or queued.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Completes at <see cref="Stop"/>: ends any wait of the follow loop.</summary>
    public Task StoppedTask => _stopped.Task;

    /// <summary>Stops this follower; the caller holds the gate and <see cref="PushLock"/>.</summary>
    public void Stop()
    {
        Stopped = true;
        _stopped.TrySetResult();
        Wake();
    }

    /// <summary>Streams that may hold entries after the cursor (under the gate).</summary>
    public int ActiveCount => _active.Count;

    /// <summary>Completes when a followed stream got an entry; renewed by <see cref="Rearm"/>.</summary>
    public Task Woken
    {
        get
        {
            lock (this)
            {
                return _woken.Task;
            }
        }
    }

    /// <summary>Wakes the follow loop (under the gate, or at the connection's end).</summary>
    public void Wake()
    {
        lock (this)
        {
            _woken.TrySetResult();
        }
    }

    /// <summary>Before a pull: an append after this call completes the next <see cref="Woken"/>.</summary>
    public void Rearm()
    {
        lock (this)
        {
            if (_woken.Task.IsCompleted)
            {
                _woken = NewSignal();
            }
        }
    }

    /// <summary>
    /// The pattern through which <paramref name="channel"/> is followed, null when by name, or false when it
    /// is not followed. A channel followed by name and by pattern is delivered once, as a channel message.
    /// </summary>
    public bool Follows(ReadOnlySpan<byte> channel, out byte[]? pattern)
    {
        pattern = null;
        if (Channels.Count > 0 && Channels.GetAlternateLookup<ReadOnlySpan<byte>>().Contains(channel))
        {
            return true;
        }

        foreach (var candidate in Patterns)
        {
            if (GlobMatcher.IsMatch(candidate, channel))
            {
                pattern = candidate;
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Marks <paramref name="channel"/>'s stream as holding entries from <paramref name="from"/> on (an
    /// appended id, or the cursor's successor for a stream found at NOTI.SUBSCRIBE). Under the gate.
    /// </summary>
    public void Activate(ReadOnlySpan<byte> channel, byte[]? pattern, StreamId from)
    {
        var lookup = _active.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (lookup.ContainsKey(channel))
        {
            return;
        }

        var key = channel.ToArray();
        _active[key] = pattern;
        _next.Enqueue(key, from);
    }

    /// <summary>
    /// Messages before <paramref name="firstAfter"/> (above the cursor: nothing from there on is appended yet)
    /// may have been lost without a record: the next pull says so once it has written everything before that
    /// id. A second loss before the first is written is covered by the same notice. Under the gate.
    /// </summary>
    public void LostBefore(StreamId firstAfter)
    {
        _lostBefore ??= firstAfter;
        Wake();
    }

    /// <summary>Whether <paramref name="channel"/>'s stream is already among those the next pull reads.</summary>
    public bool IsActive(ReadOnlySpan<byte> channel) => _active.Count > 0 && _active.GetAlternateLookup<ReadOnlySpan<byte>>().ContainsKey(channel);

    /// <summary>
    /// For a follower from <c>0</c> ("whatever is kept"): what trims removed before it subscribed is no gap of
    /// its. Under the gate, at registration.
    /// </summary>
    public void IgnoreTrimmedBefore(byte[] channel, TrimmedIds trimmed)
        => _gapReported[channel] = trimmed.LastId > trimmed.ForgottenUpTo ? trimmed.LastId : trimmed.ForgottenUpTo;

    /// <summary>
    /// Writes the gap notices and messages after the cursor, smallest ids first, and moves the cursor past
    /// them: at most <paramref name="maxEntries"/> entries looked at and about <paramref name="maxBytes"/>
    /// bytes written (a message larger than that alone), and nothing above the id generator's last id (an
    /// entry an explicit id put ahead of it waits until the generator passes it: a later PUBLISH may still
    /// take a smaller id). Returns how many pushes it wrote; <paramref name="more"/> says a limit stopped it
    /// with entries left to read. Under the gate; the work is bounded by the limits plus one look at each
    /// active stream whose next entry is due.
    /// </summary>
    public int Pull(KeyStore keys, RespWriter writer, ReplyBuffer buffer, int maxEntries, int maxBytes, out bool more)
    {
        var written = 0;
        var visited = 0;
        more = false;
        var db = keys.Find(ChannelHistory.Database);
        var ceiling = keys.LastGivenId;
        while (true)
        {
            var hasDue = _next.TryPeek(out _, out var due);
            if (_lostBefore is { } lost && (!hasDue || due >= lost))
            {
                // Everything before the loss is written (the smallest due id bounds every active stream's next).
                written += WriteLost(writer);
            }

            written += WriteCaughtUpIfDone(writer);
            if (!hasDue || due > ceiling)
            {
                break;
            }

            if (visited >= maxEntries || buffer.Length >= maxBytes)
            {
                more = true;
                break;
            }

            var channel = _next.Dequeue();
            var pattern = _active[channel];
            var stream = db?.Find(channel) as StreamValue is { IsChannelHistory: true } history ? history : null;
            written += WriteGap(keys, writer, channel, stream);
            if (stream is null || !Cursor.TryIncrement(out var after))
            {
                Deactivate(channel);
                continue;
            }

            // The stream's entries after the cursor that come before the next stream's due id (a lower bound
            // of that stream's next entry): taking them keeps the ids written in order across streams.
            _found.Clear();
            var limit = _next.TryPeek(out _, out var nextDue) && nextDue.TryDecrement(out var before) ? before : StreamId.Max;
            if (limit > ceiling)
            {
                limit = ceiling;
            }

            if (!_caughtUpSent && limit > _catchUpEnd)
            {
                // Nothing past the catch-up's end before noti.caughtup.
                limit = _catchUpEnd;
            }

            stream.Collect(after, limit, reverse: false, Math.Min(256, maxEntries - visited), _found);
            foreach (var entry in _found)
            {
                var id = StreamValue.IdOf(entry);
                if (_lostBefore is { } lostBefore && id >= lostBefore)
                {
                    written += WriteLost(writer);
                }

                if (WriteMessage(writer, channel, pattern, entry, id))
                {
                    written++;
                }

                visited++;
                Cursor = id;
                if (buffer.Length >= maxBytes)
                {
                    break;
                }
            }

            // Due again at its real next entry, if it has one after the cursor; so a stream popped with a
            // stale bound is put back in its exact place, and the next pop makes progress.
            _found.Clear();
            if (Cursor.TryIncrement(out var next) && stream.Collect(next, StreamId.Max, reverse: false, 1, _found) == 1)
            {
                _next.Enqueue(channel, StreamValue.IdOf(_found[0]));
            }
            else
            {
                Deactivate(channel);
            }

            _found.Clear();
        }

        // Gap marks matter only above the cursor (below it every id was delivered or reported), and only
        // against a second notice of the same loss. Past MaxGapMarks, marks of streams not being read go too:
        // a channel dropped and started again could then repeat an old notice, never lose one.
        if (_gapReported.Count > MaxGapMarks)
        {
            foreach (var (channel, reported) in _gapReported)
            {
                if (reported <= Cursor || (_gapReported.Count > MaxGapMarks && !_active.ContainsKey(channel)))
                {
                    _gapReported.Remove(channel);
                }
            }
        }

        return written;
    }

    private void Deactivate(byte[] channel)
    {
        _active.Remove(channel);
        if (_gapReported.TryGetValue(channel, out var reported) && reported <= Cursor)
        {
            _gapReported.Remove(channel);
        }
    }

    /// <summary>
    /// Once no stream holds anything up to the id that was last at NOTI.SUBSCRIBE, the catch-up is over: said
    /// once. The queue's smallest due id is a lower bound of every active stream's next entry, and no entry
    /// past the catch-up's end is taken before this is written.
    /// </summary>
    private int WriteCaughtUpIfDone(RespWriter writer)
    {
        if (_caughtUpSent || (_next.TryPeek(out _, out var smallest) && smallest <= _catchUpEnd))
        {
            return 0;
        }

        _caughtUpSent = true;
        writer.WritePushHeader(2);
        writer.WriteBulk("noti.caughtup"u8);
        StreamValue.WriteId(writer, Cursor > _catchUpEnd ? Cursor : _catchUpEnd);
        return 1;
    }

    /// <summary>
    /// At NOTI.SUBSCRIBE, when the server cannot know what it lost before <paramref name="since"/> (it
    /// started without its log, or cut a torn one): one gap of unknown size per name followed.
    /// </summary>
    public static void WriteUnknownGap(RespWriter writer, ReadOnlySpan<byte> name)
    {
        writer.WritePushHeader(3);
        writer.WriteBulk("noti.gap"u8);
        writer.WriteBulk(name);
        writer.WriteNull();
    }

    private int WriteLost(RespWriter writer)
    {
        _lostBefore = null;
        foreach (var channel in Channels)
        {
            WriteUnknownGap(writer, channel);
        }

        foreach (var pattern in Patterns)
        {
            WriteUnknownGap(writer, pattern);
        }

        return Channels.Count + Patterns.Length;
    }

    private int WriteGap(KeyStore keys, RespWriter writer, byte[] channel, StreamValue? stream)
    {
        var trimmed = stream?.Trimmed ?? keys.Followers.DroppedTrimmed(channel);
        if (trimmed is null)
        {
            return 0;
        }

        var from = _gapReported.TryGetValue(channel, out var reported) && reported > Cursor ? reported : Cursor;
        if (trimmed.LastId <= from && trimmed.ForgottenUpTo <= from)
        {
            return 0;
        }

        var missed = trimmed.CountAfter(from);
        _gapReported[channel] = trimmed.LastId > trimmed.ForgottenUpTo ? trimmed.LastId : trimmed.ForgottenUpTo;
        writer.WritePushHeader(3);
        writer.WriteBulk("noti.gap"u8);
        writer.WriteBulk(channel);
        if (missed is { } count)
        {
            writer.WriteInteger(count);
        }
        else
        {
            writer.WriteNull();
        }

        return 1;
    }

    private static bool WriteMessage(RespWriter writer, byte[] channel, byte[]? pattern, StreamEntryRef entry, StreamId id)
    {
        if (!StreamValue.TryReadMessage(entry, out var message))
        {
            // An entry XADD put there without a message field: not a message, nothing to deliver.
            return false;
        }

        Span<byte> text = stackalloc byte[StreamId.MaxTextLength];
        var length = id.Format(text);
        if (pattern is null)
        {
            writer.WritePushHeader(4);
            writer.WriteBulk("noti.message"u8);
        }
        else
        {
            writer.WritePushHeader(5);
            writer.WriteBulk("noti.pmessage"u8);
            writer.WriteBulk(pattern);
        }

        writer.WriteBulk(channel);
        writer.WriteBulk(text[..length]);
        writer.WriteBulk(message);
        return true;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
