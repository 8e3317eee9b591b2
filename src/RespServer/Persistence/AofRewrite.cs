using System.Buffers;
using Notistream.RespServer.Keyspace;

namespace Notistream.RespServer.Persistence;

/// <summary>One stream as it was at a rewrite's switch point: its fields, and its nodes' fields sharing their arrays.</summary>
internal sealed record StreamSnapshot(byte[] Key, StreamId LastId, long EntriesAdded, StreamId MaxDeletedId, bool IsChannelHistory, StreamNode[] Nodes);

/// <summary>
/// The keyspace at a rewrite's switch point (Redis forks for this). Captured in one hold of the gate, in the
/// same hold that sends later records to the next incr file: O(keys + nodes) — a reference to each key, a copy
/// of each node's fields — and no entry copied. The node arrays are shared with the live streams, which leave
/// the bytes a snapshot reads alone while <see cref="Token"/> is active (<see cref="StreamNode.SharedWith"/>):
/// appends write past them, a delete flag copies the node's array first. So the hold is proportional to the
/// number of nodes (a node holds up to 100 entries; for channel history, bounded by history-max-memory), not
/// to the bytes stored, and what the rewrite writes is the keyspace at that instant.
/// </summary>
internal sealed class KeyspaceSnapshot
{
    private KeyspaceSnapshot(SnapshotToken token, StreamId generated, List<(int Db, List<StreamSnapshot> Streams)> databases)
    {
        Token = token;
        Generated = generated;
        Databases = databases;
    }

    public SnapshotToken Token { get; }

    /// <summary>The id generator's last id at the switch.</summary>
    public StreamId Generated { get; }

    public List<(int Db, List<StreamSnapshot> Streams)> Databases { get; }

    /// <summary>The caller holds <see cref="KeyStore.Gate"/>.</summary>
    public static KeyspaceSnapshot Capture(KeyStore keys)
    {
        var token = new SnapshotToken();
        var databases = new List<(int, List<StreamSnapshot>)>();
        for (var db = 0; db < keys.Count; db++)
        {
            if (keys.Find(db) is not { Count: > 0 } database)
            {
                continue;
            }

            var streams = new List<StreamSnapshot>(database.Count);
            foreach (var (key, value) in database.Entries)
            {
                if (value is StreamValue stream)
                {
                    streams.Add(new StreamSnapshot(key, stream.LastId, stream.EntriesAdded, stream.MaxDeletedId, stream.IsChannelHistory, stream.Capture(token)));
                }
            }

            databases.Add((db, streams));
        }

        return new KeyspaceSnapshot(token, keys.LastGeneratedId, databases);
    }
}

/// <summary>
/// Writes a base file from a <see cref="KeyspaceSnapshot"/>, as Redis's rewriteAppendOnlyFileRio writes one:
/// per database with keys a SELECT, per stream an XADD per entry (<c>XADD key id field value …</c>) then
/// <c>XSETID key last-id ENTRIESADDED n MAXDELETEDID id</c> (rewriteStreamObject; an empty stream is <c>XADD key
/// MAXLEN 0 0-1 x y</c> first), and <c>#history</c> after a channel's history. The file starts with the
/// checksum header and its groups of about 64 KiB each end with a checksum annotation, as the incr files'.
/// Runs on a background task, outside every lock; reads only the snapshot.
/// </summary>
internal sealed class BaseFileWriter : IDisposable
{
    private const int GroupBytes = 64 * 1024;

    private readonly FileStream _file;
    private readonly StreamId _generated;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(GroupBytes * 2);
    private int _used;
    private int _groupStart;

    private BaseFileWriter(FileStream file, StreamId generated)
    {
        _file = file;
        _generated = generated;
    }

    /// <summary>Writes the base to <paramref name="path"/> (created new), fsyncs it, and returns its size.</summary>
    public static long Write(string path, KeyspaceSnapshot snapshot, CancellationToken cancel, Action<string>? crashPoint = null)
    {
        using var writer = new BaseFileWriter(new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1, FileOptions.None), snapshot.Generated);
        writer.Raw(AofFormat.Header);
        writer._groupStart = writer._used;
        var written = 0L;
        foreach (var (db, streams) in snapshot.Databases)
        {
            writer.Command(2);
            writer.Bulk("SELECT"u8);
            writer.Number(db);
            foreach (var stream in streams)
            {
                cancel.ThrowIfCancellationRequested();
                writer.WriteStream(stream);
                if (writer._used >= GroupBytes)
                {
                    written += writer.SealAndFlush();
                    if (written >= GroupBytes)
                    {
                        crashPoint?.Invoke("rewrite-base");
                    }
                }
            }
        }

        writer.SealAndFlush();
        writer._file.Flush();
        AofNative.SyncData(writer._file.SafeFileHandle);
        return writer._file.Length;
    }

    private void WriteStream(StreamSnapshot stream)
    {
        var any = false;
        foreach (var node in stream.Nodes)
        {
            for (var offset = node.EntriesStart; offset < node.Used;)
            {
                var flags = node.ReadEntry(offset, out var id, out var pairs, out var position, out var next);
                if ((flags & StreamNode.FlagDeleted) == 0)
                {
                    any = true;
                    Command(3 + (pairs * 2));
                    Bulk("XADD"u8);
                    Bulk(stream.Key);
                    Id(id);
                    var fieldPosition = node.MasterFieldsStart;
                    var sameFields = (flags & StreamNode.FlagSameFields) != 0;
                    for (var i = 0; i < pairs; i++)
                    {
                        Bulk(ReadString(node.Data, ref sameFields ? ref fieldPosition : ref position));
                        Bulk(ReadString(node.Data, ref position));
                    }

                    if (_used >= GroupBytes * 2)
                    {
                        SealAndFlush();
                    }
                }

                offset = next;
            }
        }

        if (!any)
        {
            Command(7);
            Bulk("XADD"u8);
            Bulk(stream.Key);
            Bulk("MAXLEN"u8);
            Bulk("0"u8);
            Bulk("0-1"u8);
            Bulk("x"u8);
            Bulk("y"u8);
        }

        Command(7);
        Bulk("XSETID"u8);
        Bulk(stream.Key);
        Id(stream.LastId);
        Bulk("ENTRIESADDED"u8);
        Number(stream.EntriesAdded);
        Bulk("MAXDELETEDID"u8);
        Id(stream.MaxDeletedId);
        if (stream.IsChannelHistory)
        {
            Raw("#history\r\n"u8);
        }
    }

    /// <summary>Ends the group with its annotation and writes what is buffered; returns the bytes written.</summary>
    private int SealAndFlush()
    {
        var length = _used - _groupStart;
        if (length > 0)
        {
            var crc = Crc32C.Compute(_buffer.AsSpan(_groupStart, length));
            Advance(AofLog.FormatAnnotation(Reserve(128), crc, length, _generated));
        }

        var bytes = _used;
        _file.Write(_buffer, 0, _used);
        _used = 0;
        _groupStart = 0;
        return bytes;
    }

    private void Command(int argc) => Advance(RespRecord.Header(Reserve(RespRecord.HeaderSize), argc));

    private void Bulk(ReadOnlySpan<byte> value) => Advance(RespRecord.Bulk(Reserve(RespRecord.BulkSize(value.Length)), value));

    private void Id(StreamId id) => Advance(RespRecord.BulkId(Reserve(RespRecord.SmallBulkSize), id));

    private void Number(long value) => Advance(RespRecord.BulkNumber(Reserve(RespRecord.SmallBulkSize), value));

    private void Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        Advance(bytes.Length);
    }

    private Span<byte> Reserve(int size)
    {
        if (_used + size > _buffer.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max((long)_used + size, (long)_buffer.Length * 2)));
            _buffer.AsSpan(0, _used).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = grown;
        }

        return _buffer.AsSpan(_used);
    }

    private void Advance(int count) => _used += count;

    private static ReadOnlySpan<byte> ReadString(byte[] data, ref int position)
    {
        var length = (int)Varint.Read(data, ref position);
        var value = data.AsSpan(position, length);
        position += length;
        return value;
    }

    public void Dispose()
    {
        _file.Dispose();
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}

/// <summary>The lines of the file format that are ours: annotations Redis skips.</summary>
internal static class AofFormat
{
    /// <summary>
    /// The first line of every file this server writes: from here on, every byte belongs to a group, and every
    /// group ends with a <c>#crc32c:&lt;hex&gt; &lt;bytes&gt; &lt;last id given&gt;</c> annotation over its bytes.
    /// </summary>
    public static ReadOnlySpan<byte> Header => "#checksums:crc32c\r\n"u8;

    public static ReadOnlySpan<byte> ChecksumPrefix => "#crc32c:"u8;

    public static ReadOnlySpan<byte> HistoryMark => "#history"u8;

    public static ReadOnlySpan<byte> ShutdownMark => "#shutdown"u8;
}
