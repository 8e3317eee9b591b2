using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Persistence;

/// <summary>
/// The log's files over time: loading and opening them at start-up, a rewrite (BGREWRITEAOF, or automatic),
/// turning the log on and off at run time (CONFIG SET appendonly), the last flush at shutdown. Each of these
/// holds <see cref="_lifecycle"/> from start to end, so they follow one another; the manifest belongs to
/// whoever holds it. None runs on a connection's thread: a command only starts one.
/// <para>
/// <b>A rewrite</b> follows Redis 7.0 (aof.c): (1) a new, empty incr file is created and the manifest, now
/// listing it last, is written; (2) in one hold of the gate, later records are sent to that file and the
/// keyspace is captured (<see cref="KeyspaceSnapshot"/>); (3) outside every lock the snapshot is written to a
/// temp base file, fsynced, and renamed to the next base name; (4) the manifest is written with the new base
/// and the new incr file only, the old files listed as history; (5) the old files are deleted and the manifest
/// written without them. A crash at any point leaves a manifest whose files hold the whole keyspace: before
/// (4) the old base and every incr file, the new incr included; from (4) on, the new base and the new incr.
/// </para>
/// </summary>
internal sealed partial class AofLog
{
    /// <summary>A test's hook: the process kills itself (SIGKILL) when it reaches the named point of a rewrite.</summary>
    public const string CrashPointVariable = "NOTISTREAM_AOF_CRASH_AT";

    private readonly string? _crashPoint;

    /// <summary>Held for a whole start-up, rewrite, turning on or off, or shutdown.</summary>
    private readonly SemaphoreSlim _lifecycle = new(1, 1);

    /// <summary>The manifest as it is on the disk. Under <see cref="_lifecycle"/>.</summary>
    private AofManifest _manifest = new();

    /// <summary>1 from a rewrite's start (BGREWRITEAOF, automatic, turning the log on) to its end.</summary>
    private int _rewriting;

    /// <summary>Cancelled when the log is turned off or the server stops: a running rewrite gives up.</summary>
    private CancellationTokenSource _cancel = new();

    /// <summary>The background work started last (a rewrite, turning on or off); each waits for the one before. Under <see cref="_chainLock"/>.</summary>
    private Task _background = Task.CompletedTask;
    private readonly Lock _chainLock = new();
    private long _rewriteStarted = -1;
    private long _lastRewriteSeconds = -1;
    private long _rewrites;
    private long _rewriteFailures;
    private volatile bool _lastRewriteOk = true;
    private long _autoRewriteAfter;

    /// <summary>A rewrite is scheduled or running (INFO aof_rewrite_in_progress).</summary>
    public bool IsRewriting => Volatile.Read(ref _rewriting) != 0;

    private string Folder => Path.Combine(_options.Dir, _options.AppendDirname);

    private string Name => _options.AppendFilename;

    // ------------------------------------------------------------------ start-up

    /// <summary>
    /// With appendonly yes: loads the files the manifest lists (cutting a torn tail, or stopping start-up on
    /// damage with <see cref="ConfigException"/>), then opens the last incr file for the records to come, creating
    /// the folder, a base and an incr file and the manifest when there are none. Runs before the server listens.
    /// </summary>
    public void Start(ServerContext server, CommandTable commands)
    {
        if (!_options.AppendOnly)
        {
            return;
        }

        _lifecycle.Wait();
        try
        {
            CreateFolder();
            var manifestPath = Path.Combine(Folder, AofManifest.FileName(Name));
            if (File.Exists(manifestPath))
            {
                _manifest = ReadManifest(manifestPath);
            }

            RemoveLeftovers();
            var loader = new AofLoader(server, commands, _logger, Folder);
            loader.Load(_manifest);
            var total = loader.TotalSize;
            if (_manifest.Base is null && _manifest.Incrs.Count == 0)
            {
                var created = _manifest.NewBase(Name);
                using (var file = CreateFile(created.Name))
                {
                    total += file.Length;
                }

                Log.CreatingBase(_logger, created.Name);
            }

            LogFile current;
            if (_manifest.Incrs.LastOrDefault() is { } last && HasHeader(Path.Combine(Folder, last.Name)))
            {
                var path = Path.Combine(Folder, last.Name);
                current = new LogFile(last.Name, File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.Read), new FileInfo(path).Length);
                Log.OpeningIncr(_logger, last.Name);
            }
            else
            {
                // None yet, or one Redis wrote (without checksums): ours start a file of their own.
                var created = _manifest.NewIncr(Name);
                current = CreateFile(created.Name);
                total += current.Length;
                Log.CreatingIncr(_logger, created.Name);
            }

            _manifest.Persist(Folder, Name);
            Interlocked.Exchange(ref _currentSize, total);
            Interlocked.Exchange(ref _baseSize, loader.BaseSize);
            Open(current);
        }
        catch (IOException ex)
        {
            throw new ConfigException($"Can't open or create the append-only files in {Folder}: {ex.Message}");
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Records go to <paramref name="current"/> from now on.</summary>
    private void Open(LogFile current)
    {
        lock (_fileLock)
        {
            _current = current;
        }

        lock (_keys.Gate)
        {
            _logging = true;
            _selectedDb = -1;
        }

        Volatile.Write(ref _on, true);
        StartThread();
    }

    private AofManifest ReadManifest(string path)
    {
        try
        {
            return AofManifest.Parse(File.ReadAllBytes(path));
        }
        catch (AofManifestException ex)
        {
            Log.ManifestError(_logger);
            if (ex.Text is not null)
            {
                Log.ManifestLine(_logger, ex.Line, ex.Text);
            }

            Log.ManifestReason(_logger, ex.Message);
            throw new ConfigException($"*** FATAL AOF MANIFEST FILE ERROR ***\n{(ex.Text is null ? "" : $"Reading the manifest file, at line {ex.Line}\n>>> '{ex.Text}'\n")}{ex.Message}");
        }
    }

    /// <summary>
    /// What a crash can leave in the folder: temp files of a rewrite or of the manifest, the history files a
    /// finished rewrite had not deleted yet, and base or incr files a rewrite made but the manifest never listed.
    /// None holds anything the listed files lack. The caller holds <see cref="_lifecycle"/>.
    /// </summary>
    private void RemoveLeftovers()
    {
        var listed = new HashSet<string>(_manifest.Incrs.Select(f => f.Name));
        if (_manifest.Base is { } current)
        {
            listed.Add(current.Name);
        }

        foreach (var path in Directory.EnumerateFiles(Folder))
        {
            var name = Path.GetFileName(path);
            var ours = name.StartsWith(AofManifest.TempPrefix, StringComparison.Ordinal)
                || (name.StartsWith(Name + ".", StringComparison.Ordinal)
                    && (name.EndsWith(AofManifest.BaseSuffix + AofManifest.AofFormatSuffix, StringComparison.Ordinal)
                        || name.EndsWith(AofManifest.IncrSuffix + AofManifest.AofFormatSuffix, StringComparison.Ordinal)));
            if (ours && !listed.Contains(name))
            {
                Log.RemovingLeftover(_logger, name);
                File.Delete(path);
            }
        }

        if (_manifest.History.Count > 0)
        {
            _manifest.History.Clear();
            _manifest.Persist(Folder, Name);
        }
    }

    private void CreateFolder()
    {
        try
        {
            Directory.CreateDirectory(Folder);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.CantCreateFolder(_logger, Folder, ex.Message);
            throw new ConfigException($"Can't open or create append-only dir {Folder}: {ex.Message}");
        }
    }

    /// <summary>A new log file, its checksum header written and synced.</summary>
    private LogFile CreateFile(string name)
    {
        var handle = File.OpenHandle(Path.Combine(Folder, name), FileMode.Create, FileAccess.Write, FileShare.Read);
        try
        {
            AofNative.WriteAt(handle, AofFormat.Header, 0);
            AofNative.SyncData(handle);
            return new LogFile(name, handle, AofFormat.Header.Length);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static bool HasHeader(string path)
    {
        var header = AofFormat.Header;
        Span<byte> start = stackalloc byte[header.Length];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        return file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && start.SequenceEqual(header);
    }

    // ------------------------------------------------------------------ turning the log on and off at run time

    /// <summary>
    /// CONFIG SET appendonly yes: as Redis's startAppendOnly, a rewrite writes a base of the keyspace as it is now,
    /// while the records of later changes go to a temp incr file; once the base is on the disk, the temp file
    /// becomes the next incr file and the manifest lists both. Returns at once; the log counts as on from now
    /// (INFO aof_enabled, MISCONF). If the rewrite fails the log is turned off again and the log says why.
    /// </summary>
    public void Enable()
    {
        if (IsOn)
        {
            return;
        }

        Volatile.Write(ref _on, true);
        Interlocked.Increment(ref _rewriting);
        var cancel = _cancel.Token;
        Chain(() => EnableAsync(cancel));
    }

    private async Task EnableAsync(CancellationToken cancel)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        LogFile? temp = null;
        KeyspaceSnapshot? snapshot = null;
        try
        {
            StartRewriteClock();
            cancel.ThrowIfCancellationRequested();
            CreateFolder();
            var manifestPath = Path.Combine(Folder, AofManifest.FileName(Name));
            var manifest = File.Exists(manifestPath) ? AofManifest.Parse(await File.ReadAllBytesAsync(manifestPath, cancel).ConfigureAwait(false)) : new AofManifest();
            temp = CreateFile(AofManifest.TempPrefix + Name + AofManifest.IncrSuffix);
            lock (_keys.Gate)
            {
                _logging = true;
                _selectedDb = -1;
                (_switches ??= []).Add((_appended, temp));
                snapshot = KeyspaceSnapshot.Capture(_keys);
            }

            StartThread();
            Log.RewriteStarted(_logger);
            var incr = manifest.NewIncr(Name);
            WriteBase(snapshot, manifest, incr, cancel, () =>
            {
                File.Move(Path.Combine(Folder, temp.Name), Path.Combine(Folder, incr.Name), overwrite: true);
                temp.Name = incr.Name;
            });
            RewriteSucceeded();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException or AofManifestException)
        {
            snapshot?.Token.Release();
            RewriteFailed(ex);
            lock (_keys.Gate)
            {
                _logging = false;
            }

            CloseCurrent(sync: false);
            if (temp is not null)
            {
                TryDelete(Path.Combine(Folder, temp.Name));
            }

            Volatile.Write(ref _on, false);
            _options.AppendOnly = false;
            Log.EnableFailed(_logger);
        }
        finally
        {
            Interlocked.Decrement(ref _rewriting);
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// CONFIG SET appendonly no: as Redis's stopAppendOnly, no record is kept from now on, a running rewrite is
    /// abandoned, and what was recorded is written, fsynced and the file closed (in the background). The files stay.
    /// </summary>
    public void Disable()
    {
        if (!IsOn)
        {
            return;
        }

        lock (_keys.Gate)
        {
            _logging = false;
        }

        Volatile.Write(ref _on, false);
        var cancel = Interlocked.Exchange(ref _cancel, new CancellationTokenSource());
        cancel.Cancel();
        Chain(async () =>
        {
            await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                CloseCurrent(sync: true);
            }
            finally
            {
                _lifecycle.Release();
                cancel.Dispose();
            }
        });
    }

    /// <summary>Writes and fsyncs what is recorded, then closes the files. Records must have stopped.</summary>
    private void CloseCurrent(bool sync)
    {
        lock (_fileLock)
        {
            TakeLocked();
            WriteLocked();
        }

        if (sync)
        {
            SyncWritten();
        }

        lock (_fileLock)
        {
            _unwritten.Clear();
            _current?.Dispose();
            _current = null;
            foreach (var file in _retired)
            {
                file.Dispose();
            }

            _retired.Clear();
        }
    }

    // ------------------------------------------------------------------ rewrite

    /// <summary>
    /// BGREWRITEAOF: starts a rewrite in the background and returns null, or Redis's error text when one runs
    /// already. With the log off it writes a base (and a manifest listing only it), as Redis does.
    /// </summary>
    public string? StartRewrite()
    {
        if (Interlocked.CompareExchange(ref _rewriting, 1, 0) != 0)
        {
            return "Background append only file rewriting already in progress";
        }

        var cancel = _cancel.Token;
        Chain(() => RewriteAsync(cancel));
        Log.RewriteStarted(_logger);
        return null;
    }

    private async Task RewriteAsync(CancellationToken cancel)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        KeyspaceSnapshot? snapshot = null;
        var suspectEpoch = Interlocked.Read(ref _suspectEpoch);
        try
        {
            StartRewriteClock();
            cancel.ThrowIfCancellationRequested();
            CreateFolder();
            var manifest = _manifest.Clone();
            AofFileInfo? incr = null;
            LogFile? next = null;
            if (IsOn)
            {
                incr = manifest.NewIncr(Name);
                next = CreateFile(incr.Name);
                manifest.Persist(Folder, Name);
                _manifest = manifest.Clone();
                Log.CreatingIncrOnRewrite(_logger, incr.Name);
                Crash("rewrite-incr");
            }

            lock (_keys.Gate)
            {
                if (next is not null)
                {
                    (_switches ??= []).Add((_appended, next));
                    _selectedDb = -1;
                }

                snapshot = KeyspaceSnapshot.Capture(_keys);
            }

            WriteBase(snapshot, manifest, incr, cancel, null);
            RewriteSucceeded();
            if (_suspectErrno != 0 && Interlocked.Read(ref _suspectEpoch) == suspectEpoch)
            {
                // Everything is in files written and synced after the failed fsync.
                _suspectErrno = 0;
                Log.SuspectCleared(_logger);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            snapshot?.Token.Release();
            RewriteFailed(ex);
        }
        finally
        {
            Interlocked.Decrement(ref _rewriting); // paired with StartRewrite's 0 to 1, or with Enable's increment
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Steps (3) to (5) of a rewrite: the base from <paramref name="snapshot"/> to a temp file and fsynced, renamed
    /// to the next base name; <paramref name="beforeManifest"/> (turning the log on: the temp incr file gets its
    /// name); the manifest with that base and <paramref name="incr"/> only; the old files deleted.
    /// </summary>
    private void WriteBase(KeyspaceSnapshot snapshot, AofManifest manifest, AofFileInfo? incr, CancellationToken cancel, Action? beforeManifest)
    {
        var tempName = $"{AofManifest.TempPrefix}rewriteaof-bg-{Environment.ProcessId}{AofManifest.AofFormatSuffix}";
        var temp = Path.Combine(Folder, tempName);
        TryDelete(temp);
        long size;
        try
        {
            size = BaseFileWriter.Write(temp, snapshot, cancel, Crash);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        finally
        {
            snapshot.Token.Release();
        }

        Log.TempBaseCreated(_logger, tempName);
        Crash("rewrite-base-written");
        var created = manifest.NewBase(Name);
        File.Move(temp, Path.Combine(Folder, created.Name), overwrite: true);
        AofNative.SyncFolder(Folder);
        Log.TempBaseRenamed(_logger, tempName, created.Name);
        Crash("rewrite-base-renamed");
        beforeManifest?.Invoke();
        manifest.MarkIncrsAsHistory(incr);
        manifest.Persist(Folder, Name);
        _manifest = manifest.Clone();
        Crash("rewrite-manifest");
        foreach (var old in manifest.History)
        {
            Log.RemovingHistory(_logger, old.Name);
            TryDelete(Path.Combine(Folder, old.Name));
        }

        manifest.History.Clear();
        manifest.Persist(Folder, Name);
        _manifest = manifest;
        lock (_fileLock)
        {
            var total = size + (_current?.Length ?? 0);
            Interlocked.Exchange(ref _currentSize, total);
            Interlocked.Exchange(ref _baseSize, total);
        }
    }

    private void StartRewriteClock() => Interlocked.Exchange(ref _rewriteStarted, DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    private void RewriteSucceeded()
    {
        Interlocked.Increment(ref _rewrites);
        Interlocked.Exchange(ref _rewriteFailures, 0);
        _lastRewriteOk = true;
        Interlocked.Exchange(ref _lastRewriteSeconds, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - Interlocked.Exchange(ref _rewriteStarted, -1));
        Log.RewriteFinished(_logger);
    }

    private void RewriteFailed(Exception ex)
    {
        Interlocked.Increment(ref _rewrites);
        var failures = Interlocked.Increment(ref _rewriteFailures);
        _lastRewriteOk = false;
        Interlocked.Exchange(ref _lastRewriteSeconds, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - Interlocked.Exchange(ref _rewriteStarted, -1));

        // As Redis's aofRewriteLimited: after failures the automatic rewrite waits 1, 2, 4 … 60 minutes.
        Interlocked.Exchange(ref _autoRewriteAfter, Environment.TickCount64 + (Math.Min(60, 1L << (int)Math.Min(6, failures - 1)) * 60_000));
        Log.RewriteFailed(_logger, ex.Message);
    }

    /// <summary>
    /// Once a second (the server's cron): an automatic rewrite when the files grew by auto-aof-rewrite-percentage
    /// since the last one and hold more than auto-aof-rewrite-min-size, as Redis's serverCron decides.
    /// </summary>
    public void Cron()
    {
        if (IsOn && _suspectErrno != 0 && _syncErrno == 0 && Volatile.Read(ref _rewriting) == 0
            && Environment.TickCount64 >= Interlocked.Read(ref _autoRewriteAfter))
        {
            // The rewrite after a failed fsync did not run or failed: try again (failures back off as automatic ones do).
            StartRewrite();
            return;
        }

        var percentage = _options.AutoAofRewritePercentage;
        var current = CurrentSize;
        if (!IsOn || percentage == 0 || Volatile.Read(ref _rewriting) != 0 || current <= _options.AutoAofRewriteMinSize
            || Environment.TickCount64 < Interlocked.Read(ref _autoRewriteAfter))
        {
            return;
        }

        var baseSize = Math.Max(1, BaseSize);
        var growth = (current * 100 / baseSize) - 100;
        if (growth >= percentage)
        {
            Log.AutomaticRewrite(_logger, growth);
            StartRewrite();
        }
    }

    /// <summary>At the server's stop, after every connection closed: a running rewrite is abandoned, what is recorded is written and fsynced.</summary>
    public void Shutdown()
    {
        _cancel.Cancel();
        try
        {
            _background.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // logged where it failed
        }

        if (_lifecycle.Wait(TimeSpan.FromSeconds(10)))
        {
            try
            {
                lock (_keys.Gate)
                {
                    ShutdownMark();
                    _logging = false;
                }

                if (IsOn)
                {
                    CloseCurrent(sync: true);
                }
            }
            finally
            {
                _lifecycle.Release();
            }
        }

        Dispose();
    }

    /// <summary>Runs <paramref name="work"/> after the background work already started (each takes <see cref="_lifecycle"/> too).</summary>
    private void Chain(Func<Task> work)
    {
        lock (_chainLock)
        {
            _background = _background.ContinueWith(_ => work(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    private void Crash(string point)
    {
        if (_crashPoint == point)
        {
            // Straight to the standard error: the logger's queue would die with the process.
            Console.Error.WriteLine($"Test crash point {point} reached: killing the process");
            Console.Error.Flush();
            Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover is removed at the next start.
        }
    }

    // ------------------------------------------------------------------ INFO persistence

    /// <summary>Redis 7.0's aof_* lines of INFO persistence.</summary>
    public void AppendInfo(Action<string, object> line)
    {
        var started = Interlocked.Read(ref _rewriteStarted);
        line("aof_enabled", IsOn ? 1 : 0);
        line("aof_rewrite_in_progress", IsRewriting ? 1 : 0);
        line("aof_rewrite_scheduled", 0);
        line("aof_last_rewrite_time_sec", Interlocked.Read(ref _lastRewriteSeconds));
        line("aof_current_rewrite_time_sec", started < 0 ? -1 : DateTimeOffset.UtcNow.ToUnixTimeSeconds() - started);
        line("aof_last_bgrewrite_status", _lastRewriteOk ? "ok" : "err");
        line("aof_rewrites", Interlocked.Read(ref _rewrites));
        line("aof_rewrites_consecutive_failures", Interlocked.Read(ref _rewriteFailures));
        line("aof_last_write_status", LastWriteOk ? "ok" : "err");
        line("aof_last_cow_size", 0);
        line("module_fork_in_progress", 0);
        line("module_fork_last_cow_size", 0);
        if (IsOn)
        {
            line("aof_current_size", CurrentSize);
            line("aof_base_size", BaseSize);
            line("aof_pending_rewrite", 0);
            line("aof_buffer_length", BufferLength);
            line("aof_pending_bio_fsync", SyncInProgress);
            line("aof_delayed_fsync", DelayedSyncs);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1230, Level = LogLevel.Information, Message = "Creating AOF base file {File} on server start")]
        public static partial void CreatingBase(ILogger logger, string file);

        [LoggerMessage(EventId = 1231, Level = LogLevel.Information, Message = "Creating AOF incr file {File} on server start")]
        public static partial void CreatingIncr(ILogger logger, string file);

        [LoggerMessage(EventId = 1232, Level = LogLevel.Information, Message = "Opening AOF incr file {File} on server start")]
        public static partial void OpeningIncr(ILogger logger, string file);

        [LoggerMessage(EventId = 1233, Level = LogLevel.Information, Message = "Creating AOF incr file {File} on background rewrite")]
        public static partial void CreatingIncrOnRewrite(ILogger logger, string file);

        [LoggerMessage(EventId = 1234, Level = LogLevel.Information, Message = "Background append only file rewriting started")]
        public static partial void RewriteStarted(ILogger logger);

        [LoggerMessage(EventId = 1235, Level = LogLevel.Information, Message = "Successfully created the temporary AOF base file {File}")]
        public static partial void TempBaseCreated(ILogger logger, string file);

        [LoggerMessage(EventId = 1236, Level = LogLevel.Information, Message = "Successfully renamed the temporary AOF base file {Temp} into {File}")]
        public static partial void TempBaseRenamed(ILogger logger, string temp, string file);

        [LoggerMessage(EventId = 1237, Level = LogLevel.Information, Message = "Removing the history file {File} in the background")]
        public static partial void RemovingHistory(ILogger logger, string file);

        [LoggerMessage(EventId = 1238, Level = LogLevel.Information, Message = "Background AOF rewrite finished successfully")]
        public static partial void RewriteFinished(ILogger logger);

        [LoggerMessage(EventId = 1239, Level = LogLevel.Warning, Message = "Background AOF rewrite terminated with error: {Error}")]
        public static partial void RewriteFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 1240, Level = LogLevel.Information, Message = "Starting automatic rewriting of AOF on {Growth}% growth")]
        public static partial void AutomaticRewrite(ILogger logger, long growth);

        [LoggerMessage(EventId = 1241, Level = LogLevel.Warning, Message = "Unable to turn on AOF: the rewrite that writes its base failed; appendonly is no again")]
        public static partial void EnableFailed(ILogger logger);

        [LoggerMessage(EventId = 1242, Level = LogLevel.Warning, Message = "Can't open or create append-only dir {Folder}: {Error}")]
        public static partial void CantCreateFolder(ILogger logger, string folder, string error);

        [LoggerMessage(EventId = 1243, Level = LogLevel.Warning, Message = "Removing {File}, left in the AOF folder by an interrupted rewrite")]
        public static partial void RemovingLeftover(ILogger logger, string file);

        [LoggerMessage(EventId = 1244, Level = LogLevel.Warning, Message = "*** FATAL AOF MANIFEST FILE ERROR ***")]
        public static partial void ManifestError(ILogger logger);

        [LoggerMessage(EventId = 1245, Level = LogLevel.Warning, Message = "Reading the manifest file, at line {Line}: >>> '{Text}'")]
        public static partial void ManifestLine(ILogger logger, int line, string text);

        [LoggerMessage(EventId = 1246, Level = LogLevel.Warning, Message = "{Reason}")]
        public static partial void ManifestReason(ILogger logger, string reason);
    }
}
