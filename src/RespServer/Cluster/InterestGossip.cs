using System.Buffers.Binary;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// The bytes of the nodes' interest gossip (docs/cluster.md#counting-across-the-cluster). Each node
/// publishes on <c>prefix.sys.i.&lt;node id&gt;</c> one numbered stream of messages, each
/// <c>version (1) | kind (1) | sequence (8, big-endian)</c> then, for the kinds that carry them, entries
/// <c>type ('c' channel, 'p' pattern, 's' shard channel) (1) | count (4) | name length (4) | name</c> with absolute counts
/// (0: gone). Requests for a node's whole state go to <c>prefix.sys.r</c>: <c>version | 'R' | node id</c>
/// (no id: every node).
/// </summary>
internal static class InterestGossip
{
    public const byte Version = 1;

    public const int HeaderLength = 10;

    public const int EntryOverhead = 9;

    /// <summary>Changed counts; sequence = previous + 1.</summary>
    public const byte Delta = (byte)'D';

    /// <summary>A whole state begins (no entries); the sequence restarts from here.</summary>
    public const byte SnapshotStart = (byte)'S';

    /// <summary>Part of a whole state (entries).</summary>
    public const byte SnapshotPart = (byte)'P';

    /// <summary>The whole state is complete: it replaces what the receiver held for the node.</summary>
    public const byte SnapshotEnd = (byte)'E';

    /// <summary>Alive; the sequence is the last one sent (not a new one).</summary>
    public const byte Heartbeat = (byte)'H';

    /// <summary>The node is leaving: forget it now.</summary>
    public const byte Bye = (byte)'X';

    public const byte Request = (byte)'R';

    /// <summary>On <c>prefix.sys.p</c>: every node answers on <c>prefix.sys.a.&lt;asker&gt;</c>.</summary>
    public const byte Probe = (byte)'Q';

    public const byte Answer = (byte)'A';

    public const byte ChannelEntry = (byte)'c';

    public const byte PatternEntry = (byte)'p';

    /// <summary>A shard channel's count (SSUBSCRIBE): counted apart from a channel of the same name.</summary>
    public const byte ShardChannelEntry = (byte)'s';

    /// <summary>Largest count an entry may say; a larger one is taken as this (so sums over nodes stay in an int).</summary>
    public const int MaxCount = 1 << 24;

    public static void WriteHeader(Span<byte> destination, byte kind, ulong sequence)
    {
        destination[0] = Version;
        destination[1] = kind;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], sequence);
    }

    public static byte[] Message(byte kind, ulong sequence)
    {
        var bytes = new byte[HeaderLength];
        WriteHeader(bytes, kind, sequence);
        return bytes;
    }

    /// <summary>Writes one channel or pattern entry at the start of <paramref name="destination"/>; returns its length.</summary>
    public static int WriteEntry(Span<byte> destination, bool pattern, int count, ReadOnlySpan<byte> name)
        => WriteEntry(destination, pattern ? PatternEntry : ChannelEntry, count, name);

    /// <summary>Writes one entry of <paramref name="type"/> (<see cref="ChannelEntry"/>, <see cref="PatternEntry"/>, <see cref="ShardChannelEntry"/>); returns its length.</summary>
    public static int WriteEntry(Span<byte> destination, byte type, int count, ReadOnlySpan<byte> name)
    {
        destination[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(destination[1..], count);
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], name.Length);
        name.CopyTo(destination[EntryOverhead..]);
        return EntryOverhead + name.Length;
    }

    public static bool TryReadHeader(ReadOnlySpan<byte> payload, out byte kind, out ulong sequence)
    {
        kind = 0;
        sequence = 0;
        if (payload.Length < HeaderLength || payload[0] != Version)
        {
            return false;
        }

        kind = payload[1];
        sequence = BinaryPrimitives.ReadUInt64BigEndian(payload[2..]);
        return true;
    }

    /// <summary>
    /// Reads the next entry and moves past it; false at the end or on malformed bytes (<paramref name="malformed"/>).
    /// An entry of a type this version does not know (a later version's) is skipped whole, not malformed: a
    /// node of a later version adds names of a new kind without making its older peers drop everything it says.
    /// </summary>
    public static bool TryReadEntry(ref ReadOnlySpan<byte> entries, out byte type, out int count, out ReadOnlySpan<byte> name, out bool malformed)
    {
        type = 0;
        count = 0;
        name = default;
        malformed = false;
        while (true)
        {
            if (entries.IsEmpty)
            {
                return false;
            }

            var length = entries.Length < EntryOverhead ? -1 : BinaryPrimitives.ReadInt32BigEndian(entries[5..]);
            if (length < 0 || length > entries.Length - EntryOverhead)
            {
                malformed = true;
                return false;
            }

            if (entries[0] is not (ChannelEntry or PatternEntry or ShardChannelEntry))
            {
                entries = entries[(EntryOverhead + length)..];
                continue;
            }

            type = entries[0];
            count = Math.Clamp(BinaryPrimitives.ReadInt32BigEndian(entries[1..]), 0, MaxCount);
            name = entries.Slice(EntryOverhead, length);
            entries = entries[(EntryOverhead + length)..];
            return true;
        }
    }

    /// <summary>A probe or its answer: <c>version | kind | probe id (8) | node id</c> (the asker's, the answerer's).</summary>
    public static byte[] ProbeMessage(byte kind, ulong id, string node)
    {
        var bytes = new byte[HeaderLength + node.Length];
        WriteHeader(bytes, kind, id);
        System.Text.Encoding.ASCII.GetBytes(node, bytes.AsSpan(HeaderLength));
        return bytes;
    }

    public static bool TryReadProbe(ReadOnlySpan<byte> payload, byte kind, out ulong id, out string node)
    {
        node = "";
        if (!TryReadHeader(payload, out var got, out id) || got != kind)
        {
            return false;
        }

        node = System.Text.Encoding.ASCII.GetString(payload[HeaderLength..]);
        return node.Length > 0;
    }

    /// <summary>A node id is one NATS token: 40 lowercase hex digits (the run id).</summary>
    public static bool IsNodeId(ReadOnlySpan<char> node)
    {
        if (node.Length != 40)
        {
            return false;
        }

        foreach (var c in node)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }

        return true;
    }

    public static byte[] RequestMessage(string? node)
    {
        var id = node is null ? [] : System.Text.Encoding.ASCII.GetBytes(node);
        return [Version, Request, .. id];
    }

    /// <summary>A request's target: "" for every node; null when malformed.</summary>
    public static string? ReadRequest(ReadOnlySpan<byte> payload)
        => payload.Length >= 2 && payload[0] == Version && payload[1] == Request
            ? System.Text.Encoding.ASCII.GetString(payload[2..])
            : null;
}
