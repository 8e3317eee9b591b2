using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// A receiving node's loss accounting (docs/cluster.md#ordering-and-loss). Each of the node's NATS
/// subscriptions for messages has its own <see cref="Stream"/>: per origin node, per channel, the
/// last (epoch, sequence) it received. A NATS subscription receives every message of a channel it
/// matches, so within one subscription an origin's numbers for one channel are contiguous: a number
/// skipped is a message lost. The first message of a channel (or of a new epoch) only sets where
/// counting starts; a number at or below the last one is not counted (NATS keeps a connection's order,
/// so it is not expected).
/// <para>
/// Bounds: at most <see cref="MaxOrigins"/> origins, and <see cref="MaxEntries"/> (subscription, origin,
/// channel) entries holding at most <see cref="MaxBytes"/> (each its channel's length plus
/// <see cref="EntryOverhead"/>) over all streams. A stream that would pass them is emptied first (its
/// channels start counting again at their next message); an origin past <see cref="MaxOrigins"/> is not
/// counted until one is forgotten. Origins are forgotten by <see cref="Expire"/> when the gossip no
/// longer knows them and nothing came from them for the node timeout.
/// </para>
/// <para>
/// Concurrency: <see cref="_lock"/> protects every table (the streams', the origins', the bounds).
/// Written by NATS's reader (<see cref="Observe"/>, one call per message), the interest task
/// (<see cref="Release"/>, when it removes a subscription) and the gossip send task (<see cref="Expire"/>);
/// <see cref="Lost"/> is read by INFO and metrics without the lock.
/// </para>
/// </summary>
internal sealed class SequenceTracker
{
    public const int MaxOrigins = RemoteInterest.MaxNodes;

    public const int MaxEntries = 65_536;

    public const long MaxBytes = 16L * 1024 * 1024;

    public const int EntryOverhead = 64;

    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Origin> _origins = [];
    private readonly HashSet<Stream> _streams = [];
    private readonly int _maxOrigins;
    private readonly int _maxEntries;
    private readonly long _maxBytes;
    private int _entries;
    private long _bytes;
    private long _lost;

    public SequenceTracker(int maxOrigins = MaxOrigins, int maxEntries = MaxEntries, long maxBytes = MaxBytes)
    {
        _maxOrigins = maxOrigins;
        _maxEntries = maxEntries;
        _maxBytes = maxBytes;
    }

    /// <summary>Messages lost: numbers skipped in some stream, over every origin.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Origins tracked now.</summary>
    public int OriginCount
    {
        get
        {
            lock (_lock)
            {
                return _origins.Count;
            }
        }
    }

    /// <summary>(subscription, origin, channel) entries held now.</summary>
    public int EntryCount
    {
        get
        {
            lock (_lock)
            {
                return _entries;
            }
        }
    }

    /// <summary>
    /// One message (or <see cref="ForwardHeader.Gap"/>) received through <paramref name="stream"/>'s
    /// subscription. Returns the messages found lost by it (0 mostly); <paramref name="logNow"/> is the
    /// origin's loss not logged yet when at least a second has passed since its last log, else 0.
    /// </summary>
    public long Observe(Stream stream, byte kind, ulong origin, uint epoch, byte[] channel, ulong sequence, long now, out long logNow)
    {
        logNow = 0;
        lock (_lock)
        {
            if (stream.Released)
            {
                return 0;
            }

            if (!_origins.TryGetValue(origin, out var from))
            {
                if (_origins.Count >= _maxOrigins)
                {
                    return 0;
                }

                from = new Origin();
                _origins[origin] = from;
            }

            from.LastSeen = now;
            if (!stream.Channels.TryGetValue(origin, out var channels))
            {
                channels = new Dictionary<byte[], (uint Epoch, ulong Sequence)>(ByteArrayComparer.Instance);
                stream.Channels[origin] = channels;
            }

            if (!channels.TryGetValue(channel, out var last))
            {
                var cost = channel.Length + EntryOverhead;
                if (_entries + 1 > _maxEntries || _bytes + cost > _maxBytes)
                {
                    ClearLocked(stream);
                    if (_entries + 1 > _maxEntries || _bytes + cost > _maxBytes)
                    {
                        return 0;
                    }

                    stream.Channels[origin] = channels;
                }

                _entries++;
                _bytes += cost;
                stream.Entries++;
                stream.Bytes += cost;
                channels[channel] = (epoch, sequence);
                return 0;
            }

            if (last.Epoch != epoch)
            {
                // The origin restarted its numbering: counting starts again here.
                channels[channel] = (epoch, sequence);
                return 0;
            }

            if (sequence <= last.Sequence)
            {
                return 0;
            }

            // A message: the numbers strictly between are lost. A gap: every number up to its sequence.
            var lost = (long)Math.Min(sequence - last.Sequence - (kind == ForwardHeader.Gap ? 0UL : 1UL), long.MaxValue / 4);
            channels[channel] = (epoch, sequence);
            if (lost == 0)
            {
                return 0;
            }

            Interlocked.Add(ref _lost, lost);
            from.Unlogged += lost;
            if (now - from.LastLog >= 1000)
            {
                from.LastLog = now;
                logNow = from.Unlogged;
                from.Unlogged = 0;
            }

            return lost;
        }
    }

    /// <summary>A subscription removed: its entries go, and what NATS still delivers through it is not counted.</summary>
    public void Release(Stream stream)
    {
        lock (_lock)
        {
            ClearLocked(stream);
            stream.Released = true;
            _streams.Remove(stream);
        }
    }

    /// <summary>A new subscription's stream.</summary>
    public Stream NewStream()
    {
        var stream = new Stream();
        lock (_lock)
        {
            _streams.Add(stream);
        }

        return stream;
    }

    /// <summary>
    /// Forgets the origins the gossip does not know (<paramref name="known"/>) that sent nothing for
    /// <paramref name="timeout"/> ms, and their entries in every stream. Returns how many were forgotten.
    /// </summary>
    public int Expire(IReadOnlySet<ulong> known, long now, long timeout)
    {
        lock (_lock)
        {
            List<ulong>? gone = null;
            foreach (var (origin, from) in _origins)
            {
                if (!known.Contains(origin) && now - from.LastSeen >= timeout)
                {
                    (gone ??= []).Add(origin);
                }
            }

            foreach (var origin in gone ?? [])
            {
                _origins.Remove(origin);
                foreach (var stream in _streams)
                {
                    if (stream.Channels.Remove(origin, out var channels))
                    {
                        foreach (var channel in channels.Keys)
                        {
                            Uncount(stream, channel.Length + EntryOverhead);
                        }
                    }
                }
            }

            return gone?.Count ?? 0;
        }
    }

    private void ClearLocked(Stream stream)
    {
        _entries -= stream.Entries;
        _bytes -= stream.Bytes;
        stream.Entries = 0;
        stream.Bytes = 0;
        stream.Channels.Clear();
    }

    private void Uncount(Stream stream, long cost)
    {
        _entries--;
        _bytes -= cost;
        stream.Entries--;
        stream.Bytes -= cost;
    }

    /// <summary>One NATS subscription's view: per origin, per channel, the last (epoch, sequence). Under the tracker's lock.</summary>
    internal sealed class Stream
    {
        public Dictionary<ulong, Dictionary<byte[], (uint Epoch, ulong Sequence)>> Channels { get; } = [];

        public int Entries { get; set; }

        public long Bytes { get; set; }

        public bool Released { get; set; }
    }

    /// <summary>Under the tracker's lock: when an origin was last heard, and its loss not logged yet.</summary>
    private sealed class Origin
    {
        public long LastSeen;
        public long LastLog = long.MinValue / 2;
        public long Unlogged;
    }
}
