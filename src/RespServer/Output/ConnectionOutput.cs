using System.Buffers;
using System.Net.Sockets;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Output;

/// <summary>What queuing did, for the caller to act on.</summary>
internal enum Queued
{
    /// <summary>Not queued: the output is closed, or this passed its limit and the queue was dropped.</summary>
    No,

    /// <summary>Queued; the writer sends it, or a send already scheduled covers it.</summary>
    Yes,

    /// <summary>Queued for an idle writer from a batch that sends inline: the batch must call
    /// <see cref="ConnectionOutput.SendScheduled"/> (or <see cref="ConnectionOutput.WakeScheduled"/>) once, at its end.</summary>
    SendAtBatchEnd,
}

/// <summary>
/// The output side of one connection: a queue bounded by the memory it holds, and the code that sends it.
/// <para>
/// Who writes the queue: the connection's read loop (its replies, <see cref="Enqueue(byte[], int, bool, DeliveryBatch?)"/>)
/// and publishers' batches on any thread (<see cref="EnqueueStaged"/>); each takes <see cref="_lock"/>
/// once and appends references, so no one ever waits for the socket. Who sends: the writer
/// (ConnectionOutput.Writer.cs), or, on plain TCP, a batch's thread at the batch's end
/// (ConnectionOutput.InlineSend.cs); at most one of them at a time (<see cref="_inlineSending"/>
/// keeps the writer waiting), so bytes leave in queue order. <see cref="_lock"/> protects every
/// field below that is not marked otherwise.
/// </para>
/// <para>
/// The unsubscribe barrier: after UNSUBSCRIBE leaves the subscriber lists, a batch on another thread
/// may still hold a message of that channel that it read from a list before (staged, not yet queued).
/// Redis never sends such a message after the confirmation, so the confirmation and everything the
/// connection queues after it wait in <see cref="_deferred"/> until each batch in <see cref="_awaited"/>
/// has queued its staged deliveries (<see cref="BatchPassed"/>); what those batches queue meanwhile
/// goes into <see cref="_pending"/>, ahead of the confirmation. No thread waits for another: the
/// unsubscribing connection's read loop pauses asynchronously (<see cref="WaitForBarrierAsync"/>)
/// before its next command, for at most one command of each awaited batch
/// (<see cref="DeliveryBatch.AfterCommand"/>), so that no subscription of it changes while the
/// barrier is up (a later SUBSCRIBE's confirmation must not be overtaken by what an awaited batch
/// read after it).
/// </para>
/// <para>
/// Memory: <see cref="BufferedBytes"/> is what the queue keeps alive (<see cref="OutputSegment.Held"/>),
/// not the bytes it will send; small replies are packed into the last reply array's free room so
/// the two stay close. Past the client-output-buffer-limit of the client's class the queue is dropped
/// and the connection closed, as Redis does.
/// </para>
/// </summary>
internal sealed partial class ConnectionOutput
{
    // System.Threading.Lock rather than a Monitor: publishers and the writer contend for it, and it
    // measured a little faster under that contention.
    private readonly Lock _lock = new();
    private readonly WriterSignal _signal = new();
    private readonly Func<OutputBufferLimit> _limit;
    private readonly Action<ConnectionEnd, string> _ended;

    /// <summary>Queued and sendable now, in order.</summary>
    private List<OutputSegment> _pending = [];

    /// <summary>Queued behind the unsubscribe barrier (empty while <see cref="_awaited"/> is).</summary>
    private List<OutputSegment> _deferred = [];

    /// <summary>Batches whose staged deliveries must be queued before <see cref="_deferred"/> may follow, and, with
    /// <c>nats-servers</c>, the cluster link's token while a SUBSCRIBE waits for the node's NATS interest
    /// (<see cref="Cluster.ClusterLink.BeginSubscribe"/>).</summary>
    private List<object>? _awaited;

    /// <summary><see cref="_awaited"/> is not empty; written under the lock, read by the read loop without it.</summary>
    private volatile bool _barrierUp;

    private long _pendingHeld;
    private long _deferredHeld;

    /// <summary>Held by segments the writer or an inline send has taken and not yet given back.</summary>
    private long _sendingHeld;

    /// <summary>The sum of the three above; written under the lock, read without it.</summary>
    private long _held;

    private long _totalBytesWritten;
    private long _softLimitSince;
    private int _holds;
    private bool _completed;
    private bool _dropped;

    /// <param name="limit">the limit that applies now (pub/sub or normal class)</param>
    /// <param name="ended">called once, on the thread pool, when the output ends the connection: its
    /// limit was passed, or a send failed</param>
    public ConnectionOutput(Func<OutputBufferLimit> limit, Action<ConnectionEnd, string> ended)
    {
        _limit = limit;
        _ended = ended;
    }

    /// <summary>Memory held by queued output and output being sent (CLIENT LIST omem, the output limits).</summary>
    public long BufferedBytes => Volatile.Read(ref _held);

    /// <summary>The unsubscribe barrier is up: the read loop runs no further command until it lifts.</summary>
    public bool HasBarrier => _barrierUp;

    /// <summary>Entries waiting in the queue (CLIENT LIST oll).</summary>
    public long QueuedItems
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count + _deferred.Count;
            }
        }
    }

    /// <summary>Bytes handed to the socket or pipe so far.</summary>
    public long TotalBytesWritten => Volatile.Read(ref _totalBytesWritten);

    /// <summary>Capacity of the queue's lists now (tests: a burst's peak is not kept).</summary>
    internal int QueueCapacity
    {
        get
        {
            lock (_lock)
            {
                return _pending.Capacity + _deferred.Capacity + _writing.Capacity + _inline.Capacity;
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="length"/> bytes of <paramref name="array"/> (the connection's replies); a
    /// pooled array goes back to the pool once sent or dropped, or at once when a small reply is
    /// copied into the last queued array. <paramref name="batch"/> is the connection's own batch.
    /// </summary>
    public Queued Enqueue(byte[] array, int length, bool pooled, DeliveryBatch? batch = null)
        => Enqueue(OutputSegment.OfArray(array, length, pooled), batch);

    /// <summary>Queues the connection's last replies and completes the output in one step, so nothing
    /// (a message published meanwhile) can be queued after them (Redis's CLIENT_CLOSE_AFTER_REPLY).</summary>
    public void EnqueueLast(byte[] array, int length, bool pooled)
    {
        Enqueue(OutputSegment.OfArray(array, length, pooled), null, complete: true);
        Complete();
    }

    /// <summary>Queues a shared frame outside any batch, taking a reference of its own. Returns
    /// <see cref="Queued.No"/>, without taking a reference, when the output is closed; also when this
    /// frame passes the limit (the queue, this frame included, is then dropped).</summary>
    public Queued Enqueue(MessageFrame frame)
    {
        frame.AddRef();
        return Enqueue(OutputSegment.OfFrame(frame), null);
    }

    private Queued Enqueue(OutputSegment segment, DeliveryBatch? batch, bool complete = false)
    {
        string? reason;
        Queued queued;
        lock (_lock)
        {
            if (_completed || _dropped)
            {
                segment.Release();
                return Queued.No;
            }

            AddLocked(segment, batch);
            _completed |= complete;
            reason = CheckLimitLocked();
            queued = reason is null ? WakeLocked(batch) : DropLocked();
        }

        return Report(queued, reason);
    }

    [ThreadStatic]
    private static List<OutputSegment>? t_staged;

    /// <summary>
    /// Queues the frames one batch delivered to this connection, in order, under one acquisition of
    /// the lock, taking over the caller's reference to each. Runs of small frames that only this
    /// delivery holds are first copied into pooled chunks on the caller's thread, which made them:
    /// the frames go back to that thread's pools at once instead of travelling to the writer's core
    /// and back. Every frame is given back exactly once, whatever happens, queued or not.
    /// </summary>
    public Queued EnqueueStaged(ReadOnlySpan<MessageFrame> frames, DeliveryBatch batch)
    {
        var segments = t_staged ??= [];
        var taken = 0;
        try
        {
            Gather(frames, segments);
            string? reason = null;
            Queued queued;
            lock (_lock)
            {
                // A completed output still takes what a batch its barrier waits for staged before the
                // unsubscribe: it goes ahead of the confirmation and the last replies.
                if (_dropped || (_completed && _awaited?.Contains(batch) != true))
                {
                    return Queued.No;
                }

                // Each segment is the queue's from the moment it is added: `taken` moves with it, so
                // the finally below gives back only what the queue does not own, whatever throws.
                while (taken < segments.Count)
                {
                    AddLocked(segments[taken++], batch);
                    reason = CheckLimitLocked();
                    if (reason is not null)
                    {
                        break;
                    }
                }

                queued = reason is null ? WakeLocked(batch) : DropLocked();
            }

            return Report(queued, reason);
        }
        finally
        {
            OutputSegment.ReleaseAll(segments, taken);
        }
    }

    /// <summary>A small frame that only this delivery holds (a message with one receiver) is copied; a
    /// frame shared with other subscribers stays shared, as copying it once per subscriber on the
    /// publisher's thread costs more than the writers' sharing it.</summary>
    private static bool IsCopied(MessageFrame frame) => frame.Length <= Tuning.CopyFrameBytes && frame.References == 1;

    /// <summary>Turns staged frames into segments, in order: runs of small frames copied into chunks
    /// (each frame released once copied), a lone or large frame as it is. Each frame is either in
    /// <paramref name="segments"/> or released when this returns or throws.</summary>
    private static void Gather(ReadOnlySpan<MessageFrame> frames, List<OutputSegment> segments)
    {
        var i = 0;
        try
        {
            while (i < frames.Length)
            {
                var run = 0;
                var bytes = 0;
                while (i + run < frames.Length && IsCopied(frames[i + run]) && bytes + frames[i + run].Length <= Tuning.ChunkBytes)
                {
                    bytes += frames[i + run].Length;
                    run++;
                }

                if (run < 2)
                {
                    segments.Add(OutputSegment.OfFrame(frames[i]));
                    i++;
                    continue;
                }

                var chunk = ArrayPool<byte>.Shared.Rent(bytes);
                var at = 0;
                for (var end = i + run; i < end; i++)
                {
                    frames[i].Span.CopyTo(chunk.AsSpan(at));
                    at += frames[i].Length;
                    frames[i].Release();
                }

                segments.Add(OutputSegment.OfArray(chunk, bytes, pooled: true));
            }
        }
        finally
        {
            for (; i < frames.Length; i++)
            {
                frames[i].Release();
            }
        }
    }

    /// <summary>
    /// Appends to the list this segment belongs in: behind the unsubscribe barrier, unless it comes
    /// from a batch the barrier waits for (its deliveries go ahead of the confirmation). A small reply
    /// is copied into the room of the list's last reply array.
    /// </summary>
    private void AddLocked(OutputSegment segment, DeliveryBatch? batch)
    {
        var deferred = _awaited is { Count: > 0 } awaited && (batch is null || !awaited.Contains(batch));
        var list = deferred ? _deferred : _pending;
        if (segment.Frame is null && segment.Length <= Tuning.PackReplyBytes && list.Count > 0 && list[^1].Room >= segment.Length)
        {
            list[^1] = list[^1].Append(segment.Span);
            segment.Release();
            return;
        }

        list.Add(segment);
        if (deferred)
        {
            _deferredHeld += segment.Held;
        }
        else
        {
            _pendingHeld += segment.Held;
        }

        UpdateHeldLocked();
    }

    private void UpdateHeldLocked() => Volatile.Write(ref _held, _pendingHeld + _deferredHeld + _sendingHeld);

    /// <summary>After queuing: wakes an idle writer, or, for a batch that sends inline on plain TCP,
    /// leaves the send to the batch's end.</summary>
    private Queued WakeLocked(DeliveryBatch? batch)
    {
        if (!_waiting || !CanSendLocked())
        {
            return Queued.Yes;
        }

        if (_socket is not null && batch is { SendsInline: true })
        {
            if (_sendScheduled)
            {
                return Queued.Yes;
            }

            _sendScheduled = true;
            return Queued.SendAtBatchEnd;
        }

        WakeWriterLocked();
        return Queued.Yes;
    }

    /// <summary>Outside the lock: reports a passed limit (off the caller's thread) and returns <paramref name="queued"/>.</summary>
    private Queued Report(Queued queued, string? reason)
    {
        if (reason is not null)
        {
            End(ConnectionEnd.OutputBufferLimit, reason);
        }

        return queued;
    }

    /// <summary>Tells the connection, once and on the thread pool, that its output ended it.</summary>
    private void End(ConnectionEnd end, string reason)
        => ThreadPool.UnsafeQueueUserWorkItem(static s => s.Ended(s.End, s.Reason), (Ended: _ended, End: end, Reason: reason), preferLocal: false);

    // ---- The unsubscribe barrier ----

    /// <summary>
    /// Called by <see cref="FanOutTracker.AwaitFanOuts"/> under its lock: from now on what this
    /// connection queues waits until <paramref name="batch"/> has queued what it staged. Returns false
    /// when already waiting for it (or closed): the batch then need not report back. The cluster link
    /// raises the same barrier with a token of its own (not a batch) while a SUBSCRIBE's confirmation
    /// waits for NATS, and lifts it with <see cref="BatchPassed"/>.
    /// </summary>
    public bool Await(object batch)
    {
        lock (_lock)
        {
            if (_dropped || (_awaited ??= []).Contains(batch))
            {
                return false;
            }

            _awaited.Add(batch);
            _barrierUp = true;
            return true;
        }
    }

    /// <summary><paramref name="batch"/> has queued everything it staged before the barrier: once no
    /// batch is awaited, what waited behind the barrier becomes sendable, in order.</summary>
    public void BatchPassed(object batch)
    {
        lock (_lock)
        {
            if (_awaited is null || !_awaited.Remove(batch) || _awaited.Count > 0)
            {
                return;
            }

            _barrierUp = false;
            _pending.AddRange(_deferred);
            _pendingHeld += _deferredHeld;
            _deferredHeld = 0;
            _deferred.Clear();
            TrimLocked(ref _deferred);
            WakeWriterLocked();
            WakeReaderLocked();
        }
    }

    // ---- Hold, complete, abort ----

    /// <summary>
    /// Keeps the writer from sending until <see cref="Release"/>; queuing goes on. SUBSCRIBE holds the
    /// output while it queues confirmations and registers, so no message overtakes a confirmation and
    /// a client that has read one can rely on the next PUBLISH reaching it.
    /// </summary>
    public void Hold()
    {
        lock (_lock)
        {
            _holds++;
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            _holds--;
            WakeWriterLocked();
        }
    }

    /// <summary>No more output: the writer sends what is queued (after the barrier, if any) and ends.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            _completed = true;
            WakeWriterLocked();
            WakeReaderLocked();
        }
    }

    /// <summary>Drops everything queued (the connection is being aborted) and stops the writer.</summary>
    public void Abort()
    {
        lock (_lock)
        {
            DropLocked();
        }
    }

    /// <summary>Gives back everything queued and stops the writer; nothing is queued from now on.</summary>
    private Queued DropLocked()
    {
        if (!_dropped)
        {
            _dropped = true;
            OutputSegment.ReleaseAll(_pending);
            OutputSegment.ReleaseAll(_deferred);
            _awaited = null;
            _barrierUp = false;
            _pendingHeld = 0;
            _deferredHeld = 0;
            UpdateHeldLocked();
            WakeWriterLocked();
            WakeReaderLocked();
        }

        return Queued.No;
    }

    /// <summary>A list whose capacity grew past <see cref="Tuning.KeptQueueCapacity"/> is replaced once empty.</summary>
    private static void TrimLocked(ref List<OutputSegment> list)
    {
        if (list.Count == 0 && list.Capacity > Tuning.KeptQueueCapacity)
        {
            list = [];
        }
    }

    private string? CheckLimitLocked()
    {
        var limit = _limit();
        if (limit.IsUnlimited)
        {
            return null;
        }

        var used = _held;
        if (limit.HardBytes > 0 && used >= limit.HardBytes)
        {
            return $"output buffer of {used} bytes reached the hard limit of {limit.HardBytes} bytes";
        }

        if (limit.SoftBytes > 0 && used >= limit.SoftBytes)
        {
            var now = Environment.TickCount64;
            if (_softLimitSince == 0)
            {
                _softLimitSince = now;
            }
            else if (now - _softLimitSince > limit.SoftSeconds * 1000L)
            {
                return $"output buffer stayed over the soft limit of {limit.SoftBytes} bytes for more than {limit.SoftSeconds} s";
            }
        }
        else
        {
            _softLimitSince = 0;
        }

        return null;
    }
}
