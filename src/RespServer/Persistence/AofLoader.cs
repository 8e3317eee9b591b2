using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Persistence;

/// <summary>
/// Loads the files a manifest lists, base then incr files in order, into the keyspace at start-up, before
/// the server listens. Each record runs through the command's own handler, as Redis's loader runs each
/// command's proc on a fake client: the same stream code as the commands, no network, no checks of
/// authentication or ACL, the log off. Each file is read twice: a first pass checks its framing and its
/// groups' checksums and finds where its valid part ends, so that nothing of a damaged group is applied; the
/// second applies the records up to there.
/// <para>
/// Repair is Redis's: a torn tail of the last file — a short read (the file ends inside a command), or, in a
/// file with checksums, a last group without its annotation or whose checksum does not match, with nothing
/// valid after it — is cut with aof-load-truncated yes (Redis's three log lines) and stops start-up with
/// aof-load-truncated no. Damage anywhere else (bad framing, or a group whose checksum does not match
/// followed by valid data) stops start-up, naming the file and the offset.
/// </para>
/// </summary>
internal sealed partial class AofLoader(ServerContext server, CommandTable commands, ILogger logger, string folder)
{
    /// <summary>AOF_ANNOTATION_LINE_MAX_LEN: the fgets buffer of Redis's loader; no line of a valid file is longer.</summary>
    private const int MaxLine = 1024;

    private readonly RespServerOptions _options = server.Options;
    private StreamId? _generated;

    /// <summary>The greatest last id of a channel history a replayed DEL removed.</summary>
    private StreamId _droppedHistoriesUpTo;

    /// <summary>Whether the last record read was followed by the shutdown annotation (a clean stop).</summary>
    private bool _endsWithShutdown;

    /// <summary>Bytes of the base and incr files once loaded (after any cut).</summary>
    public long TotalSize { get; private set; }

    /// <summary>Bytes of the base file.</summary>
    public long BaseSize { get; private set; }

    /// <summary>Records applied.</summary>
    public long Records { get; private set; }

    /// <summary>
    /// Loads every file <paramref name="manifest"/> lists; throws <see cref="ConfigException"/> (start-up stops,
    /// exit code 1) on damage, after logging Redis's lines.
    /// </summary>
    public void Load(AofManifest manifest)
    {
        var files = new List<AofFileInfo>();
        if (manifest.Base is { } baseFile)
        {
            files.Add(baseFile);
        }

        files.AddRange(manifest.Incrs);
        if (files.Count == 0)
        {
            return;
        }

        foreach (var file in files)
        {
            var path = Path.Combine(folder, file.Name);
            if (!File.Exists(path))
            {
                Log.NoLength(logger, file.Name, "No such file or directory");
                throw Fatal($"The AOF file {file.Name} listed in the manifest does not exist");
            }
        }

        var started = Stopwatch.StartNew();
        var client = new RespConnection(server, new LoaderTransport(), 0);
        try
        {
            for (var i = 0; i < files.Count; i++)
            {
                var file = files[i];
                var last = i == files.Count - 1;
                var fileStarted = Stopwatch.StartNew();
                var path = Path.Combine(folder, file.Name);
                var check = Check(path);
                var end = check.ValidEnd;
                switch (check.Status)
                {
                    case CheckStatus.Damaged:
                        Log.BadFormat(logger, file.Name, check.Offset, check.Detail);
                        throw Fatal($"Bad file format reading the append only file {file.Name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest> (at offset {check.Offset}: {check.Detail})");
                    case CheckStatus.Torn when !last:
                        Log.Torn(logger, file.Name, check.Offset, check.Detail);
                        Log.NotLastFile(logger);
                        throw Fatal($"Fatal error: the truncated file {file.Name} is not the last file");
                    case CheckStatus.Torn when !_options.AofLoadTruncated:
                        Log.Torn(logger, file.Name, check.Offset, check.Detail);
                        Log.UnexpectedEnd(logger, file.Name);
                        throw Fatal($"Unexpected end of file reading the append only file {file.Name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.");
                    case CheckStatus.Torn:
                        Log.Torn(logger, file.Name, check.Offset, check.Detail);
                        Log.ShortRead(logger, file.Name);
                        Log.Truncating(logger, file.Name, end);
                        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write))
                        {
                            AofNative.Truncate(handle, end);
                            AofNative.SyncData(handle);
                        }

                        Log.LoadedAnyway(logger, file.Name);
                        break;
                }

                Apply(path, end, client);
                var size = new FileInfo(path).Length;
                TotalSize += size;
                if (ReferenceEquals(file, manifest.Base))
                {
                    BaseSize = size;
                    Log.LoadedBase(logger, file.Name, fileStarted.Elapsed.TotalSeconds);
                }
                else
                {
                    Log.LoadedIncr(logger, file.Name, fileStarted.Elapsed.TotalSeconds);
                }
            }
        }
        finally
        {
            client.EndLoading();
        }

        var keys = server.Keys;
        long count = 0;
        lock (keys.Gate)
        {
            RestoreGenerator(keys);
            RestoreHistoryRecords(keys);
            long historyBytes = 0, historyEntries = 0;
            for (var db = 0; db < keys.Count; db++)
            {
                if (keys.Find(db) is { } database)
                {
                    count += database.Count;
                    foreach (var (_, value) in database.Entries)
                    {
                        if (value is StreamValue { IsChannelHistory: true } stream)
                        {
                            historyBytes += stream.MemoryBytes;
                            historyEntries += stream.Length;
                        }
                    }
                }
            }

            keys.HistoryBytes = historyBytes;
            keys.HistoryEntries = historyEntries;
        }

        Log.Loaded(logger, started.Elapsed.TotalSeconds);
        Log.KeysLoaded(logger, count, Records, files.Count);
    }

    /// <summary>
    /// The id generator resumes after the last id it gave before, as the checksum annotations recorded it; a file
    /// without them (written by Redis) gives the greatest last id of the streams, leaving out ids ahead of the
    /// clock (explicit ids a client chose, which the generator does not follow). The caller holds the gate.
    /// </summary>
    private void RestoreGenerator(KeyStore keys)
    {
        var generated = _generated ?? StreamId.Min;
        if (_generated is null)
        {
            var now = ChannelHistory.NowMs();
            for (var db = 0; db < keys.Count; db++)
            {
                foreach (var (_, value) in keys.Find(db)?.Entries ?? [])
                {
                    if (value is StreamValue stream && stream.LastId > generated && stream.LastId.Ms <= now)
                    {
                        generated = stream.LastId;
                    }
                }
            }
        }

        if (generated > keys.LastGeneratedId)
        {
            keys.LastGeneratedId = generated;
        }
    }

    private static ConfigException Fatal(string message) => new(message);

    // ------------------------------------------------------------------ first pass: framing and checksums

    internal enum CheckStatus
    {
        Ok,
        Torn,
        Damaged,
    }

    /// <summary>What the first pass found: where the valid part ends, and what is wrong after it.</summary>
    internal readonly record struct FileCheck(CheckStatus Status, long ValidEnd, long Offset, string Detail, bool Checksummed);

    /// <summary>Reads the whole file once, checking framing and checksums; applies nothing.</summary>
    internal static FileCheck Check(string path)
    {
        using var reader = new AofReader(path);
        var checksummed = StartsWithHeader(path);
        long groupStart = 0;
        long lastCommandEnd = 0;
        var crc = Crc32C.Initial;
        if (checksummed)
        {
            reader.ReadLine(MaxLine, out _);
            groupStart = lastCommandEnd = reader.Position;
        }

        while (true)
        {
            var lineStart = reader.Position;
            switch (reader.ReadLine(MaxLine, out var line))
            {
                case LineRead.End:
                    return checksummed && lineStart > groupStart
                        ? new FileCheck(CheckStatus.Torn, groupStart, groupStart, $"the last {lineStart - groupStart} bytes are a group without its checksum", true)
                        : new FileCheck(CheckStatus.Ok, lineStart, lineStart, "", checksummed);
                case LineRead.Short:
                    return Torn(path, checksummed, groupStart, lastCommandEnd, lineStart, "the file ends inside a command");
                case LineRead.TooLong:
                    return Damage(path, checksummed, groupStart, lastCommandEnd, lineStart, "a line longer than 1024 bytes");
            }

            if (line[0] == (byte)'#')
            {
                if (checksummed && line.StartsWith(AofFormat.ChecksumPrefix))
                {
                    if (!TryParseAnnotation(line, out var expected, out var length, out _))
                    {
                        return Damage(path, checksummed, groupStart, lastCommandEnd, lineStart, "a malformed checksum annotation");
                    }

                    if (length != lineStart - groupStart || expected != Crc32C.Finish(crc))
                    {
                        return Damage(path, checksummed, groupStart, lastCommandEnd, groupStart,
                            $"the checksum of the {lineStart - groupStart} bytes from offset {groupStart} does not match");
                    }

                    groupStart = reader.Position;
                    crc = Crc32C.Initial;
                }
                else
                {
                    // Another annotation (#history, Redis's #TS:) belongs to its group.
                    crc = Crc32C.Append(crc, line);
                }

                continue;
            }

            if (line[0] != (byte)'*' || !TryParseLength(line[1..], out var argc) || argc < 1)
            {
                return Damage(path, checksummed, groupStart, lastCommandEnd, lineStart, "a line that does not start a command");
            }

            crc = Crc32C.Append(crc, line);
            for (var j = 0; j < argc; j++)
            {
                var argStart = reader.Position;
                switch (reader.ReadLine(MaxLine, out line))
                {
                    case LineRead.End or LineRead.Short:
                        return Torn(path, checksummed, groupStart, lastCommandEnd, lineStart, "the file ends inside a command");
                    case LineRead.TooLong:
                        return Damage(path, checksummed, groupStart, lastCommandEnd, argStart, "a line longer than 1024 bytes");
                }

                if (line[0] != (byte)'$' || !TryParseLength(line[1..], out var length) || length < 0)
                {
                    return Damage(path, checksummed, groupStart, lastCommandEnd, argStart, "an argument without its $length line");
                }

                crc = Crc32C.Append(crc, line);
                if (reader.Skip(length, ref crc) < length)
                {
                    return Torn(path, checksummed, groupStart, lastCommandEnd, lineStart, "the file ends inside a command");
                }

                var crlfAt = reader.Position;
                var crlfCrc = crc;
                if (reader.Skip(2, ref crc) < 2)
                {
                    return Torn(path, checksummed, groupStart, lastCommandEnd, lineStart, "the file ends inside a command");
                }

                if (Crc32C.Append(crlfCrc, "\r\n"u8) != crc)
                {
                    return Damage(path, checksummed, groupStart, lastCommandEnd, crlfAt, "an argument not followed by CRLF");
                }
            }

            lastCommandEnd = reader.Position;
        }
    }

    /// <summary>
    /// The file ends inside a command. With checksums, the valid part ends with the last whole group; without,
    /// with the last whole command, as Redis's valid_up_to.
    /// </summary>
    /// <remarks>
    /// A length damaged in the middle reads like the end of the file (it points past it); with checksums, a
    /// valid group after it tells the two apart: that is damage, not a tail to cut.
    /// </remarks>
    private static FileCheck Torn(string path, bool checksummed, long groupStart, long lastCommandEnd, long at, string detail)
        => checksummed && HasValidGroupAfter(path, at + 1)
            ? new(CheckStatus.Damaged, groupStart, at, detail + ", yet a valid group follows (a damaged length?)", true)
            : new(CheckStatus.Torn, checksummed ? groupStart : lastCommandEnd, at, detail, checksummed);

    /// <summary>
    /// Something is wrong at <paramref name="at"/>. In a file with checksums that is a torn tail when no valid group
    /// follows (a write cut by a crash or a power loss leaves no whole group after it), and damage otherwise; in a
    /// file without, bad framing is damage, as Redis's fmterr.
    /// </summary>
    private static FileCheck Damage(string path, bool checksummed, long groupStart, long lastCommandEnd, long at, string detail)
    {
        if (checksummed && !HasValidGroupAfter(path, at + 1))
        {
            return new FileCheck(CheckStatus.Torn, groupStart, at, detail + ", and nothing valid follows", true);
        }

        return new FileCheck(CheckStatus.Damaged, checksummed ? groupStart : lastCommandEnd, at, detail, checksummed);
    }

    /// <summary>Whether a checksum annotation at or after <paramref name="from"/> matches the bytes before it.</summary>
    private static bool HasValidGroupAfter(string path, long from)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var prefix = AofFormat.ChecksumPrefix;
        var block = new byte[64 * 1024];
        var position = Math.Max(0, from - 1);
        while (position < file.Length)
        {
            file.Position = position;
            var n = file.ReadAtLeast(block, block.Length, throwOnEndOfStream: false);
            if (n == 0)
            {
                return false;
            }

            var span = block.AsSpan(0, n);
            for (var i = span.IndexOf((byte)'\n'); i >= 0 && i < n; i = NextNewline(span, i + 1))
            {
                var annotation = position + i + 1;
                if (annotation < from || !span[(i + 1)..].StartsWith(prefix))
                {
                    continue;
                }

                if (ValidAnnotationAt(file, annotation))
                {
                    return true;
                }
            }

            // Overlap by the longest annotation so one across two blocks is seen.
            position += Math.Max(1, n - MaxLine);
            if (n < block.Length)
            {
                return false;
            }
        }

        return false;
    }

    private static int NextNewline(ReadOnlySpan<byte> span, int from)
    {
        if (from >= span.Length)
        {
            return -1;
        }

        var i = span[from..].IndexOf((byte)'\n');
        return i < 0 ? -1 : from + i;
    }

    private static bool ValidAnnotationAt(FileStream file, long at)
    {
        var line = new byte[MaxLine];
        file.Position = at;
        var n = file.ReadAtLeast(line, line.Length, throwOnEndOfStream: false);
        var newline = line.AsSpan(0, n).IndexOf((byte)'\n');
        if (newline < 0 || !TryParseAnnotation(line.AsSpan(0, newline + 1), out var crc, out var length, out _) || length > at)
        {
            return false;
        }

        var group = new byte[Math.Min(length, 16 * 1024 * 1024)];
        file.Position = at - length;
        var state = Crc32C.Initial;
        for (long done = 0; done < length;)
        {
            var read = file.Read(group, 0, (int)Math.Min(group.Length, length - done));
            if (read == 0)
            {
                return false;
            }

            state = Crc32C.Append(state, group.AsSpan(0, read));
            done += read;
        }

        return Crc32C.Finish(state) == crc;
    }

    private static bool StartsWithHeader(string path)
    {
        var header = AofFormat.Header;
        Span<byte> start = stackalloc byte[header.Length];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        return file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && start.SequenceEqual(header);
    }

    /// <summary><c>#crc32c:&lt;8 hex&gt; &lt;bytes&gt; &lt;ms-seq&gt;\r\n</c>.</summary>
    internal static bool TryParseAnnotation(ReadOnlySpan<byte> line, out uint crc, out long length, out StreamId generated)
    {
        crc = 0;
        length = 0;
        generated = default;
        var rest = line[AofFormat.ChecksumPrefix.Length..];
        if (rest.Length < 10 || !Utf8Parser.TryParse(rest[..8], out crc, out var used, 'x') || used != 8 || rest[8] != (byte)' ')
        {
            return false;
        }

        rest = rest[9..];
        var space = rest.IndexOf((byte)' ');
        if (space < 0 || !Utf8Parser.TryParse(rest[..space], out length, out used) || used != space || length < 0)
        {
            return false;
        }

        rest = rest[(space + 1)..];
        var end = rest.IndexOf("\r\n"u8);
        return end >= 0 && end + 2 == rest.Length && StreamArguments.TryParseId(rest[..end], 0, strict: true, out generated);
    }

    /// <summary>The number after '*' or '$' up to CRLF (what atoi and strtol read of a valid file).</summary>
    private static bool TryParseLength(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        var end = text.IndexOf("\r\n"u8);
        return end > 0 && end + 2 == text.Length && Utf8Parser.TryParse(text[..end], out value, out var used) && used == end;
    }

    // ------------------------------------------------------------------ second pass: applying the records

    /// <summary>Applies the records of the file's first <paramref name="end"/> bytes, which the first pass found valid.</summary>
    private void Apply(string path, long end, RespConnection client)
    {
        using var reader = new AofReader(path);
        var bytes = new byte[4096];
        var slots = new ArgSlot[8];
        var keyDb = -1;
        var keySlot = default(ArgSlot);
        var refused = 0;
        while (reader.Position < end)
        {
            var recordStart = reader.Position;
            if (reader.ReadLine(MaxLine, out var line) != LineRead.Line)
            {
                throw Fatal($"The append only file {Path.GetFileName(path)} changed while it was loaded (offset {recordStart})");
            }

            if (line[0] == (byte)'#')
            {
                if (line.StartsWith(AofFormat.ChecksumPrefix) && TryParseAnnotation(line, out _, out _, out var generated))
                {
                    if (_generated is null || generated > _generated.Value)
                    {
                        _generated = generated;
                    }
                }
                else if (line.StartsWith(AofFormat.HistoryMark) && keyDb >= 0)
                {
                    MarkHistory(keyDb, bytes.AsSpan(keySlot.Offset, keySlot.Length));
                }
                else if (line.StartsWith(AofFormat.ShutdownMark))
                {
                    _endsWithShutdown = true;
                }

                continue;
            }

            TryParseLength(line[1..], out var argc);
            if (slots.Length < argc)
            {
                slots = new ArgSlot[argc];
            }

            var used = 0;
            for (var j = 0; j < argc; j++)
            {
                reader.ReadLine(MaxLine, out line);
                TryParseLength(line[1..], out var length);
                if (bytes.Length < used + length + 2)
                {
                    Array.Resize(ref bytes, (int)Math.Min(Array.MaxLength, Math.Max(used + length + 2, (long)bytes.Length * 2)));
                }

                reader.ReadInto(bytes.AsSpan(used, (int)length + 2));
                slots[j] = new ArgSlot(used, (int)length);
                used += (int)length + 2;
            }

            var request = new RespRequest(bytes.AsSpan(0, used), slots.AsSpan(0, (int)argc));
            var command = commands.Find(request[0]);
            if (command is { IsContainer: true } && request.Count >= 2)
            {
                command = command.Subcommands!.GetValueOrDefault(Encoding.Latin1.GetString(request[1]));
            }

            if (command?.Handler is null)
            {
                Log.UnknownCommand(logger, Encoding.UTF8.GetString(CommandTable.CString(request[0], 128)), Path.GetFileName(path));
                throw Fatal($"Unknown command '{Encoding.UTF8.GetString(CommandTable.CString(request[0], 128))}' reading the append only file {Path.GetFileName(path)}");
            }

            if (!command.CheckArity(request.Count))
            {
                Refuse(path, recordStart, $"wrong number of arguments for '{command.FullName}' command", ref refused);
                continue;
            }

            _endsWithShutdown = false;
            if (command.FullName is "del" or "unlink")
            {
                NoteDroppedHistories(client, request);
            }

            command.Handler(client, request);
            Records++;
            if (client.TakeLoaderError() is { } error)
            {
                // Redis's loader drops a record's error reply; one here means the log and the code disagree.
                Refuse(path, recordStart, error, ref refused);
            }

            if (request.Count >= 2)
            {
                keyDb = client.Database;
                keySlot = slots[1];
            }
        }

        if (refused > 10)
        {
            Log.RefusedMore(logger, Path.GetFileName(path), refused - 10);
        }
    }

    private void Refuse(string path, long offset, string error, ref int refused)
    {
        if (++refused <= 10)
        {
            Log.Refused(logger, Path.GetFileName(path), offset, error);
        }
    }

    private void MarkHistory(int db, ReadOnlySpan<byte> key)
    {
        var keys = server.Keys;
        lock (keys.Gate)
        {
            if (keys.Find(db)?.Find(key) is StreamValue stream)
            {
                stream.IsChannelHistory = true;

                // From here on the replayed trims record what they remove, as they did when they first ran.
                stream.Trimmed ??= new TrimmedIds(HistoryRule.For(server.Options.ChannelHistory, key) is { } rule
                    ? ChannelHistory.TrimmedCapacity(rule)
                    : 10_000);
            }
        }
    }

    /// <summary>
    /// Before a replayed DEL or UNLINK: a channel history removed whole (by the sweep or history-max-memory, which
    /// log a DEL, or by a client) leaves no record after a restart, so followers from before its last id are
    /// told of a gap of unknown size.
    /// </summary>
    private void NoteDroppedHistories(RespConnection client, in RespRequest request)
    {
        var keys = server.Keys;
        lock (keys.Gate)
        {
            var db = keys.Find(client.Database);
            for (var i = 1; i < request.Count; i++)
            {
                if (db?.Find(request[i]) is StreamValue { IsChannelHistory: true } stream && stream.LastId > _droppedHistoriesUpTo)
                {
                    _droppedHistoriesUpTo = stream.LastId;
                }
            }
        }
    }

    /// <summary>
    /// After the replay: a history whose entries-added says more were removed than its record holds (its base
    /// came from a rewrite, which keeps entries, not removed ids) has lost entries before its first one that no
    /// count can cover. The history is complete from before the start when the last run stopped cleanly, or
    /// when appendfsync is always (nothing delivered or acknowledged was left unsynced; a torn tail only held
    /// what was neither); after a crash under everysec or no, a power loss may have taken the last writes
    /// (a kill -9 does not: they were written before anyone saw them), so followers from before the start
    /// are told of a gap of unknown size. The caller holds the gate.
    /// </summary>
    private void RestoreHistoryRecords(KeyStore keys)
    {
        foreach (var (_, value) in keys.Find(ChannelHistory.Database)?.Entries ?? [])
        {
            if (value is StreamValue { IsChannelHistory: true, Trimmed: { } trimmed } stream
                && stream.EntriesAdded - stream.Length > trimmed.Count)
            {
                trimmed.ForgetUpTo(stream.Length > 0 && stream.FirstId.TryDecrement(out var before) ? before : stream.LastId);
            }
        }

        keys.Followers.ForgetUpTo(_droppedHistoriesUpTo);
        if (_endsWithShutdown || server.Options.AppendFsync == AppendFsync.Always)
        {
            keys.HistoryIncompleteBefore = StreamId.Min;
        }
    }

    /// <summary>The loader's client has no socket: this transport never carries a byte.</summary>
    private sealed class LoaderTransport : ClientTransport
    {
        private readonly Pipe _pipe = new();

        public override PipeReader Input => _pipe.Reader;

        public override PipeWriter Output => _pipe.Writer;

        public override EndPoint? RemoteEndPoint => null;

        public override EndPoint? LocalEndPoint => null;

        public override System.Net.Sockets.Socket Socket => throw new InvalidOperationException("the AOF loader's client has no socket");

        public override ValueTask CloseAsync(long written, bool drain) => ValueTask.CompletedTask;

        public override void Abort()
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1211, Level = LogLevel.Warning, Message = "Unable to obtain the AOF file {File} length. stat: {Error}")]
        public static partial void NoLength(ILogger logger, string file, string error);

        [LoggerMessage(EventId = 1212, Level = LogLevel.Warning,
            Message = "Bad file format reading the append only file {File}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest> (at offset {Offset}: {Detail})")]
        public static partial void BadFormat(ILogger logger, string file, long offset, string detail);

        [LoggerMessage(EventId = 1213, Level = LogLevel.Warning, Message = "AOF {File} is torn at offset {Offset}: {Detail}")]
        public static partial void Torn(ILogger logger, string file, long offset, string detail);

        [LoggerMessage(EventId = 1214, Level = LogLevel.Warning, Message = "!!! Warning: short read while loading the AOF file {File}!!!")]
        public static partial void ShortRead(ILogger logger, string file);

        [LoggerMessage(EventId = 1215, Level = LogLevel.Warning, Message = "!!! Truncating the AOF {File} at offset {Offset} !!!")]
        public static partial void Truncating(ILogger logger, string file, long offset);

        [LoggerMessage(EventId = 1216, Level = LogLevel.Warning, Message = "AOF {File} loaded anyway because aof-load-truncated is enabled")]
        public static partial void LoadedAnyway(ILogger logger, string file);

        [LoggerMessage(EventId = 1217, Level = LogLevel.Warning,
            Message = "Unexpected end of file reading the append only file {File}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.")]
        public static partial void UnexpectedEnd(ILogger logger, string file);

        [LoggerMessage(EventId = 1218, Level = LogLevel.Warning, Message = "Fatal error: the truncated file is not the last file")]
        public static partial void NotLastFile(ILogger logger);

        [LoggerMessage(EventId = 1219, Level = LogLevel.Information, Message = "DB loaded from base file {File}: {Seconds:0.000} seconds")]
        public static partial void LoadedBase(ILogger logger, string file, double seconds);

        [LoggerMessage(EventId = 1220, Level = LogLevel.Information, Message = "DB loaded from incr file {File}: {Seconds:0.000} seconds")]
        public static partial void LoadedIncr(ILogger logger, string file, double seconds);

        [LoggerMessage(EventId = 1221, Level = LogLevel.Information, Message = "DB loaded from append only file: {Seconds:0.000} seconds")]
        public static partial void Loaded(ILogger logger, double seconds);

        [LoggerMessage(EventId = 1222, Level = LogLevel.Information, Message = "AOF loaded: {Keys} keys from {Records} records in {Files} files")]
        public static partial void KeysLoaded(ILogger logger, long keys, long records, int files);

        [LoggerMessage(EventId = 1223, Level = LogLevel.Warning, Message = "Unknown command '{Command}' reading the append only file {File}")]
        public static partial void UnknownCommand(ILogger logger, string command, string file);

        [LoggerMessage(EventId = 1224, Level = LogLevel.Warning, Message = "AOF {File}: the record at offset {Offset} was refused: {Error}")]
        public static partial void Refused(ILogger logger, string file, long offset, string error);

        [LoggerMessage(EventId = 1225, Level = LogLevel.Warning, Message = "AOF {File}: {Count} more records were refused")]
        public static partial void RefusedMore(ILogger logger, string file, int count);
    }
}
