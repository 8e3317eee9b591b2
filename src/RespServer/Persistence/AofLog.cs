using System.Buffers;
using System.Buffers.Text;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;

namespace Notistream.RespServer.Persistence;

/// <summary>
/// The append-only file: every change of the keyspace as the Redis command that replays its effect, in
/// Redis 7.0's multi-part format, so that a restart finds the streams as they were and redis-server loads the
/// same folder (docs/architecture.md, I12).
/// <para>
/// <b>Three sides, three owners.</b> Records are appended to <see cref="_buffer"/> by whoever changes the
/// keyspace, in the same hold of <see cref="KeyStore.Gate"/> (the record methods, AofLog.Records.cs), so the
/// log's order is the gate's order; nothing there does I/O. A committer (<see cref="CommitWrite"/>, on the
/// thread that is about to acknowledge, or the log's own thread) takes <see cref="_fileLock"/>, takes the
/// whole buffer in one short hold of the gate, seals it as one group (a <c>#crc32c</c> annotation after it)
/// and writes it with one positional write: everyone whose records were in it is then written (group commit).
/// The log's thread (<see cref="RunLogThread"/>) fsyncs outside both locks: once a second (everysec), or for
/// the connections that wait for it (always, <see cref="WaitDurableAsync"/>); and it retries a failed write
/// each second.
/// </para>
/// <para>
/// Positions (<see cref="AppendedPosition"/>, <see cref="WrittenPosition"/>, <see cref="SyncedPosition"/>) count
/// record bytes appended since the process started, annotations left out; a connection remembers the position
/// after its own records and waits until the log is written, or synced, past it.
/// </para>
/// </summary>
internal sealed partial class AofLog : IDisposable
{
    /// <summary>Bytes kept free at the end of the buffer so a group's annotation is written in the same array.</summary>
    private const int AnnotationRoom = 96;

    private const int InitialBuffer = 16 * 1024;

    /// <summary>Buffers larger than this are given back after a commit instead of being reused.</summary>
    private const int KeptBuffer = 1024 * 1024;

    private readonly KeyStore _keys;
    private readonly RespServerOptions _options;
    private readonly ILogger _logger;

    // ---- Under KeyStore.Gate: the records not yet taken by a committer. ----

    /// <summary>Whether changes are recorded: appendonly is on (or being turned on). Under the gate.</summary>
    private bool _logging;

    private byte[] _buffer = [];
    private int _used;

    /// <summary>The database the last record selected in the current file (-1: none yet, the next record selects).</summary>
    private int _selectedDb = -1;

    /// <summary>Where later records go to another file (a rewrite's switch): positions with their file. Under the gate.</summary>
    private List<(long Position, LogFile File)>? _switches;

    /// <summary>Record bytes appended since start; written under the gate, read anywhere.</summary>
    private long _appended;

    // ---- Under _fileLock: what is taken and not yet written, and the files written to. ----

    /// <summary>Held by a committer while it takes the buffer and writes it; taken before the gate, never under it.</summary>
    private readonly Lock _fileLock = new();

    /// <summary>The file records are written to now (the last incr file). Under <see cref="_fileLock"/>.</summary>
    private LogFile? _current;

    /// <summary>Groups taken from the buffer, not yet written (a failed write keeps them, in order). Under <see cref="_fileLock"/>.</summary>
    private readonly List<Chunk> _unwritten = [];

    /// <summary>Files that received their last byte and wait for the log's thread to sync and close them. Under <see cref="_fileLock"/>.</summary>
    private readonly List<LogFile> _retired = [];

    /// <summary>A spare buffer for the next take, given back by the last write. Under <see cref="_fileLock"/>.</summary>
    private byte[]? _spare;

    private long _written;
    private long _synced;

    /// <summary>errno of the last failed write, 0 when the last write succeeded. Written under <see cref="_fileLock"/>.</summary>
    private volatile int _writeErrno;

    /// <summary>errno of the last failed fsync, 0 when the last one succeeded. Written by the syncing thread.</summary>
    private volatile int _syncErrno;

    /// <summary>
    /// Set when an fsync that had failed succeeds again: on Linux the pages whose write-back failed may have
    /// been dropped and marked clean, so the file cannot be trusted until a rewrite has written everything anew
    /// from memory. Writes are refused meanwhile (the failure's MISCONF). <see cref="_suspectEpoch"/> counts the
    /// times it was set; a rewrite that started after the last of them clears it.
    /// </summary>
    private volatile int _suspectErrno;
    private long _suspectEpoch;

    // ---- The log's thread and the connections waiting for a sync (always). ----

    private readonly Lock _roundLock = new();

    /// <summary>Completed by the log's thread after its next write and sync: true if both succeeded. Under <see cref="_roundLock"/>.</summary>
    private TaskCompletionSource<bool> _nextRound = NewRound();

    private readonly AutoResetEvent _wake = new(false);
    private Thread? _thread;
    private volatile bool _stopping;

    /// <summary>The log is on: set by start-up and CONFIG SET appendonly (lifecycle), read anywhere (Volatile).</summary>
    private bool _on;

    // ---- Counters for INFO (Interlocked). ----
    private long _currentSize;
    private long _baseSize;
    private long _delayedSyncs;
    private int _syncInProgress;
    private long _writes;

    public AofLog(KeyStore keys, RespServerOptions options, ILogger logger)
    {
        _keys = keys;
        _options = options;
        _logger = logger;
        _crashPoint = Environment.GetEnvironmentVariable(CrashPointVariable);
    }

    /// <summary>A test's hook: every fsync of the log waits this long first (a slow disk that really runs).</summary>
    internal TimeSpan TestSyncDelay { get; set; }

    /// <summary>Tests only: the next fsync fails with this errno (then it is cleared).</summary>
    internal int TestSyncFailure { get; set; }

    /// <summary>Record bytes appended since start (the position after the last record).</summary>
    public long AppendedPosition => Volatile.Read(ref _appended);

    /// <summary>Record bytes written to the files (in the page cache at least).</summary>
    public long WrittenPosition => Volatile.Read(ref _written);

    /// <summary>Record bytes on the disk: written and fsynced.</summary>
    public long SyncedPosition => Volatile.Read(ref _synced);

    /// <summary>Whether every acknowledgement waits for an fsync (appendfsync always, while the log is on).</summary>
    public bool SyncsEachWrite => _options.AppendFsync == AppendFsync.Always && IsOn;

    /// <summary>Whether the log is on (appendonly yes, loaded and open, or being turned on).</summary>
    public bool IsOn => Volatile.Read(ref _on);

    /// <summary>
    /// Redis's writeCommandsDeniedByDiskError for the log: while the last write or fsync failed, commands that
    /// change the keyspace are refused with this error, "-MISCONF …" (null when they are accepted).
    /// </summary>
    public string? WriteRefusal
    {
        get
        {
            var errno = _writeErrno != 0 ? _writeErrno : _syncErrno != 0 ? _syncErrno : _suspectErrno;
            return errno == 0 || !IsOn ? null : "-MISCONF Errors writing to the AOF file: " + AofNative.Describe(errno);
        }
    }

    /// <summary>INFO persistence: aof_last_write_status.</summary>
    public bool LastWriteOk => _writeErrno == 0 && _syncErrno == 0 && _suspectErrno == 0;

    // ------------------------------------------------------------------ committing

    /// <summary>
    /// Makes sure every record up to <paramref name="target"/> is written to its file (write(2), the page cache),
    /// writing whatever is buffered so far, others' records too, in one write; false if the write failed (the
    /// bytes are kept and retried). Waits for <see cref="_fileLock"/> at most one write long; never called under
    /// the gate.
    /// </summary>
    public bool CommitWrite(long target)
    {
        if (Volatile.Read(ref _written) >= target)
        {
            return true;
        }

        lock (_fileLock)
        {
            if (_written < target)
            {
                TakeLocked();
                WriteLocked();
            }

            return _written >= target;
        }
    }

    /// <summary>
    /// Written and fsynced up to <paramref name="target"/>, on this thread: the fallback for a connection whose
    /// records were appended before appendfsync became always and which now queues them. Connections under
    /// always wait with <see cref="WaitDurableAsync"/> instead, without holding a thread.
    /// </summary>
    public bool CommitSync(long target)
    {
        if (Volatile.Read(ref _synced) >= target)
        {
            return true;
        }

        return CommitWrite(target) && SyncWritten() && Volatile.Read(ref _synced) >= target;
    }

    /// <summary>
    /// Completes once every record up to <paramref name="target"/> is written and fsynced (true), or once a write
    /// or fsync that had to cover it failed (false). The log's thread does the work, for every waiter at once;
    /// the caller's thread is not held.
    /// </summary>
    public async ValueTask<bool> WaitDurableAsync(long target)
    {
        while (Volatile.Read(ref _synced) < target)
        {
            if (!IsOn)
            {
                // Turned off meanwhile (CONFIG SET appendonly no): its last flush wrote and synced what was recorded.
                return true;
            }

            Task<bool> round;
            lock (_roundLock)
            {
                round = _nextRound.Task;
            }

            _wake.Set();
            if (!await round.ConfigureAwait(false))
            {
                return Volatile.Read(ref _synced) >= target;
            }
        }

        return true;
    }

    /// <summary>
    /// Takes everything buffered (one short hold of the gate), splits it where a rewrite switched files, and seals
    /// each part as one group: its checksum annotation goes right after it. The caller holds <see cref="_fileLock"/>.
    /// </summary>
    private void TakeLocked()
    {
        byte[] taken;
        int length;
        long end;
        StreamId generated;
        List<(long Position, LogFile File)>? switches;
        var fresh = _spare;
        _spare = null;
        lock (_keys.Gate)
        {
            if (_used == 0 && _switches is null)
            {
                _spare = fresh;
                return;
            }

            taken = _buffer;
            length = _used;
            end = _appended;
            switches = _switches;
            generated = _keys.LastGeneratedId;
            _buffer = fresh ?? [];
            _used = 0;
            _switches = null;
        }

        var start = end - length;
        var from = 0;
        var file = _current;
        foreach (var (position, next) in switches ?? [])
        {
            var at = (int)(position - start);
            if (at > from && file is not null)
            {
                _unwritten.Add(Seal(file, taken, from, at - from, start + at, generated, owner: false));
            }

            from = at;
            if (file is not null && !ReferenceEquals(file, next))
            {
                _retired.Add(file);
            }

            file = next;
        }

        _current = file;
        if (length > from && file is not null)
        {
            _unwritten.Add(Seal(file, taken, from, length - from, end, generated, owner: true));
        }
        else if (taken.Length > 0)
        {
            if (_unwritten.Count > 0)
            {
                _unwritten[^1] = _unwritten[^1] with { ReturnArray = taken };
            }
            else
            {
                GiveBack(taken);
            }
        }
    }

    /// <summary>
    /// One group: <paramref name="length"/> bytes of <paramref name="array"/> from <paramref name="offset"/>, and
    /// its annotation, <c>#crc32c:&lt;8 hex&gt; &lt;bytes&gt; &lt;generator's last id&gt;</c>. The annotation is
    /// written in the array right after the group when the group ends the array (there is always room), else
    /// in an array of its own.
    /// </summary>
    private static Chunk Seal(LogFile file, byte[] array, int offset, int length, long endPosition, StreamId generated, bool owner)
    {
        Span<byte> line = stackalloc byte[AnnotationRoom];
        var n = FormatAnnotation(line, Crc32C.Compute(array.AsSpan(offset, length)), length, generated);
        if (owner && array.Length - (offset + length) >= n)
        {
            line[..n].CopyTo(array.AsSpan(offset + length));
            return new Chunk(file, array, offset, length + n, endPosition, null, array);
        }

        return new Chunk(file, array, offset, length, endPosition, line[..n].ToArray(), owner ? array : null);
    }

    /// <summary>Writes the annotation line that ends a group; returns its length.</summary>
    internal static int FormatAnnotation(Span<byte> line, uint crc, long length, StreamId generated)
    {
        "#crc32c:"u8.CopyTo(line);
        var n = 8;
        Utf8Formatter.TryFormat(crc, line[n..], out var written, new System.Buffers.StandardFormat('x', 8));
        n += written;
        line[n++] = (byte)' ';
        Utf8Formatter.TryFormat(length, line[n..], out written);
        n += written;
        line[n++] = (byte)' ';
        n += generated.Format(line[n..]);
        line[n++] = (byte)'\r';
        line[n++] = (byte)'\n';
        return n;
    }

    /// <summary>
    /// Writes the groups taken, in order, each at its file's end; stops at the first failure, cutting the file
    /// back to its last whole group and keeping the rest for the next try. The caller holds <see cref="_fileLock"/>.
    /// </summary>
    private void WriteLocked()
    {
        var done = 0;
        try
        {
            for (; done < _unwritten.Count; done++)
            {
                var chunk = _unwritten[done];
                var file = chunk.File;
                try
                {
                    AofNative.WriteAt(file.Handle, chunk.Array.AsSpan(chunk.Offset, chunk.Length), file.Length);
                    if (chunk.Annotation is { } annotation)
                    {
                        AofNative.WriteAt(file.Handle, annotation, file.Length + chunk.Length);
                    }
                }
                catch (AofIoException ex)
                {
                    FailWrite(file, ex);
                    return;
                }

                var bytes = chunk.Length + (chunk.Annotation?.Length ?? 0);
                file.Length += bytes;
                Interlocked.Add(ref _currentSize, bytes);
                Interlocked.Increment(ref _writes);
                Volatile.Write(ref _written, chunk.EndPosition);
                if (chunk.ReturnArray is { } array)
                {
                    GiveBack(array);
                }
            }

            if (_writeErrno != 0)
            {
                _writeErrno = 0;
                Log.WriteRecovered(_logger);
            }
        }
        finally
        {
            _unwritten.RemoveRange(0, done);
        }
    }

    private void FailWrite(LogFile file, AofIoException ex)
    {
        // Whatever part of the group reached the file goes: the next try writes it again at the same offset.
        try
        {
            AofNative.Truncate(file.Handle, file.Length);
        }
        catch (AofIoException)
        {
            // A positional rewrite at the same offset covers the partial bytes anyway.
        }

        if (_writeErrno == 0)
        {
            Log.WriteFailed(_logger, file.Name, ex.Message);
        }

        _writeErrno = ex.Errno;
    }

    /// <summary>A buffer back to the spare slot (small ones) or the pool. The caller holds <see cref="_fileLock"/>.</summary>
    private void GiveBack(byte[] array)
    {
        if (array.Length == 0)
        {
            return;
        }

        if (_spare is null && array.Length <= KeptBuffer)
        {
            _spare = array;
        }
        else
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    /// <summary>
    /// fsyncs every file written so far (the current one and those a rewrite left) and moves <see cref="_synced"/>
    /// to what they hold; closes the retired files once synced. Runs outside both locks; false if an fsync failed.
    /// </summary>
    private bool SyncWritten()
    {
        long target;
        LogFile? current;
        LogFile[] retired;
        lock (_fileLock)
        {
            target = _written;
            current = _current;
            retired = [.. _retired];
        }

        Interlocked.Exchange(ref _syncInProgress, 1);
        try
        {
            if (TestSyncDelay > TimeSpan.Zero)
            {
                Thread.Sleep(TestSyncDelay);
            }

            if (TestSyncFailure != 0)
            {
                var errno = TestSyncFailure;
                TestSyncFailure = 0;
                throw new AofIoException(errno);
            }

            foreach (var file in retired)
            {
                try
                {
                    AofNative.SyncData(file.Handle);
                }
                catch (ObjectDisposedException)
                {
                    // Synced and closed by another sync meanwhile.
                }
            }

            if (current is not null)
            {
                AofNative.SyncData(current.Handle);
            }
        }
        catch (AofIoException ex)
        {
            if (_syncErrno == 0)
            {
                Log.SyncFailed(_logger, ex.Message);
            }

            _syncErrno = ex.Errno;
            return false;
        }
        finally
        {
            Interlocked.Exchange(ref _syncInProgress, 0);
        }

        if (_syncErrno != 0)
        {
            // A success after a failure does not prove the pages of the failed one reached the disk: rewrite.
            _suspectErrno = _syncErrno;
            Interlocked.Increment(ref _suspectEpoch);
            _syncErrno = 0;
            Log.SyncRecovered(_logger);
            StartRewrite();
        }

        AdvanceSynced(target);
        lock (_fileLock)
        {
            foreach (var file in retired)
            {
                if (!_unwritten.Any(c => ReferenceEquals(c.File, file)))
                {
                    _retired.Remove(file);
                    file.Dispose();
                }
            }
        }

        return true;
    }

    private void AdvanceSynced(long target)
    {
        var seen = Volatile.Read(ref _synced);
        while (seen < target)
        {
            var before = Interlocked.CompareExchange(ref _synced, target, seen);
            if (before == seen)
            {
                return;
            }

            seen = before;
        }
    }

    /// <summary>
    /// The log's thread: serves the connections waiting for a sync (always) as soon as they ask, and once a
    /// second writes what is buffered (the cron's records, a failed write's retry) and, under everysec, fsyncs.
    /// </summary>
    private void RunLogThread()
    {
        var nextTick = Environment.TickCount64 + 1000;
        while (!_stopping)
        {
            var wait = Math.Max(0, nextTick - Environment.TickCount64);
            var woken = _wake.WaitOne(TimeSpan.FromMilliseconds(Math.Min(wait, 1000)));
            if (_stopping)
            {
                break;
            }

            var tick = Environment.TickCount64 >= nextTick;
            if (!woken && !tick)
            {
                continue;
            }

            TaskCompletionSource<bool> round;
            lock (_roundLock)
            {
                round = _nextRound;
                _nextRound = NewRound();
            }

            var ok = false;
            try
            {
                lock (_fileLock)
                {
                    TakeLocked();
                    WriteLocked();
                    ok = _unwritten.Count == 0;
                }

                // A waiter asked (always); a second passed under everysec; a failed fsync to retry; a file a
                // rewrite left to sync and close. Nothing new since the last sync needs no other.
                var needSync = woken
                    || (tick && _options.AppendFsync == AppendFsync.EverySec)
                    || _syncErrno != 0
                    || HasRetired();
                if (ok && needSync && (Volatile.Read(ref _written) > Volatile.Read(ref _synced) || _syncErrno != 0 || HasRetired()))
                {
                    ok = SyncWritten();
                }
            }
            catch (Exception ex)
            {
                ok = false;
                Log.ThreadFailed(_logger, ex);
            }
            finally
            {
                round.TrySetResult(ok);
            }

            if (tick)
            {
                var late = Environment.TickCount64 - nextTick;
                if (late > 1000)
                {
                    // The last sync took longer than a second: the next one starts late.
                    Interlocked.Increment(ref _delayedSyncs);
                }

                nextTick = Environment.TickCount64 + 1000;
            }
        }
    }

    private bool HasRetired()
    {
        lock (_fileLock)
        {
            return _retired.Count > 0;
        }
    }

    private static TaskCompletionSource<bool> NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void StartThread()
    {
        if (_thread is not null)
        {
            return;
        }

        _thread = new Thread(RunLogThread) { IsBackground = true, Name = "aof" };
        _thread.Start();
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        var stopped = _thread?.Join(TimeSpan.FromSeconds(10)) ?? true;

        // A connection still waiting for a sync (one the shutdown aborted) is told it will not come.
        lock (_roundLock)
        {
            _nextRound.TrySetResult(false);
        }

        lock (_fileLock)
        {
            _current?.Dispose();
            _current = null;
            foreach (var file in _retired)
            {
                file.Dispose();
            }

            _retired.Clear();
        }

        if (stopped)
        {
            // Left to the finalizer when the thread is still in a sync that outlasted the wait.
            _wake.Dispose();
        }
    }

    // ------------------------------------------------------------------ INFO

    /// <summary>aof_current_size: the base and incr files' bytes.</summary>
    public long CurrentSize => Interlocked.Read(ref _currentSize);

    /// <summary>aof_base_size: their bytes after the last start or rewrite.</summary>
    public long BaseSize => Interlocked.Read(ref _baseSize);

    /// <summary>aof_buffer_length: record bytes appended and not yet written.</summary>
    public long BufferLength => Math.Max(0, AppendedPosition - WrittenPosition);

    /// <summary>aof_pending_bio_fsync: an fsync is running.</summary>
    public int SyncInProgress => Volatile.Read(ref _syncInProgress);

    /// <summary>aof_delayed_fsync: seconds whose fsync started late because the one before took longer than a second.</summary>
    public long DelayedSyncs => Interlocked.Read(ref _delayedSyncs);

    /// <summary>write(2)s of the log since start (a test checks they are per batch, not per message).</summary>
    public long Writes => Interlocked.Read(ref _writes);

    // ------------------------------------------------------------------ types

    /// <summary>An open log file: its handle and how many bytes it holds. Length under <see cref="_fileLock"/>.</summary>
    private sealed class LogFile(string name, Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length) : IDisposable
    {
        public string Name { get; set; } = name;

        public Microsoft.Win32.SafeHandles.SafeFileHandle Handle { get; } = handle;

        public long Length { get; set; } = length;

        public void Dispose() => Handle.Dispose();
    }

    /// <summary>
    /// A group to write: bytes of <see cref="Array"/>, the position after them, and the annotation when it is
    /// not in the array; <see cref="ReturnArray"/> goes back to the pool once written.
    /// </summary>
    private readonly record struct Chunk(LogFile File, byte[] Array, int Offset, int Length, long EndPosition, byte[]? Annotation, byte[]? ReturnArray);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Error writing to the AOF file {File}: {Error}")]
        public static partial void WriteFailed(ILogger logger, string file, string error);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "AOF write error looks solved, writes are accepted again.")]
        public static partial void WriteRecovered(ILogger logger);

        [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Fail to fsync the AOF file: {Error}")]
        public static partial void SyncFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "AOF fsync works again; writes are refused until a rewrite has written the whole keyspace anew (the pages of the failed fsync may be lost).")]
        public static partial void SyncRecovered(ILogger logger);

        [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "AOF rewritten after the fsync error: writes are accepted again.")]
        public static partial void SuspectCleared(ILogger logger);

        [LoggerMessage(EventId = 1206, Level = LogLevel.Error, Message = "The AOF thread failed")]
        public static partial void ThreadFailed(ILogger logger, Exception exception);
    }
}
