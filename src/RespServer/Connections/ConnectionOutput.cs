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
/// message frames) call <see cref="Enqueue(byte[], int, bool)"/> and <see cref="Enqueue(MessageFrame)"/>;
/// both only take <see cref="_lock"/> and append a reference, so neither ever waits for the socket.
/// Who reads: <see cref="RunAsync"/>, the only code that touches the PipeWriter; it swaps the queue
/// out under the lock, writes it all, and flushes once per batch. The lock protects the queue, the
/// byte count and the soft-limit clock.
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
    private readonly object _lock = new();
    private readonly WriterSignal _signal = new();
    private readonly Func<OutputBufferLimit> _limit;
    private readonly Action<string> _overLimit;
    private List<Segment> _pending = [];
    private List<Segment> _writing = [];
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

    public long TotalBytesWritten { get; private set; }

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
            else if (_waiting && _holds == 0)
            {
                _waiting = false;
                _signal.Set();
            }
        }

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

                if (_pending.Count == 0 || (_holds > 0 && !_completed))
                {
                    if (_completed)
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

            TotalBytesWritten += bytes;
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
