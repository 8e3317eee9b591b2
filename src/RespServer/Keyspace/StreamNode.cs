namespace Notistream.RespServer.Keyspace;

/// <summary>
/// Up to <see cref="StreamValue.NodeMaxEntries"/> consecutive entries of a stream packed in one byte array,
/// as Redis packs them in one listpack under one radix-tree key: no object per entry.
/// <para>
/// <see cref="Data"/> holds the master fields (the first entry's field names: a varint count, then each
/// name as a varint length and its bytes), then the entries. An entry is a flags byte
/// (<see cref="FlagDeleted"/>, <see cref="FlagSameFields"/>), the id as varints (ms minus the master's ms;
/// then seq minus the master's seq when the ms are equal, else seq itself, so both stay small), then
/// either the values alone (same field names as the master) or a varint pair count and each field and
/// value, every string a varint length and its bytes. A deleted entry keeps its bytes, flagged, as in Redis.
/// </para>
/// </summary>
internal sealed class StreamNode
{
    public const byte FlagDeleted = 1;
    public const byte FlagSameFields = 2;

    public StreamNode(StreamId master, byte[] data)
    {
        Master = master;
        Last = master;
        Data = data;
    }

    /// <summary>The id of the node's first entry, deleted or not: the key Redis files the node under.</summary>
    public StreamId Master { get; }

    /// <summary>The id of the node's last entry, deleted or not.</summary>
    public StreamId Last { get; set; }

    public byte[] Data { get; set; }

    /// <summary>Bytes of <see cref="Data"/> in use.</summary>
    public int Used { get; set; }

    /// <summary>Where the first entry starts, after the master fields.</summary>
    public int EntriesStart { get; set; }

    public int MasterFieldCount { get; set; }

    /// <summary>Where the master field names start (after their count).</summary>
    public int MasterFieldsStart { get; set; }

    /// <summary>Entries not deleted.</summary>
    public int Live { get; set; }

    /// <summary>Entries flagged deleted, still taking their bytes and their place in the entry count.</summary>
    public int Deleted { get; set; }

    /// <summary>
    /// The bytes Redis's listpack for these same entries takes (lpBytes), kept only to decide, as Redis
    /// does, when a node is full: where nodes split decides what <c>MAXLEN ~</c> and <c>MINID ~</c> trim.
    /// </summary>
    public int ListpackBytes { get; set; }

    /// <summary>Removed from the middle of the stream (all its entries deleted) but not yet compacted away.</summary>
    public bool Removed { get; set; }

    /// <summary>
    /// The snapshot of a rewrite still reading <see cref="Data"/> (its bytes up to <see cref="Used"/>), or null.
    /// While it is active the bytes in use are not changed in place: a delete flag copies the array first
    /// (<see cref="StreamValue"/>'s Unshare). Appends write past <see cref="Used"/> and a resize makes a new
    /// array, so neither touches what the snapshot reads. Under <see cref="KeyStore.Gate"/>.
    /// </summary>
    public SnapshotToken? SharedWith { get; set; }

    /// <summary>Live and deleted entries: what Redis counts against stream-node-max-entries.</summary>
    public int EntryCount => Live + Deleted;

    /// <summary>Reads the entry at <paramref name="offset"/>: its flags, id, pair count, where its strings start, and where the next entry starts.</summary>
    public byte ReadEntry(int offset, out StreamId id, out int pairs, out int stringsStart, out int next)
    {
        var data = Data;
        var flags = data[offset];
        var position = offset + 1;
        var msDelta = Varint.Read(data, ref position);
        var seq = Varint.Read(data, ref position);
        id = msDelta == 0 ? new StreamId(Master.Ms, Master.Seq + seq) : new StreamId(Master.Ms + msDelta, seq);
        var sameFields = (flags & FlagSameFields) != 0;
        pairs = sameFields ? MasterFieldCount : (int)Varint.Read(data, ref position);
        stringsStart = position;
        var strings = sameFields ? pairs : pairs * 2;
        for (var i = 0; i < strings; i++)
        {
            var length = (int)Varint.Read(data, ref position);
            position += length;
        }

        next = position;
        return flags;
    }

    /// <summary>The id at <paramref name="offset"/> and where the next entry starts, without walking its strings more than needed.</summary>
    public StreamId ReadId(int offset, out byte flags, out int next)
    {
        flags = ReadEntry(offset, out var id, out _, out _, out next);
        return id;
    }

    /// <summary>Fills <paramref name="offsets"/> with where each entry starts, in order; returns how many.</summary>
    public int EntryOffsets(Span<int> offsets)
    {
        var count = 0;
        for (var offset = EntriesStart; offset < Used; count++)
        {
            offsets[count] = offset;
            ReadEntry(offset, out _, out _, out _, out offset);
        }

        return count;
    }
}

/// <summary>
/// A rewrite's snapshot of the streams, as seen by the nodes it shares (<see cref="StreamNode.SharedWith"/>):
/// active from its capture under the gate until the rewrite has read every node. Set inactive by the rewrite
/// (a volatile write after its last read), read under the gate by whoever changes a node in place.
/// </summary>
internal sealed class SnapshotToken
{
    private volatile bool _active = true;

    public bool Active => _active;

    public void Release() => _active = false;
}

/// <summary>Unsigned LEB128 varints: 7 bits a byte, low bits first, the high bit set on all but the last byte.</summary>
internal static class Varint
{
    public static int Size(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    public static int Write(Span<byte> destination, ulong value)
    {
        var n = 0;
        while (value >= 0x80)
        {
            destination[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[n++] = (byte)value;
        return n;
    }

    public static ulong Read(ReadOnlySpan<byte> source, ref int position)
    {
        ulong value = 0;
        var shift = 0;
        while (true)
        {
            var b = source[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }

            shift += 7;
        }
    }
}

/// <summary>
/// The sizes of Redis's listpack encoding (listpack.c): what a stream node would take in Redis, to split
/// nodes where Redis splits them.
/// </summary>
internal static class ListpackSize
{
    /// <summary>Header (total bytes, element count) and end marker.</summary>
    public const int Empty = 7;

    /// <summary>An integer element: its encoding (lpEncodeIntegerGetType) and one back-length byte.</summary>
    public static int Integer(long value) => value switch
    {
        >= 0 and <= 127 => 2,
        >= -4096 and <= 4095 => 3,
        >= short.MinValue and <= short.MaxValue => 4,
        >= -8388608 and <= 8388607 => 5,
        >= int.MinValue and <= int.MaxValue => 6,
        _ => 10,
    };

    /// <summary>A string element: stored as an integer when it is one (lpStringToInt64), else its header, bytes and back-length.</summary>
    public static int String(ReadOnlySpan<byte> value)
    {
        if (TryParseInteger(value, out var integer))
        {
            return Integer(integer);
        }

        long length = value.Length;
        var encoded = length < 64 ? 1 + length : length < 4096 ? 2 + length : 5 + length;
        return (int)Math.Min(int.MaxValue, encoded + BackLength(encoded));
    }

    private static int BackLength(long encoded) => encoded switch
    {
        <= 127 => 1,
        < 16383 => 2,
        < 2097151 => 3,
        < 268435455 => 4,
        _ => 5,
    };

    /// <summary>lpStringToInt64: a canonical decimal int64 of at most 20 characters.</summary>
    private static bool TryParseInteger(ReadOnlySpan<byte> text, out long value)
        => Protocol.RespNumber.TryParseInt64(text, out value);
}
