namespace Notistream.RespServer.Keyspace;

/// <summary>
/// The ids of the entries a channel history's trims removed (its count and age bounds, history-max-memory),
/// oldest first, kept so that a follower resuming from an id learns exactly how many messages after that id
/// are gone (NOTI.SUBSCRIBE's gap notice). Entries removed by XDEL are not recorded: that is a deliberate
/// deletion, not a message lost to a bound.
/// <para>
/// The ids are packed as varints, a chunk at a time: per id, the millisecond's distance from the previous
/// id, then the sequence (or, in the same millisecond, the sequence's distance); 2–4 bytes an id for
/// messages published in bursts or seconds apart. At most <see cref="Capacity"/> ids are kept; older chunks
/// are forgotten, and <see cref="ForgottenUpTo"/> remembers how far, so that a count reaching back into
/// them is reported as unknown rather than guessed. Not thread-safe: its stream's owner (the gate) guards it.
/// </para>
/// </summary>
internal sealed class TrimmedIds(long capacity)
{
    private const int ChunkBytes = 512;
    private const int ChunkOverhead = 64;

    private readonly Queue<Chunk> _chunks = new();
    private Chunk? _open;

    /// <summary>How many ids are kept at most; set from the channel's rule (its max-entries, within bounds).</summary>
    public long Capacity { get; set; } = capacity;

    /// <summary>Ids held.</summary>
    public long Count { get; private set; }

    /// <summary>The greatest id this record forgot (no longer counted); <see cref="StreamId.Min"/> when none.</summary>
    public StreamId ForgottenUpTo { get; private set; }

    /// <summary>The last id recorded; <see cref="StreamId.Min"/> when none ever was.</summary>
    public StreamId LastId { get; private set; }

    /// <summary>Memory held, counted in the stream's <see cref="StreamValue.MemoryBytes"/>.</summary>
    public long Bytes { get; private set; }

    /// <summary>Records <paramref name="id"/>, greater than every id recorded before (trims remove from the head).</summary>
    public void Add(StreamId id)
    {
        if (id <= LastId && Count + _chunks.Count > 0)
        {
            return;
        }

        if (_open is null || _open.Used > ChunkBytes - 20)
        {
            // A chunk starts small (most channels lose few messages) and doubles up to ChunkBytes.
            _open = new Chunk(id, new byte[64]);
            _chunks.Enqueue(_open);
            Bytes += 64 + ChunkOverhead;
        }
        else
        {
            var previous = _open.Last;
            Span<byte> scratch = stackalloc byte[20];
            int n;
            if (id.Ms == previous.Ms)
            {
                n = Varint.Write(scratch, 0);
                n += Varint.Write(scratch[n..], id.Seq - previous.Seq);
            }
            else
            {
                n = Varint.Write(scratch, id.Ms - previous.Ms);
                n += Varint.Write(scratch[n..], id.Seq);
            }

            if (_open.Used + n > _open.Data.Length)
            {
                var grown = new byte[Math.Min(ChunkBytes, _open.Data.Length * 2)];
                _open.Data.AsSpan(0, _open.Used).CopyTo(grown);
                Bytes += grown.Length - _open.Data.Length;
                _open.Data = grown;
            }

            scratch[..n].CopyTo(_open.Data.AsSpan(_open.Used));
            _open.Used += n;
        }

        _open.Last = id;
        _open.Count++;
        Count++;
        LastId = id;
        while (Count > Capacity && _chunks.Count > 1)
        {
            var oldest = _chunks.Dequeue();
            Count -= oldest.Count;
            Bytes -= oldest.Data.Length + ChunkOverhead;
            ForgottenUpTo = oldest.Last;
        }
    }

    /// <summary>
    /// Removals this record never saw, all at or below <paramref name="id"/> (a stream loaded from a rewritten
    /// log knows how many entries it lost, not their ids): a count reaching back there is unknown.
    /// </summary>
    public void ForgetUpTo(StreamId id)
    {
        if (id > ForgottenUpTo)
        {
            ForgottenUpTo = id;
        }
    }

    /// <summary>
    /// How many recorded ids are greater than <paramref name="after"/>; null when some forgotten id may be
    /// (the count is then unknown). Reads only the chunk that holds <paramref name="after"/>.
    /// </summary>
    public long? CountAfter(StreamId after)
    {
        if (ForgottenUpTo > after)
        {
            return null;
        }

        long count = 0;
        foreach (var chunk in _chunks)
        {
            if (chunk.Last <= after)
            {
                continue;
            }

            if (chunk.First > after)
            {
                count += chunk.Count;
                continue;
            }

            // The chunk straddles the id: count its ids one by one.
            var id = chunk.First;
            var position = 0;
            for (var i = 0; i < chunk.Count; i++)
            {
                if (i > 0)
                {
                    var ms = Varint.Read(chunk.Data, ref position);
                    var seq = Varint.Read(chunk.Data, ref position);
                    id = ms == 0 ? new StreamId(id.Ms, id.Seq + seq) : new StreamId(id.Ms + ms, seq);
                }

                if (id > after)
                {
                    count += chunk.Count - i;
                    break;
                }
            }
        }

        return count;
    }

    private sealed class Chunk(StreamId first, byte[] data)
    {
        public StreamId First { get; } = first;

        public StreamId Last { get; set; } = first;

        public byte[] Data { get; set; } = data;

        public int Used { get; set; }

        public int Count { get; set; }
    }
}
