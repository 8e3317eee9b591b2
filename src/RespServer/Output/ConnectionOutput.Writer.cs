using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Notistream.RespServer.Output;

/// <summary>The writer: the one loop that waits for the queue and sends it (plain TCP: the socket; TLS and tests: a pipe).</summary>
internal sealed partial class ConnectionOutput
{
    private List<OutputSegment> _writing = [];
    private Socket? _socket;

    /// <summary>The writer is parked on <see cref="_signal"/>; whoever makes <see cref="CanSendLocked"/> or
    /// <see cref="IsFinishedLocked"/> true wakes it (<see cref="WakeWriterLocked"/>).</summary>
    private bool _waiting;

    /// <summary>The connection's read loop waits here: for the queue to drain (<see cref="WaitForDrainAsync"/>,
    /// <see cref="_drainedAt"/> set) or for the barrier to lift (<see cref="WaitForBarrierAsync"/>,
    /// <see cref="_readerAwaitsBarrier"/> set); one at a time.</summary>
    private readonly WriterSignal _readerSignal = new();
    private long _drainedAt = -1;
    private bool _readerAwaitsBarrier;

    /// <summary>
    /// Follow loops wait here for the queue to drain (<see cref="WaitForFollowDrainAsync"/>): a task, not a
    /// reusable signal, because after RESET and a new NOTI.SUBSCRIBE a stopping loop and a new one can wait at
    /// once; both are woken.
    /// </summary>
    private TaskCompletionSource? _followDrained;
    private long _followDrainedAt = -1;

    /// <summary>
    /// The wake predicate, the one place that says when queued bytes may be sent: something is
    /// pending, no inline send holds the queue, and no SUBSCRIBE holds the output (a completed
    /// output is sent whatever holds it).
    /// </summary>
    private bool CanSendLocked() => !_dropped && !_inlineSending && _pending.Count > 0 && (_holds == 0 || _completed);

    /// <summary>Completed and everything sent: the writer ends (nothing waits behind a barrier either).</summary>
    private bool IsFinishedLocked() => _dropped
        || (_completed && !_inlineSending && _pending.Count == 0 && _deferred.Count == 0 && _awaited is not { Count: > 0 });

    /// <summary>Hands the pending segments to a sender: <paramref name="spare"/> (empty) becomes the pending
    /// list, and their held bytes count as being sent until the sender subtracts <paramref name="held"/>.</summary>
    private List<OutputSegment> TakePendingLocked(ref List<OutputSegment> spare, out long held)
    {
        var batch = _pending;
        _pending = spare;
        spare = batch;
        held = _pendingHeld;
        _pendingHeld = 0;
        _sendingHeld += held;
        return batch;
    }

    private void WakeWriterLocked()
    {
        if (_waiting && (CanSendLocked() || IsFinishedLocked()))
        {
            _waiting = false;
            _signal.Set();
        }
    }

    /// <summary>Writes the queue into <paramref name="writer"/> (TLS, tests) until completed or dropped.</summary>
    public Task RunAsync(PipeWriter writer) => RunAsync(writer, null);

    /// <summary>
    /// Sends the queue straight to <paramref name="socket"/> (plain TCP) until completed or dropped:
    /// the writer's own thread makes the send call, with no pipe and no second hop to a send loop
    /// between a published frame and the kernel. Small segments are gathered into one send.
    /// </summary>
    public Task RunAsync(Socket socket) => RunAsync(null, socket);

    private async Task RunAsync(PipeWriter? writer, Socket? socket)
    {
        try
        {
            await WriteLoopAsync(writer, socket).ConfigureAwait(false);
        }
        finally
        {
            // Whatever ended the writer, nothing queued later can be sent: give it all back now.
            lock (_lock)
            {
                DropLocked();
            }
        }
    }

    private async Task WriteLoopAsync(PipeWriter? writer, Socket? socket)
    {
        if (socket is not null)
        {
            // Sends from a batch's thread must never wait for the socket (SendScheduled); the
            // writer's own sends are asynchronous and unaffected.
            try
            {
                socket.Blocking = false;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return; // aborted before the writer started
            }

            lock (_lock)
            {
                _socket = socket;
            }
        }

        while (true)
        {
            List<OutputSegment> batch;
            long held;
            ValueTask wait;
            lock (_lock)
            {
                if (IsFinishedLocked())
                {
                    return;
                }

                if (!CanSendLocked())
                {
                    _waiting = true;
                    wait = _signal.Arm();
                    batch = null!;
                    held = 0;
                }
                else
                {
                    wait = default;
                    batch = TakePendingLocked(ref _writing, out held);
                }
            }

            if (batch is null)
            {
                await wait.ConfigureAwait(false);
                continue;
            }

            long bytes;
            bool open;
            Exception? failure = null;
            try
            {
                if (socket is not null)
                {
                    (bytes, open) = await SendBatchAsync(socket, batch).ConfigureAwait(false);
                }
                else
                {
                    // Written and flushed here rather than in an async helper: no state machine per batch.
                    bytes = WriteBatch(writer!, batch);
                    open = !ConnectionErrors.IsPipeClosed(await writer!.FlushAsync().ConfigureAwait(false));
                }
            }
            catch (Exception ex)
            {
                // The batch's segments were given back by the send. Not only a peer's error: whatever
                // ended the writer, the connection must not stay subscribed with no output.
                (bytes, open) = (0, false);
                failure = ConnectionErrors.IsConnectionError(ex) ? null : ex;
            }

            lock (_lock)
            {
                TrimLocked(ref _writing);
                _sendingHeld -= held;
                SentLocked(bytes);
            }

            if (!open)
            {
                Ended(ConnectionEnd.WriteFailed, failure is null ? "a send to the client failed" : $"the writer failed: {failure}");
                return;
            }
        }
    }

    /// <summary>A send failed: the queue is dropped and the connection told, so it leaves every
    /// subscriber list instead of being counted as a receiver whose output goes nowhere.</summary>
    private void Ended(ConnectionEnd end, string reason)
    {
        bool first;
        lock (_lock)
        {
            first = !_dropped;
            DropLocked();
        }

        if (first)
        {
            End(end, reason);
        }
    }

    /// <summary>
    /// Sends the batch: small segments copied together into one scratch buffer per send, large ones
    /// sent from their own memory. Every segment is given back, whatever happens. Open is false when
    /// the connection is gone (reset, closed, aborted).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<(long Bytes, bool Open)> SendBatchAsync(Socket socket, List<OutputSegment> batch)
    {
        long bytes = 0;
        var scratch = ArrayPool<byte>.Shared.Rent(Tuning.SendScratchBytes);
        try
        {
            var filled = 0;
            foreach (var segment in batch)
            {
                bytes += segment.Length;
                var direct = segment.Length >= Tuning.DirectSendBytes;
                if (direct || filled + segment.Length > scratch.Length)
                {
                    await SendAllAsync(socket, scratch.AsMemory(0, filled)).ConfigureAwait(false);
                    filled = 0;
                }

                if (direct)
                {
                    await SendAllAsync(socket, segment.Memory).ConfigureAwait(false);
                }
                else
                {
                    segment.Span.CopyTo(scratch.AsSpan(filled));
                    filled += segment.Length;
                }
            }

            await SendAllAsync(socket, scratch.AsMemory(0, filled)).ConfigureAwait(false);
            return (bytes, true);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return (bytes, false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
            OutputSegment.ReleaseAll(batch);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None).ConfigureAwait(false);
            if (sent <= 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            bytes = bytes[sent..];
        }
    }

    /// <summary>Copies the batch into the pipe and gives every segment back, even when the pipe throws.</summary>
    private static long WriteBatch(PipeWriter writer, List<OutputSegment> batch)
    {
        long bytes = 0;
        try
        {
            foreach (var segment in batch)
            {
                writer.Write(segment.Span);
                bytes += segment.Length;
            }
        }
        finally
        {
            OutputSegment.ReleaseAll(batch);
        }

        return bytes;
    }

    /// <summary>Accounts for <paramref name="bytes"/> handed to the socket; wakes a read side waiting for the drain.</summary>
    private void SentLocked(long bytes)
    {
        _totalBytesWritten += bytes;
        UpdateHeldLocked();
        if (_held <= _drainedAt)
        {
            WakeReaderLocked();
        }

        if (_held <= _followDrainedAt)
        {
            WakeFollowerLocked();
        }
    }

    /// <summary>
    /// Read-side backpressure (as Kestrel pauses reading while its output is full): completes once the
    /// memory held is at or below <paramref name="lowWater"/>, or the output is completed, dropped or
    /// <see cref="WakeReader"/> is called. One waiter: the connection's read loop.
    /// </summary>
    public ValueTask WaitForDrainAsync(long lowWater)
    {
        lock (_lock)
        {
            if (_dropped || _completed || _held <= lowWater)
            {
                return default;
            }

            _drainedAt = lowWater;
            return _readerSignal.Arm();
        }
    }

    /// <summary>Completes once the unsubscribe barrier has lifted, or the output is completed or dropped,
    /// or <see cref="WakeReader"/> is called. One waiter: the connection's read loop.</summary>
    public ValueTask WaitForBarrierAsync()
    {
        lock (_lock)
        {
            if (_dropped || _completed || !_barrierUp)
            {
                return default;
            }

            _readerAwaitsBarrier = true;
            return _readerSignal.Arm();
        }
    }

    /// <summary>Ends a <see cref="WaitForDrainAsync"/> or <see cref="WaitForBarrierAsync"/> early (the connection is closing).</summary>
    public void WakeReader()
    {
        lock (_lock)
        {
            WakeReaderLocked();
        }
    }

    /// <summary>
    /// Completes once the memory held is at or below <paramref name="lowWater"/>, or the output is completed
    /// or dropped, or <see cref="WakeFollower"/> is called. One waiter: the connection's follow loop, which
    /// pulls no more from the histories while its client has not taken what was queued.
    /// </summary>
    public Task WaitForFollowDrainAsync(long lowWater)
    {
        lock (_lock)
        {
            if (_dropped || _completed || _held <= lowWater)
            {
                return Task.CompletedTask;
            }

            _followDrainedAt = Math.Max(_followDrainedAt, lowWater);
            _followDrained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _followDrained.Task;
        }
    }

    /// <summary>Whether nothing more will be sent (completed or dropped): a follow loop then ends.</summary>
    public bool IsFinished
    {
        get
        {
            lock (_lock)
            {
                return _dropped || _completed;
            }
        }
    }

    /// <summary>Ends every <see cref="WaitForFollowDrainAsync"/> early (a follower stops).</summary>
    public void WakeFollower()
    {
        lock (_lock)
        {
            WakeFollowerLocked();
        }
    }

    private void WakeFollowerLocked()
    {
        if (_followDrained is { } drained)
        {
            _followDrained = null;
            _followDrainedAt = -1;
            drained.SetResult();
        }
    }

    private void WakeReaderLocked()
    {
        // Whatever ends the read side's wait (completion, a drop, the connection's end) ends the follow loop's too.
        WakeFollowerLocked();
        if (_drainedAt >= 0 || _readerAwaitsBarrier)
        {
            _drainedAt = -1;
            _readerAwaitsBarrier = false;
            _readerSignal.Set();
        }
    }
}
