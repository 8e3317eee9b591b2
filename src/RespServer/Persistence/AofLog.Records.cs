using System.Buffers;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Persistence;

/// <summary>
/// The records: each change of the keyspace as the Redis command that replays its effect deterministically, as
/// Redis propagates it — an XADD with the id chosen (never <c>*</c>), a trim with the threshold it reached, a
/// DEL only for a key that was there — with a SELECT before it when the database changes. Every method here is
/// called with <see cref="KeyStore.Gate"/> held, in the same hold as the change it records, and only appends to
/// memory: no I/O, no wait. Each does nothing while the log is off.
/// </summary>
internal sealed partial class AofLog
{
    /// <summary>Whether changes are being recorded; the caller holds the gate.</summary>
    public bool Recording => _logging;

    /// <summary><c>XADD key id field value …</c>: an entry added, by XADD or by a PUBLISH kept as history.</summary>
    public void XAdd(int db, ReadOnlySpan<byte> key, StreamId id, in EntryFields fields)
    {
        if (!_logging)
        {
            return;
        }

        Begin(db, 3 + fields.Count);
        Bulk("XADD"u8);
        Bulk(key);
        Bulk(id);
        for (var i = 0; i < fields.Count; i++)
        {
            Bulk(fields[i]);
        }

    }

    /// <summary>
    /// A trim that removed something. An exact one (<c>=</c>) replays as it was given; an approximate one (<c>~</c>,
    /// and history's count and memory bounds) removed whole nodes from the head, which <c>XTRIM key MINID =
    /// &lt;the first remaining node's first id&gt;</c> removes exactly, whatever nodes the replaying server has
    /// (a stream loaded from a rewrite packs its nodes anew), and <c>MAXLEN = 0</c> when none remains.
    /// </summary>
    public void Trimmed(int db, ReadOnlySpan<byte> key, StreamValue stream, StreamTrimStrategy strategy, long maxLength, StreamId minId, bool approximate)
    {
        if (!_logging || strategy == StreamTrimStrategy.None)
        {
            return;
        }

        Begin(db, 5);
        Bulk("XTRIM"u8);
        Bulk(key);
        if (approximate)
        {
            if (stream.FirstNodeMaster is { } first)
            {
                Bulk("MINID"u8);
                Bulk("="u8);
                Bulk(first);
            }
            else
            {
                Bulk("MAXLEN"u8);
                Bulk("="u8);
                Bulk("0"u8);
            }
        }
        else if (strategy == StreamTrimStrategy.MaxLen)
        {
            Bulk("MAXLEN"u8);
            Bulk("="u8);
            Number(maxLength);
        }
        else
        {
            Bulk("MINID"u8);
            Bulk("="u8);
            Bulk(minId);
        }

    }

    /// <summary><c>XDEL key id …</c> with the ids that were deleted.</summary>
    public void XDel(int db, ReadOnlySpan<byte> key, ReadOnlySpan<StreamId> deleted)
    {
        if (!_logging || deleted.IsEmpty)
        {
            return;
        }

        Begin(db, 2 + deleted.Length);
        Bulk("XDEL"u8);
        Bulk(key);
        foreach (var id in deleted)
        {
            Bulk(id);
        }

    }

    /// <summary>
    /// <c>XSETID key last-id ENTRIESADDED n MAXDELETEDID id</c> with the stream's state after the change: what
    /// Redis's rewrite writes, and what any XSETID leaves.
    /// </summary>
    public void XSetId(int db, ReadOnlySpan<byte> key, StreamValue stream)
    {
        if (!_logging)
        {
            return;
        }

        Begin(db, 7);
        Bulk("XSETID"u8);
        Bulk(key);
        Bulk(stream.LastId);
        Bulk("ENTRIESADDED"u8);
        Number(stream.EntriesAdded);
        Bulk("MAXDELETEDID"u8);
        Bulk(stream.MaxDeletedId);
    }

    /// <summary>
    /// A client's XSETID as it gave it, as Redis propagates it: replayed against the same state it changes the
    /// same way, where the stream's state after it (<see cref="XSetId"/>) can be refused on replay (a last id below
    /// the max-deleted id of an emptied stream is accepted without MAXDELETEDID, not with it).
    /// </summary>
    public void XSetIdAsGiven(int db, in RespRequest request)
    {
        if (!_logging)
        {
            return;
        }

        Begin(db, request.Count);
        for (var i = 0; i < request.Count; i++)
        {
            Bulk(request[i]);
        }
    }

    /// <summary>
    /// A stream with no entries (an XADD that created its key and then failed): Redis's rewrite trick, <c>XADD key
    /// MAXLEN 0 0-1 x y</c>, then its state with <see cref="XSetId"/>.
    /// </summary>
    public void EmptyStream(int db, ReadOnlySpan<byte> key, StreamValue stream)
    {
        if (!_logging)
        {
            return;
        }

        Begin(db, 7);
        Bulk("XADD"u8);
        Bulk(key);
        Bulk("MAXLEN"u8);
        Bulk("0"u8);
        Bulk("0-1"u8);
        Bulk("x"u8);
        Bulk("y"u8);
        XSetId(db, key, stream);
    }

    /// <summary><c>DEL key</c>: a key that was there is gone (DEL, UNLINK, a channel's history removed).</summary>
    public void Del(int db, ReadOnlySpan<byte> key)
    {
        if (!_logging)
        {
            return;
        }

        Begin(db, 2);
        Bulk("DEL"u8);
        Bulk(key);
    }

    /// <summary><c>FLUSHALL</c>.</summary>
    public void FlushAll()
    {
        if (!_logging)
        {
            return;
        }

        Header(1);
        Bulk("FLUSHALL"u8);
    }

    /// <summary><c>FLUSHDB</c> of <paramref name="db"/>.</summary>
    public void FlushDb(int db)
    {
        if (!_logging)
        {
            return;
        }

        Begin(db, 1);
        Bulk("FLUSHDB"u8);
    }

    /// <summary>
    /// An annotation, <c>#shutdown</c>: the server stopped cleanly after this, so nothing written before the
    /// stop is missing from the file. A file that does not end with it (records after it do not count as
    /// its end) ended in a crash, after which under everysec or no a power loss may have taken the last
    /// writes; followers are then told of a gap of unknown size. The caller holds the gate.
    /// </summary>
    public void ShutdownMark()
    {
        if (!_logging)
        {
            return;
        }

        Raw("#shutdown\r\n"u8);
    }

    /// <summary>
    /// An annotation, <c>#history</c>: the stream of the record just before it is a channel's history (PUBLISH
    /// keeps messages there), so that after a restart the history sweep and history-max-memory still apply to
    /// it. Redis skips it, as it skips every line that starts with <c>#</c>.
    /// </summary>
    public void HistoryMark()
    {
        if (!_logging)
        {
            return;
        }

        Raw("#history\r\n"u8);
    }

    private void Begin(int db, int argc)
    {
        if (db != _selectedDb)
        {
            Header(2);
            Bulk("SELECT"u8);
            Number(db);
            _selectedDb = db;
        }

        Header(argc);
    }

    private void Header(int argc) => Advance(RespRecord.Header(Reserve(RespRecord.HeaderSize), argc));

    private void Bulk(ReadOnlySpan<byte> value) => Advance(RespRecord.Bulk(Reserve(RespRecord.BulkSize(value.Length)), value));

    private void Bulk(StreamId id) => Advance(RespRecord.BulkId(Reserve(RespRecord.SmallBulkSize), id));

    private void Number(long value) => Advance(RespRecord.BulkNumber(Reserve(RespRecord.SmallBulkSize), value));

    private void Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        Advance(bytes.Length);
    }

    /// <summary>Room for <paramref name="size"/> bytes, and always <see cref="AnnotationRoom"/> more after them.</summary>
    private Span<byte> Reserve(int size)
    {
        var needed = (long)_used + size + AnnotationRoom;
        if (needed > _buffer.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max(needed, Math.Max(InitialBuffer, (long)_buffer.Length * 2))));
            _buffer.AsSpan(0, _used).CopyTo(grown);
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = grown;
        }

        return _buffer.AsSpan(_used);
    }

    private void Advance(int count)
    {
        _used += count;
        _appended += count;
    }
}
