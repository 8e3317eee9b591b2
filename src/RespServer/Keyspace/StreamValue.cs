using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Keyspace;

/// <summary>Where an entry lies: its node and the offset of its flags byte.</summary>
internal readonly record struct StreamEntryRef(StreamNode Node, int Offset);

/// <summary>
/// An entry's fields and values in order (field, value, field, value …): an XADD request's arguments from
/// one on, or the single <c>message</c> field a PUBLISH to a channel with history stores.
/// </summary>
internal readonly ref struct EntryFields
{
    private readonly RespRequest _request;
    private readonly int _first;
    private readonly ReadOnlySpan<byte> _message;
    private readonly bool _isMessage;

    public EntryFields(in RespRequest request, int first)
    {
        _request = request;
        _first = first;
    }

    private EntryFields(ReadOnlySpan<byte> message)
    {
        _message = message;
        _isMessage = true;
    }

    /// <summary>The field name under which a published message is stored.</summary>
    public static ReadOnlySpan<byte> MessageField => "message"u8;

    public int Count => _isMessage ? 2 : _request.Count - _first;

    public ReadOnlySpan<byte> this[int index] => _isMessage ? (index == 0 ? MessageField : _message) : _request[_first + index];

    /// <summary>One field, <c>message</c>, holding <paramref name="message"/>.</summary>
    public static EntryFields Message(ReadOnlySpan<byte> message) => new(message);
}

/// <summary>How XADD's and XTRIM's trimming goes (streamAddTrimArgs).</summary>
internal enum StreamTrimStrategy
{
    None,
    MaxLen,
    MinId,
}

/// <summary>What an append can fail with.</summary>
internal enum StreamAppendResult
{
    Added,

    /// <summary>The id is not greater than the stream's last id.</summary>
    IdTooSmall,

    /// <summary>The entry's strings exceed what a node may hold, or an ms-* id has no sequence left.</summary>
    TooLarge,
}

/// <summary>
/// A stream (Redis's t_stream.c): entries in id order, packed into <see cref="StreamNode"/>s that split where
/// Redis's listpack nodes split (at <see cref="NodeMaxEntries"/> entries, or when the node's listpack size
/// plus the new entry's strings reaches <see cref="NodeMaxBytes"/>). The nodes sit in id order in one array
/// used as a deque: a binary search over the nodes' first ids seeks in O(log n), appending and trimming the
/// head are O(1) amortised. A node emptied by XDEL in the middle is flagged removed and compacted away once
/// such nodes are half of the array, so no delete moves the whole array. Not thread-safe: used under
/// <see cref="KeyStore.Gate"/>.
/// </summary>
internal sealed class StreamValue : KeyValue
{
    /// <summary>Redis's default stream-node-max-entries.</summary>
    public const int NodeMaxEntries = 100;

    /// <summary>Redis's default stream-node-max-bytes.</summary>
    public const int NodeMaxBytes = 4096;

    /// <summary>STREAM_LISTPACK_MAX_SIZE: the most bytes an entry's fields and values may total.</summary>
    public const long MaxEntryBytes = 1L << 30;

    private const int InitialNodeCapacity = 128;

    /// <summary>
    /// The bytes the last node that filled up used: a new node's array starts at that size (and 1/32
    /// more), so a stream whose entries keep their size allocates each node's array once, instead of
    /// doubling it up from <see cref="InitialNodeCapacity"/> and copying it to its exact size when full.
    /// 0 until a node has filled: a stream of a few entries keeps a small array.
    /// </summary>
    private int _nodeSizeHint;

    /// <summary>What a node holds besides its array: the object and its fields, and the array's header.</summary>
    private const int NodeOverhead = 96;

    /// <summary>What the stream object itself holds, without its nodes.</summary>
    private const int StreamOverhead = 120;

    private StreamNode?[] _nodes = [];

    /// <summary>The nodes' bytes: their arrays' capacity plus <see cref="NodeOverhead"/> each.</summary>
    private long _nodeBytes;
    private int _first;
    private int _end;
    private int _removed;

    public override string TypeName => "stream";

    /// <summary>Entries not deleted.</summary>
    public long Length { get; private set; }

    /// <summary>The greatest id ever added or set by XSETID ("last-generated-id").</summary>
    public StreamId LastId { get; set; }

    /// <summary>The first entry not deleted, 0-0 when empty ("recorded-first-entry-id").</summary>
    public StreamId FirstId { get; private set; }

    /// <summary>The greatest id XDEL deleted ("max-deleted-entry-id").</summary>
    public StreamId MaxDeletedId { get; set; }

    /// <summary>Entries ever added ("entries-added").</summary>
    public long EntriesAdded { get; set; }

    /// <summary>
    /// Consumer groups (XGROUP, XREADGROUP) are not kept yet: a stream has none, which XINFO reports. They
    /// belong here, beside the entries, as Redis keeps them in the stream object.
    /// </summary>
    public int GroupCount => 0;

    /// <summary>
    /// Whether PUBLISH has kept a message here (channel history): only such streams are aged out by the
    /// history sweep. A stream only XADD writes to is bounded by its writers' MAXLEN/MINID alone, as in Redis.
    /// </summary>
    public bool IsChannelHistory { get; set; }

    /// <summary>
    /// Bytes this stream holds, as the allocations count them (the arrays' capacity, not the bytes in use);
    /// kept as nodes come and go and grow, so reading it is O(1).
    /// </summary>
    public long MemoryBytes => StreamOverhead + _nodeBytes + ((long)_nodes.Length * IntPtr.Size) + (Trimmed?.Bytes ?? 0);

    /// <summary>
    /// For a channel history: the ids its trims removed (count, age, history-max-memory), so a follower
    /// learns how many messages after its cursor are gone. Null for other streams.
    /// </summary>
    public TrimmedIds? Trimmed { get; set; }

    /// <summary>What <see cref="MemoryBytes"/> should be, counted from the nodes (tests check the running count against it).</summary>
    internal long RecountMemoryBytes()
    {
        long bytes = 0;
        for (var i = _first; i < _end; i++)
        {
            if (_nodes[i] is { Removed: false } node)
            {
                bytes += Bytes(node);
            }
        }

        return StreamOverhead + bytes + ((long)_nodes.Length * IntPtr.Size) + (Trimmed?.Bytes ?? 0);
    }

    /// <summary>The id of the first node's first entry (deleted or not), or null without nodes.</summary>
    public StreamId? FirstNodeMaster => _first < _end ? _nodes[_first]!.Master : null;

    /// <summary>The id of the first node's last entry: trimming to just past it drops that node alone.</summary>
    public StreamId? FirstNodeLastId => _first < _end ? _nodes[_first]!.Last : null;

    /// <summary>Nodes holding entries (XINFO's radix-tree-keys).</summary>
    public int NodeCount => _end - _first - _removed;

    /// <summary>
    /// XADD's append (streamAppendItem): the fields and values are <paramref name="request"/>'s arguments from
    /// <paramref name="firstField"/> on. <paramref name="explicitId"/> null generates the id from
    /// <paramref name="nowMs"/>; with <paramref name="seqGiven"/> false only its ms is given ("ms-*").
    /// </summary>
    public StreamAppendResult Append(in RespRequest request, int firstField, StreamId? explicitId, bool seqGiven, ulong nowMs, out StreamId added)
        => Append(new EntryFields(request, firstField), explicitId, seqGiven, nowMs, out added);

    /// <summary>Appends one entry whose fields and values are <paramref name="fields"/>, as XADD does.</summary>
    public StreamAppendResult Append(in EntryFields fields, StreamId? explicitId, bool seqGiven, ulong nowMs, out StreamId added)
    {
        added = default;
        StreamId id;
        if (explicitId is { } given)
        {
            if (seqGiven)
            {
                id = given;
            }
            else if (LastId.Ms == given.Ms)
            {
                if (LastId.Seq == ulong.MaxValue)
                {
                    // Redis returns this failure without setting errno, and so reports it as too large.
                    return StreamAppendResult.TooLarge;
                }

                id = new StreamId(LastId.Ms, LastId.Seq + 1);
            }
            else
            {
                id = given;
            }
        }
        else if (nowMs > LastId.Ms)
        {
            id = new StreamId(nowMs, 0);
        }
        else
        {
            LastId.TryIncrement(out id);
        }

        if (id <= LastId)
        {
            return StreamAppendResult.IdTooSmall;
        }

        var pairs = fields.Count / 2;
        long stringBytes = 0;
        for (var i = 0; i < fields.Count; i++)
        {
            stringBytes += fields[i].Length;
        }

        if (stringBytes > MaxEntryBytes)
        {
            return StreamAppendResult.TooLarge;
        }

        var tail = Tail();
        if (tail is not null && (tail.ListpackBytes + stringBytes >= NodeMaxBytes || tail.EntryCount >= NodeMaxEntries))
        {
            // Full: later appends go to a new node, so this one's spare capacity is no longer needed; it is
            // given back when it is more than 1/16 of what the node uses, so entries stay as dense as Redis's.
            _nodeSizeHint = tail.Used;
            if (tail.Data.Length - tail.Used > tail.Used / 16)
            {
                var data = tail.Data;
                _nodeBytes -= data.Length - tail.Used;
                Array.Resize(ref data, tail.Used);
                tail.Data = data;
            }

            tail = null;
        }

        bool sameFields;
        if (tail is null)
        {
            tail = NewNode(id, fields, pairs);
            sameFields = true;
        }
        else
        {
            sameFields = HasMasterFields(tail, fields, pairs);
        }

        _nodeBytes += AppendEntry(tail, id, fields, pairs, sameFields);
        Length++;
        EntriesAdded++;
        LastId = id;
        if (Length == 1)
        {
            FirstId = id;
        }

        added = id;
        return StreamAppendResult.Added;
    }

    /// <summary>
    /// Trims from the head (streamTrim): whole nodes while they may go, then, unless
    /// <paramref name="approximate"/>, entries inside the next node are flagged deleted. A non-zero
    /// <paramref name="limit"/> caps the entries removed. Returns how many were removed.
    /// </summary>
    public long Trim(StreamTrimStrategy strategy, long maxLength, StreamId minId, bool approximate, long limit)
    {
        if (strategy == StreamTrimStrategy.None)
        {
            return 0;
        }

        long deleted = 0;
        while (_first < _end)
        {
            var node = _nodes[_first]!;
            if (strategy == StreamTrimStrategy.MaxLen && Length <= maxLength)
            {
                break;
            }

            long entries = node.Live;
            if (limit != 0 && deleted + entries > limit)
            {
                break;
            }

            var removeNode = strategy == StreamTrimStrategy.MaxLen ? Length - entries >= maxLength : node.Last < minId;
            if (removeNode)
            {
                RecordTrimmed(node);
                RemoveHead();
                Length -= entries;
                deleted += entries;
                continue;
            }

            if (approximate)
            {
                break;
            }

            var fromNode = 0;
            for (var offset = node.EntriesStart; offset < node.Used;)
            {
                var entry = offset;
                var id = node.ReadId(entry, out var flags, out offset);
                var stop = strategy == StreamTrimStrategy.MaxLen ? Length <= maxLength : id >= minId;
                if (stop)
                {
                    break;
                }

                if ((flags & StreamNode.FlagDeleted) == 0)
                {
                    Unshare(node);
                    node.Data[entry] = (byte)(flags | StreamNode.FlagDeleted);
                    Trimmed?.Add(id);
                    fromNode++;
                    Length--;
                }
            }

            // A node left with no live entry stays, as in Redis, until a later trim removes it.
            node.Live -= fromNode;
            node.Deleted += fromNode;
            deleted += fromNode;
            break;
        }

        if (Length == 0)
        {
            FirstId = StreamId.Min;
        }
        else if (deleted > 0)
        {
            FirstId = FirstLiveId();
        }

        return deleted;
    }

    /// <summary>Records the live ids of a node a trim removes whole, for a stream that keeps a <see cref="Trimmed"/> record.</summary>
    private void RecordTrimmed(StreamNode node)
    {
        if (Trimmed is null || node.Live == 0)
        {
            return;
        }

        for (var offset = node.EntriesStart; offset < node.Used;)
        {
            var id = node.ReadId(offset, out var flags, out offset);
            if ((flags & StreamNode.FlagDeleted) == 0)
            {
                Trimmed.Add(id);
            }
        }
    }

    /// <summary>XDEL of one id (streamDeleteItem): true when a live entry had it.</summary>
    public bool Delete(StreamId id)
    {
        var slot = SeekSlot(id);
        if (slot < 0 || _nodes[slot]!.Removed || _nodes[slot]!.Last < id)
        {
            return false;
        }

        var node = _nodes[slot]!;
        for (var offset = node.EntriesStart; offset < node.Used;)
        {
            var entry = offset;
            var current = node.ReadId(entry, out var flags, out offset);
            if (current > id)
            {
                return false;
            }

            if (current == id)
            {
                if ((flags & StreamNode.FlagDeleted) != 0)
                {
                    return false;
                }

                Unshare(node);
                node.Data[entry] = (byte)(flags | StreamNode.FlagDeleted);
                node.Live--;
                node.Deleted++;
                Length--;
                if (node.Live == 0)
                {
                    RemoveNode(slot);
                }

                return true;
            }
        }

        return false;
    }

    /// <summary>After XDEL: the first live id again, or 0-0 when none is left.</summary>
    public void RefreshFirstId() => FirstId = Length == 0 ? StreamId.Min : FirstLiveId();

    /// <summary>The last entry not deleted (streamLastValidID), or null when the stream is empty.</summary>
    public StreamId? LastLiveId()
    {
        var found = new List<StreamEntryRef>(1);
        return Collect(StreamId.Min, StreamId.Max, reverse: true, 1, found) > 0 ? IdOf(found[0]) : null;
    }

    /// <summary>
    /// The live entries from <paramref name="start"/> to <paramref name="end"/> inclusive, in id order or
    /// reversed, at most <paramref name="count"/> of them (0: all), added to <paramref name="found"/>.
    /// </summary>
    public int Collect(StreamId start, StreamId end, bool reverse, long count, List<StreamEntryRef> found)
    {
        var added = 0;
        if (_first == _end || start > end)
        {
            return 0;
        }

        if (!reverse)
        {
            var slot = Math.Max(SeekSlot(start), _first);
            for (; slot < _end; slot++)
            {
                var node = _nodes[slot]!;
                if (node.Master > end)
                {
                    break;
                }

                if (node.Removed || node.Live == 0 || node.Last < start)
                {
                    continue;
                }

                for (var offset = node.EntriesStart; offset < node.Used;)
                {
                    var entry = offset;
                    var id = node.ReadId(entry, out var flags, out offset);
                    if (id > end)
                    {
                        return added;
                    }

                    if (id >= start && (flags & StreamNode.FlagDeleted) == 0)
                    {
                        found.Add(new StreamEntryRef(node, entry));
                        if (++added == count)
                        {
                            return added;
                        }
                    }
                }
            }

            return added;
        }

        var from = SeekSlot(end);
        if (from < 0)
        {
            return 0;
        }

        Span<int> offsets = stackalloc int[NodeMaxEntries];
        for (var slot = from; slot >= _first; slot--)
        {
            var node = _nodes[slot]!;
            if (node.Last < start)
            {
                break;
            }

            if (node.Removed || node.Live == 0)
            {
                continue;
            }

            var n = node.EntryOffsets(offsets);
            for (var i = n - 1; i >= 0; i--)
            {
                var id = node.ReadId(offsets[i], out var flags, out _);
                if (id < start)
                {
                    return added;
                }

                if (id <= end && (flags & StreamNode.FlagDeleted) == 0)
                {
                    found.Add(new StreamEntryRef(node, offsets[i]));
                    if (++added == count)
                    {
                        return added;
                    }
                }
            }
        }

        return added;
    }

    public static StreamId IdOf(StreamEntryRef entry) => entry.Node.ReadId(entry.Offset, out _, out _);

    /// <summary>An entry as Redis replies it: [id, [field, value, ...]], arrays in RESP2 and RESP3 alike.</summary>
    public static void WriteEntry(RespWriter writer, StreamEntryRef entry)
    {
        var node = entry.Node;
        var flags = node.ReadEntry(entry.Offset, out var id, out var pairs, out var position, out _);
        writer.WriteArrayHeader(2);
        WriteId(writer, id);
        writer.WriteArrayHeader(pairs * 2L);
        var data = node.Data;
        var fieldPosition = node.MasterFieldsStart;
        var sameFields = (flags & StreamNode.FlagSameFields) != 0;
        for (var i = 0; i < pairs; i++)
        {
            writer.WriteBulk(ReadString(data, ref sameFields ? ref fieldPosition : ref position));
            writer.WriteBulk(ReadString(data, ref position));
        }
    }

    /// <summary>The value of the entry's <c>message</c> field (the one field of a PUBLISH kept as history); false when it has none.</summary>
    public static bool TryReadMessage(StreamEntryRef entry, out ReadOnlySpan<byte> message)
    {
        var node = entry.Node;
        var flags = node.ReadEntry(entry.Offset, out _, out var pairs, out var position, out _);
        var data = node.Data;
        var fieldPosition = node.MasterFieldsStart;
        var sameFields = (flags & StreamNode.FlagSameFields) != 0;
        for (var i = 0; i < pairs; i++)
        {
            var field = ReadString(data, ref sameFields ? ref fieldPosition : ref position);
            var length = (int)Varint.Read(data, ref position);
            if (field.SequenceEqual(EntryFields.MessageField))
            {
                message = data.AsSpan(position, length);
                return true;
            }

            position += length;
        }

        message = default;
        return false;
    }

    public static void WriteId(RespWriter writer, StreamId id)
    {
        Span<byte> text = stackalloc byte[StreamId.MaxTextLength];
        writer.WriteBulk(text[..id.Format(text)]);
    }

    /// <summary>
    /// Redis's radix-tree-nodes: the nodes of a radix tree (rax) holding this stream's node keys, 16-byte
    /// big-endian ids: the root, one per key, one per branching prefix, and one per chain below a branch
    /// that leads to neither. Walks the nodes once, O(nodes), for XINFO only.
    /// </summary>
    public long RadixTreeNodes()
    {
        var keys = NodeCount;
        if (keys == 0)
        {
            return 1;
        }

        // Branching prefixes are the common-prefix lengths of neighbouring keys: a stack of open
        // branch depths finds which neighbours share a branch, and each branch's parent branch.
        var stack = new List<(int Depth, int Children)>();
        long branches = 0;
        long chainHeads = 0;
        StreamId? previous = null;

        void Close((int Depth, int Children) branch, int parentDepth)
        {
            // A branch at the root is the root node itself. Its children: leaves when it is at the last
            // byte, else each heads a node of its own, unless that child is itself a branch one byte further
            // down (subtracted when that branch closes).
            if (branch.Depth > 0)
            {
                branches++;
            }

            if (branch.Depth < 15)
            {
                chainHeads += branch.Children;
            }

            if (parentDepth >= 0 && parentDepth + 1 == branch.Depth && parentDepth < 15)
            {
                chainHeads--;
            }
        }

        for (var slot = _first; slot < _end; slot++)
        {
            var node = _nodes[slot]!;
            if (node.Removed)
            {
                continue;
            }

            if (previous is { } before)
            {
                var depth = CommonPrefixBytes(before, node.Master);
                while (stack.Count > 0 && stack[^1].Depth > depth)
                {
                    var closed = stack[^1];
                    stack.RemoveAt(stack.Count - 1);
                    var parentDepth = stack.Count > 0 && stack[^1].Depth >= depth ? stack[^1].Depth : depth;
                    Close(closed, parentDepth);
                }

                if (stack.Count > 0 && stack[^1].Depth == depth)
                {
                    stack[^1] = (depth, stack[^1].Children + 1);
                }
                else
                {
                    stack.Add((depth, 2));
                }
            }

            previous = node.Master;
        }

        while (stack.Count > 0)
        {
            var closed = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            Close(closed, stack.Count > 0 ? stack[^1].Depth : -1);
        }

        // A root that does not branch heads the chain down to the first branch or key: no node of its own.
        return 1 + keys + branches + chainHeads;
    }

    private static int CommonPrefixBytes(StreamId a, StreamId b)
    {
        var ms = a.Ms ^ b.Ms;
        if (ms != 0)
        {
            return System.Numerics.BitOperations.LeadingZeroCount(ms) / 8;
        }

        var seq = a.Seq ^ b.Seq;
        return seq == 0 ? 16 : 8 + (System.Numerics.BitOperations.LeadingZeroCount(seq) / 8);
    }

    private static ReadOnlySpan<byte> ReadString(byte[] data, ref int position)
    {
        var length = (int)Varint.Read(data, ref position);
        var value = data.AsSpan(position, length);
        position += length;
        return value;
    }

    /// <summary>The first live id; the stream is not empty.</summary>
    private StreamId FirstLiveId()
    {
        var found = new List<StreamEntryRef>(1);
        Collect(StreamId.Min, StreamId.Max, reverse: false, 1, found);
        return IdOf(found[0]);
    }

    /// <summary>The slot of the last node whose first id is at most <paramref name="id"/>, else the first slot, or -1 when there is none.</summary>
    private int SeekSlot(StreamId id)
    {
        if (_first == _end)
        {
            return -1;
        }

        int low = _first, high = _end - 1;
        if (_nodes[low]!.Master > id)
        {
            return _first;
        }

        while (low < high)
        {
            var middle = low + ((high - low + 1) / 2);
            if (_nodes[middle]!.Master <= id)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        return low;
    }

    /// <summary>
    /// For a rewrite, under the gate: a copy of each node's fields that shares its array (O(nodes), no entry is
    /// copied), and the nodes marked shared with <paramref name="token"/> so that, while it is active, no byte the
    /// copies read is changed in place (<see cref="Unshare"/>).
    /// </summary>
    public StreamNode[] Capture(SnapshotToken token)
    {
        var nodes = new StreamNode[NodeCount];
        var n = 0;
        for (var slot = _first; slot < _end; slot++)
        {
            var node = _nodes[slot]!;
            if (node.Removed)
            {
                continue;
            }

            node.SharedWith = token;
            nodes[n++] = new StreamNode(node.Master, node.Data)
            {
                Last = node.Last,
                Used = node.Used,
                EntriesStart = node.EntriesStart,
                MasterFieldCount = node.MasterFieldCount,
                MasterFieldsStart = node.MasterFieldsStart,
                Live = node.Live,
                Deleted = node.Deleted,
            };
        }

        return nodes;
    }

    /// <summary>Before a byte in use is changed in place: a node a rewrite still reads gets an array of its own.</summary>
    private static void Unshare(StreamNode node)
    {
        if (node.SharedWith is { } token)
        {
            node.SharedWith = null;
            if (token.Active)
            {
                node.Data = (byte[])node.Data.Clone();
            }
        }
    }

    private StreamNode? Tail() => _first < _end ? _nodes[_end - 1] : null;

    private void RemoveHead()
    {
        _nodeBytes -= Bytes(_nodes[_first]!);
        _nodes[_first++] = null;
        while (_first < _end && _nodes[_first]!.Removed)
        {
            _nodes[_first++] = null;
            _removed--;
        }

        if (_first == _end)
        {
            _first = _end = 0;
        }
    }

    private void RemoveNode(int slot)
    {
        if (slot == _first)
        {
            RemoveHead();
            return;
        }

        _nodeBytes -= Bytes(_nodes[slot]!);
        if (slot == _end - 1)
        {
            _nodes[--_end] = null;
            while (_end > _first && _nodes[_end - 1]!.Removed)
            {
                _nodes[--_end] = null;
                _removed--;
            }

            return;
        }

        _nodes[slot]!.Removed = true;
        _removed++;
        if (_removed * 2 > _end - _first)
        {
            Compact();
        }
    }

    /// <summary>Moves the nodes in use to the start of the array, dropping removed ones.</summary>
    private void Compact()
    {
        var write = 0;
        for (var read = _first; read < _end; read++)
        {
            var node = _nodes[read]!;
            _nodes[read] = null;
            if (!node.Removed)
            {
                _nodes[write++] = node;
            }
        }

        _first = 0;
        _end = write;
        _removed = 0;
    }

    private static long Bytes(StreamNode node) => NodeOverhead + node.Data.Length;

    private void AddNode(StreamNode node)
    {
        _nodeBytes += Bytes(node);
        if (_end == _nodes.Length)
        {
            if (_first > 0 && _first * 2 >= _nodes.Length)
            {
                Compact();
            }
            else
            {
                Array.Resize(ref _nodes, Math.Max(4, _nodes.Length * 2));
            }
        }

        _nodes[_end++] = node;
    }

    private StreamNode NewNode(StreamId master, in EntryFields fields, int pairs)
    {
        var header = Varint.Size((ulong)pairs);
        var listpack = ListpackSize.Empty + (2 * ListpackSize.Integer(0)) + ListpackSize.Integer(pairs) + ListpackSize.Integer(0);
        for (var i = 0; i < pairs; i++)
        {
            var field = fields[2 * i];
            header += Varint.Size((ulong)field.Length) + field.Length;
            listpack += ListpackSize.String(field);
        }

        var capacity = _nodeSizeHint > 0 ? _nodeSizeHint + (_nodeSizeHint / 32) : InitialNodeCapacity;
        var node = new StreamNode(master, new byte[Math.Max(capacity, header)])
        {
            MasterFieldCount = pairs,
            ListpackBytes = listpack,
        };

        var position = Varint.Write(node.Data, (ulong)pairs);
        node.MasterFieldsStart = position;
        for (var i = 0; i < pairs; i++)
        {
            var field = fields[2 * i];
            position += Varint.Write(node.Data.AsSpan(position), (ulong)field.Length);
            field.CopyTo(node.Data.AsSpan(position));
            position += field.Length;
        }

        node.Used = node.EntriesStart = position;
        AddNode(node);
        return node;
    }

    private static bool HasMasterFields(StreamNode node, in EntryFields fields, int pairs)
    {
        if (pairs != node.MasterFieldCount)
        {
            return false;
        }

        var position = node.MasterFieldsStart;
        for (var i = 0; i < pairs; i++)
        {
            if (!ReadString(node.Data, ref position).SequenceEqual(fields[2 * i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes the entry at the node's end; returns by how many bytes the node's array grew.</summary>
    private static int AppendEntry(StreamNode node, StreamId id, in EntryFields fields, int pairs, bool sameFields)
    {
        var grown = 0;
        var msDelta = id.Ms - node.Master.Ms;
        var seq = msDelta == 0 ? id.Seq - node.Master.Seq : id.Seq;
        var size = 1 + Varint.Size(msDelta) + Varint.Size(seq) + (sameFields ? 0 : Varint.Size((ulong)pairs));

        // Redis's entry: flags, ms and seq differences from the master, [count, fields], values, element count.
        var listpack = ListpackSize.Integer(sameFields ? StreamNode.FlagSameFields : 0)
            + ListpackSize.Integer(unchecked((long)msDelta))
            + ListpackSize.Integer(unchecked((long)(id.Seq - node.Master.Seq)))
            + ListpackSize.Integer(pairs + 3 + (sameFields ? 0 : pairs + 1));
        if (!sameFields)
        {
            listpack += ListpackSize.Integer(pairs);
        }

        for (var i = 0; i < fields.Count; i++)
        {
            var value = fields[i];
            var isField = i % 2 == 0;
            if (isField && sameFields)
            {
                continue;
            }

            size += Varint.Size((ulong)value.Length) + value.Length;
            listpack += ListpackSize.String(value);
        }

        if (node.Used + size > node.Data.Length)
        {
            var data = node.Data;
            grown = -data.Length;
            Array.Resize(ref data, Math.Max(node.Used + size, Math.Min(data.Length * 2, node.Used + size + NodeMaxBytes)));
            node.Data = data;
            grown += data.Length;
        }

        var span = node.Data.AsSpan(node.Used);
        span[0] = sameFields ? StreamNode.FlagSameFields : (byte)0;
        var n = 1 + Varint.Write(span[1..], msDelta);
        n += Varint.Write(span[n..], seq);
        if (!sameFields)
        {
            n += Varint.Write(span[n..], (ulong)pairs);
        }

        for (var i = 0; i < fields.Count; i++)
        {
            if (sameFields && i % 2 == 0)
            {
                continue;
            }

            var value = fields[i];
            n += Varint.Write(span[n..], (ulong)value.Length);
            value.CopyTo(span[n..]);
            n += value.Length;
        }

        node.Used += n;
        node.Live++;
        node.Last = id;
        node.ListpackBytes = (int)Math.Min(int.MaxValue, (long)node.ListpackBytes + listpack);
        return grown;
    }
}
