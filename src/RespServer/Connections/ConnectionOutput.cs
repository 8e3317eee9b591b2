using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Connections;

/// <summary>
/// The output side of one connection: a byte-bounded queue and its single writer.
/// <para>
/// Who writes: the connection's read loop (a batch of replies) and any publisher's thread (shared
/// message frames) call <see cref="Enqueue(byte[], int, bool)"/> and <see cref="Enqueue(MessageFrame)"/>,
/// or, for all the messages one publisher's batch delivered here, <see cref="EnqueueStaged"/>; each
/// only takes <see cref="_lock"/> once and appends references, so none ever waits for the socket.
/// Who reads: <see cref="RunAsync"/>, the only code that touches the PipeWriter; it swaps the queue
/// out under the lock, writes it all, and flushes once per batch. The lock protects the queue, the
/// byte count and the soft-limit clock.
/// </para>
/// <para>
/// On plain TCP a second sender exists: a message or reply queued while the writer is idle, from
/// inside a <see cref="PublishFlush"/> batch, does not wake the writer; the thread running that batch
/// sends it at the end of the batch (<see cref="SendScheduled"/>) with non-blocking sends, and whatever
/// the socket does not take goes back to the head of the queue for the writer. At most one of the
/// two sends at a time (<see cref="_inlineSending"/> keeps the writer waiting), so bytes leave in
/// queue order.
/// </para>
/// <para>
/// Ownership: a queued reply array (pooled) or message frame (one reference) belongs to the queue
/// until it is written or dropped, and is then given back exactly once: by the writer after
/// copying it to the pipe, or by <see cref="Abort"/>, an over-limit drop, or the writer's exit.
/// </para>
/// When the queued bytes pass the client-output-buffer-limit of the client's class the queue is
/// dropped and the connection is closed, as Redis does, so a subscriber that never reads costs at
/// most the hard limit.
/// </summary>
internal sealed class ConnectionOutput
{
    // System.Threading.Lock rather than a Monitor on an object: publishers and the writer contend for
    // it (notistream-loadgen fan-out, interleaved on fresh servers: to one subscriber 1.58 against
    // 1.53 million deliveries/s, medians of 15, higher in 11 of 15 pairs; to 50, 11.55 against 11.39
    // million with less CPU in each of 8 pairs).
    private readonly Lock _lock = new();
    private readonly WriterSignal _signal = new();
    private readonly Func<OutputBufferLimit> _limit;
    private readonly Action<string> _overLimit;
    private List<Segment> _pending = [];
    private List<Segment> _writing = [];
    private List<Segment> _inline = [];
    private Socket? _socket;
    private bool _flushScheduled;
    private bool _inlineSending;
    private long _totalBytesWritten;
    private long _bufferedBytes;
    private long _queuedItems;
    private long _softLimitSince;
    private int _holds;
    private bool _waiting;
    private bool _completed;
    private bool _dropped;

    // Read-side backpressure: the read loop waits here until the writer has drained the queue.
    private readonly WriterSignal _drained = new();
    private long _drainedAt = -1;

    /// <param name="limit">the limit that applies now (pub/sub or normal class)</param>
    /// <param name="overLimit">called once, off the caller's thread, when the limit is passed</param>
    public ConnectionOutput(Func<OutputBufferLimit> limit, Action<string> overLimit)
    {
        _limit = limit;
        _overLimit = overLimit;
    }

    /// <summary>Bytes queued or handed to the socket pipe and not yet flushed (CLIENT LIST omem).</summary>
    public long BufferedBytes => Volatile.Read(ref _bufferedBytes);

    /// <summary>Entries waiting in the queue (CLIENT LIST oll).</summary>
    public long QueuedItems => Volatile.Read(ref _queuedItems);

    public long TotalBytesWritten => Volatile.Read(ref _totalBytesWritten);

    /// <summary>Queues <paramref name="length"/> bytes of <paramref name="array"/>; a pooled array goes back to
    /// the pool once written or dropped. Returns false when the output is closed or over its limit.</summary>
    public bool Enqueue(byte[] array, int length, bool pooled) => Enqueue(new Segment(array, null, length, pooled));

    /// <summary>Queues the connection's last replies and completes the output in one step, so nothing
    /// (a message published meanwhile) can be queued after them (Redis's CLIENT_CLOSE_AFTER_REPLY).</summary>
    public void EnqueueLast(byte[] array, int length, bool pooled)
    {
        Enqueue(new Segment(array, null, length, pooled), complete: true);
        Complete();
    }

    /// <summary>Queues a shared message frame, taking a reference to it that is released once the frame is
    /// written or dropped. Returns false, without taking a reference, when the output is closed; false
    /// too when this frame passes the limit (the queue, this frame included, is then dropped).</summary>
    public bool Enqueue(MessageFrame frame) => Enqueue(new Segment(null, frame, frame.Length, pooled: false));

    private bool Enqueue(Segment segment, bool complete = false)
    {
        string? reason = null;
        PublishFlush? schedule = null;
        lock (_lock)
        {
            if (_completed || _dropped)
            {
                if (segment.Frame is null)
                {
                    segment.Release();
                }

                return false;
            }

            segment.Frame?.AddRef();
            _pending.Add(segment);
            _bufferedBytes += segment.Length;
            _queuedItems++;
            _completed |= complete;
            reason = CheckLimit();
            if (reason is not null)
            {
                DropLocked();
            }
            else
            {
                schedule = WakeLocked();
            }
        }

        return Queued(schedule, reason);
    }

    /// <summary>Frames up to this size are copied together into one chunk by <see cref="EnqueueStaged"/>;
    /// larger ones are queued as they are, shared.</summary>
    private const int CopyFrameBytes = 4 * 1024;

    /// <summary>The size of the chunks that frames are copied into: below <c>SendBatchAsync</c>'s
    /// direct-send size, so the writer still gathers chunks into one send.</summary>
    private const int ChunkBytes = 15 * 1024;

    [ThreadStatic]
    private static List<Segment>? t_staged;

    /// <summary>
    /// Queues the frames one publisher's batch delivered to this connection
    /// (<see cref="PublishFlush.Stage"/>), in order, under one acquisition of the lock, and takes over
    /// the caller's reference to each of them. Two or more small frames are first copied into pooled
    /// chunks on the caller's thread, which made them: the frames go back to that thread's pools at
    /// once instead of each travelling to the writer's core and back, and the writer has one segment
    /// to send and give back per chunk. Returns false when the output is closed or passed its limit.
    /// </summary>
    public bool EnqueueStaged(ReadOnlySpan<MessageFrame> frames)
    {
        var segments = t_staged ??= [];
        try
        {
            Gather(frames, segments);
            string? reason = null;
            PublishFlush? schedule = null;
            lock (_lock)
            {
                if (_completed || _dropped)
                {
                    return false;
                }

                var taken = 0;
                foreach (var segment in segments)
                {
                    _pending.Add(segment);
                    _bufferedBytes += segment.Length;
                    _queuedItems++;
                    taken++;
                    reason = CheckLimit();
                    if (reason is not null)
                    {
                        DropLocked();
                        break;
                    }
                }

                // What was queued is the queue's now (and, after a drop, already given back).
                segments.RemoveRange(0, taken);
                if (reason is null)
                {
                    schedule = WakeLocked();
                }
            }

            return Queued(schedule, reason);
        }
        finally
        {
            ReleaseAll(segments);
            segments.Clear();
        }
    }

    /// <summary>A small frame that only this delivery holds (a message with one receiver) is copied; a
    /// frame shared with other subscribers stays shared, as copying it once per subscriber on the
    /// publisher's thread costs more than the writers' sharing it.</summary>
    private static bool IsCopied(MessageFrame frame) => frame.Length <= CopyFrameBytes && frame.References == 1;

    /// <summary>Turns staged frames into segments, in order: runs of small frames copied into chunks
    /// (each frame released once copied), a lone or large frame as it is.</summary>
    private static void Gather(ReadOnlySpan<MessageFrame> frames, List<Segment> segments)
    {
        var i = 0;
        while (i < frames.Length)
        {
            var run = 0;
            var bytes = 0;
            while (i + run < frames.Length && IsCopied(frames[i + run]) && bytes + frames[i + run].Length <= ChunkBytes)
            {
                bytes += frames[i + run].Length;
                run++;
            }

            if (run < 2)
            {
                var frame = frames[i++];
                segments.Add(new Segment(null, frame, frame.Length, pooled: false));
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

            segments.Add(new Segment(chunk, null, bytes, pooled: true));
        }
    }

    /// <summary>After something was queued: wakes an idle writer, or, inside a <see cref="PublishFlush"/>
    /// batch on plain TCP, returns the batch that sends it instead.</summary>
    private PublishFlush? WakeLocked()
    {
        if (!_waiting || _holds > 0)
        {
            return null;
        }

        if (_socket is not null && PublishFlush.Current is { } flush)
        {
            // A message from a publisher, or a reply to the connection running the batch: the
            // batch's thread sends it when the batch ends; the writer sleeps on.
            if (_flushScheduled)
            {
                return null;
            }

            _flushScheduled = true;
            return flush;
        }

        _waiting = false;
        _signal.Set();
        return null;
    }

    /// <summary>Outside the lock, after queuing: schedules the batch's send, or reports the limit.</summary>
    private bool Queued(PublishFlush? schedule, string? reason)
    {
        schedule?.Add(this);
        if (reason is not null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Callback(s.Reason), (Callback: _overLimit, Reason: reason), preferLocal: false);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Keeps the writer from sending until <see cref="Release"/>; queuing goes on. SUBSCRIBE holds the
    /// output from queuing its confirmation until the subscription is registered, so a client that
    /// has read the confirmation can rely on the next PUBLISH reaching it, and no message can overtake
    /// the confirmation.
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
            if (--_holds == 0 && _waiting && _pending.Count > 0)
            {
                _waiting = false;
                _signal.Set();
            }
        }
    }

    /// <summary>No more output: <see cref="RunAsync"/> writes what is queued, flushes and returns.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            _completed = true;
            if (_waiting)
            {
                _waiting = false;
                _signal.Set();
            }

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
            // Sends from a publisher's thread must never wait for the socket (SendScheduled); the
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
            List<Segment> batch;
            ValueTask wait = default;
            var mustWait = false;
            lock (_lock)
            {
                if (_dropped)
                {
                    return;
                }

                if (_inlineSending || _pending.Count == 0 || (_holds > 0 && !_completed))
                {
                    if (_completed && !_inlineSending && _pending.Count == 0)
                    {
                        return;
                    }

                    _waiting = true;
                    wait = _signal.Arm();
                    mustWait = true;
                }

                batch = _pending;
                if (!mustWait)
                {
                    _pending = _writing;
                    _writing = batch;
                    _queuedItems = 0;
                }
            }

            if (mustWait)
            {
                await wait.ConfigureAwait(false);
                continue;
            }

            long bytes;
            bool open;
            if (socket is not null)
            {
                (bytes, open) = await SendBatchAsync(socket, batch).ConfigureAwait(false);
            }
            else
            {
                bytes = WriteBatch(writer!, batch);
                var flush = await writer!.FlushAsync().ConfigureAwait(false);
                open = !(flush.IsCompleted || flush.IsCanceled);
            }

            lock (_lock)
            {
                SentLocked(bytes);
            }

            if (!open)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Sends the batch: small segments copied together into one scratch buffer per send, large ones
    /// sent from their own memory. Every segment is given back, whatever happens. Returns false when
    /// the connection is gone (reset, closed, aborted).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(long Bytes, bool Open)> SendBatchAsync(Socket socket, List<Segment> batch)
    {
        const int Direct = 16 * 1024;
        long bytes = 0;
        var scratch = ArrayPool<byte>.Shared.Rent(SendChunk);
        try
        {
            var filled = 0;
            foreach (var segment in batch)
            {
                bytes += segment.Length;
                if (segment.Length >= Direct || filled + segment.Length > scratch.Length)
                {
                    await SendAllAsync(socket, scratch.AsMemory(0, filled)).ConfigureAwait(false);
                    filled = 0;
                }

                if (segment.Length >= Direct)
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
            foreach (var segment in batch)
            {
                segment.Release();
            }

            batch.Clear();
        }
    }

    private const int SendChunk = 64 * 1024;

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
    private static long WriteBatch(PipeWriter writer, List<Segment> batch)
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
            foreach (var segment in batch)
            {
                segment.Release();
            }

            batch.Clear();
        }

        return bytes;
    }

    /// <summary>Accounts for <paramref name="bytes"/> handed to the socket.</summary>
    private void SentLocked(long bytes)
    {
        _totalBytesWritten += bytes;
        _bufferedBytes -= bytes;
        if (_bufferedBytes < 0)
        {
            _bufferedBytes = 0;
        }

        if (_bufferedBytes <= _drainedAt)
        {
            WakeReaderLocked();
        }
    }

    /// <summary>Called once, instead of <see cref="SendScheduled"/>, by the <see cref="PublishFlush"/> this output
    /// was scheduled on: wakes the writer to send the queue from the thread pool.</summary>
    public void WakeScheduled()
    {
        lock (_lock)
        {
            _flushScheduled = false;
            if (_waiting && _holds == 0 && !_inlineSending && _pending.Count > 0)
            {
                _waiting = false;
                _signal.Set();
            }
        }
    }

    /// <summary>
    /// Called once by the <see cref="PublishFlush"/> this output was scheduled on: sends the queue from
    /// the caller's thread without blocking, unless the writer is busy, another thread is sending, or
    /// the output is held; in each of those cases the queue is already in hands that will send it.
    /// What the socket does not take goes back to the head of the queue and the writer is woken for it.
    /// Never throws.
    /// </summary>
    public void SendScheduled(byte[] scratch)
    {
        List<Segment> batch;
        Socket socket;
        lock (_lock)
        {
            _flushScheduled = false;
            if (_socket is null || _dropped || _inlineSending || !_waiting || _holds > 0 || _pending.Count == 0)
            {
                return;
            }

            batch = _pending;
            _pending = _inline;
            _inline = batch;
            _queuedItems = 0;
            _inlineSending = true;
            socket = _socket;
        }

        var (sent, carry, failed) = SendNonBlocking(socket, batch, scratch);
        lock (_lock)
        {
            _inlineSending = false;
            SentLocked(sent);
            if (failed)
            {
                // The connection is gone: the read loop sees it too and ends the connection.
                DropLocked();
            }
            else if (carry is not null && _dropped)
            {
                foreach (var segment in carry)
                {
                    segment.Release();
                }
            }
            else if (carry is not null)
            {
                _pending.InsertRange(0, carry);
                _queuedItems += carry.Count;
            }

            if (_waiting && ((_pending.Count > 0 && _holds == 0) || _completed || _dropped))
            {
                _waiting = false;
                _signal.Set();
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="batch"/> with non-blocking sends, gathering segments into
    /// <paramref name="scratch"/>. Each segment is given back once its bytes are copied or sent; the
    /// unsent rest (a copy of what the socket refused, then the segments not reached) is returned as
    /// the carry, in order. <paramref name="batch"/> is left empty.
    /// </summary>
    private static (long Sent, List<Segment>? Carry, bool Failed) SendNonBlocking(Socket socket, List<Segment> batch, byte[] scratch)
    {
        long sent = 0;
        var filled = 0;
        var next = 0;
        List<Segment>? carry = null;
        var failed = false;
        try
        {
            while (next < batch.Count && carry is null && !failed)
            {
                var segment = batch[next];
                if (filled > 0 && filled + segment.Length > scratch.Length)
                {
                    carry = SendScratch(socket, scratch, filled, ref sent, ref failed);
                    filled = 0;
                    continue;
                }

                if (segment.Length > scratch.Length)
                {
                    // Larger than the scratch buffer: left, with all after it, to the writer, which
                    // sends it from the shared frame (no copy per subscriber of a part the socket refused).
                    carry = SendScratch(socket, scratch, filled, ref sent, ref failed) ?? [];
                    filled = 0;
                    break;
                }

                next++;
                segment.Span.CopyTo(scratch.AsSpan(filled));
                filled += segment.Length;
                segment.Release();
            }

            if (carry is null && !failed && filled > 0)
            {
                carry = SendScratch(socket, scratch, filled, ref sent, ref failed);
            }

            if (failed)
            {
                ReleaseAll(carry);
                carry = null;
                for (; next < batch.Count; next++)
                {
                    batch[next].Release();
                }
            }
            else if (carry is not null)
            {
                for (; next < batch.Count; next++)
                {
                    carry.Add(batch[next]);
                }
            }
        }
        catch (Exception)
        {
            // Disposed under us (the connection was aborted) or anything unexpected: the connection's
            // output is over; give back what is left.
            failed = true;
            ReleaseAll(carry);
            carry = null;
            for (; next < batch.Count; next++)
            {
                batch[next].Release();
            }
        }

        batch.Clear();
        return (sent, carry, failed);
    }

    /// <summary>Sends the first <paramref name="filled"/> bytes of the scratch buffer; returns a carry
    /// holding a copy of what the socket did not take, or null when it took everything.</summary>
    private static List<Segment>? SendScratch(Socket socket, byte[] scratch, int filled, ref long sent, ref bool failed)
    {
        if (filled == 0)
        {
            return null;
        }

        var done = TrySend(socket, scratch.AsSpan(0, filled), ref failed);
        sent += done;
        return done < filled && !failed ? [CopyOf(scratch.AsSpan(done, filled - done))] : null;
    }

    /// <summary>Sends as much of <paramref name="bytes"/> as the socket takes now; never waits.</summary>
    private static int TrySend(Socket socket, ReadOnlySpan<byte> bytes, ref bool failed)
    {
        var total = 0;
        while (total < bytes.Length)
        {
            var sent = socket.Send(bytes[total..], SocketFlags.None, out var error);
            if (error == SocketError.Success && sent > 0)
            {
                total += sent;
            }
            else if (error == SocketError.Interrupted)
            {
                continue;
            }
            else
            {
                failed = error is not (SocketError.WouldBlock or SocketError.Success);
                break;
            }
        }

        return total;
    }

    private static Segment CopyOf(ReadOnlySpan<byte> bytes)
    {
        var array = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(array);
        return new Segment(array, null, bytes.Length, pooled: true);
    }

    private static void ReleaseAll(List<Segment>? segments)
    {
        if (segments is not null)
        {
            foreach (var segment in segments)
            {
                segment.Release();
            }
        }
    }

    private string? CheckLimit()
    {
        var limit = _limit();
        if (limit.IsUnlimited)
        {
            return null;
        }

        var used = _bufferedBytes;
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

    private void DropLocked()
    {
        if (_dropped)
        {
            return;
        }

        _dropped = true;
        foreach (var segment in _pending)
        {
            segment.Release();
        }

        _pending.Clear();
        _bufferedBytes = 0;
        _queuedItems = 0;
        if (_waiting)
        {
            _waiting = false;
            _signal.Set();
        }

        WakeReaderLocked();
    }

    /// <summary>
    /// Read-side backpressure (as Kestrel pauses reading while its output is full): completes once the
    /// queued bytes are at or below <paramref name="lowWater"/>, or the output is completed, dropped or
    /// <see cref="WakeReader"/> is called. One waiter: the connection's read loop.
    /// </summary>
    public ValueTask WaitForDrainAsync(long lowWater)
    {
        lock (_lock)
        {
            if (_dropped || _completed || _bufferedBytes <= lowWater)
            {
                return default;
            }

            _drainedAt = lowWater;
            return _drained.Arm();
        }
    }

    /// <summary>Ends a <see cref="WaitForDrainAsync"/> early (the connection is closing).</summary>
    public void WakeReader()
    {
        lock (_lock)
        {
            WakeReaderLocked();
        }
    }

    private void WakeReaderLocked()
    {
        if (_drainedAt >= 0)
        {
            _drainedAt = -1;
            _drained.Set();
        }
    }

    /// <summary>A queued reply array (pooled or not) or a shared message frame.</summary>
    private readonly struct Segment(byte[]? array, MessageFrame? frame, int length, bool pooled)
    {
        public MessageFrame? Frame => frame;

        public int Length => length;

        public ReadOnlySpan<byte> Span => frame is not null ? frame.Span : array.AsSpan(0, length);

        public ReadOnlyMemory<byte> Memory => frame is not null ? frame.Memory : array.AsMemory(0, length);

        /// <summary>Gives the segment back: the queue's reference to a frame, or a pooled array to its pool.</summary>
        public void Release()
        {
            if (frame is not null)
            {
                frame.Release();
            }
            else if (pooled)
            {
                ArrayPool<byte>.Shared.Return(array!);
            }
        }
    }
}
