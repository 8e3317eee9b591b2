using System.Buffers.Binary;
using System.Globalization;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// The fixed prefix of every message a node forwards to NATS (docs/cluster.md#ordering-and-loss):
/// <c>version (1) | kind (1) | origin (8) | epoch (4, big-endian) | sequence (8, big-endian)</c>, then
/// the payload as before (the message, or for a hashed subject the channel's length, the channel and
/// the message). <c>origin</c> is the first 8 bytes of the publishing node's id; <c>sequence</c> numbers
/// the origin's messages to one channel, 1, 2, 3…, within one <c>epoch</c> of the origin's numbering
/// table. A <see cref="Gap"/> carries no message: it says that the origin used the numbers up to its
/// sequence for messages it could not forward.
/// </summary>
internal static class ForwardHeader
{
    public const byte Version = 1;

    public const int Length = 22;

    /// <summary>A message, numbered.</summary>
    public const byte Message = (byte)'M';

    /// <summary>No message: the origin did not forward the numbers up to this sequence (its nats_dropped).</summary>
    public const byte Gap = (byte)'G';

    public static void Write(Span<byte> destination, byte kind, ulong origin, uint epoch, ulong sequence)
    {
        destination[0] = Version;
        destination[1] = kind;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], origin);
        BinaryPrimitives.WriteUInt32BigEndian(destination[10..], epoch);
        BinaryPrimitives.WriteUInt64BigEndian(destination[14..], sequence);
    }

    public static bool TryRead(ReadOnlySpan<byte> payload, out byte kind, out ulong origin, out uint epoch, out ulong sequence)
    {
        kind = 0;
        origin = 0;
        epoch = 0;
        sequence = 0;
        if (payload.Length < Length || payload[0] != Version || (payload[1] != Message && payload[1] != Gap))
        {
            return false;
        }

        kind = payload[1];
        origin = BinaryPrimitives.ReadUInt64BigEndian(payload[2..]);
        epoch = BinaryPrimitives.ReadUInt32BigEndian(payload[10..]);
        sequence = BinaryPrimitives.ReadUInt64BigEndian(payload[14..]);
        return sequence > 0;
    }

    /// <summary>A node id's 8-byte key: its first 16 hex digits (run ids are 40 random hex digits).</summary>
    public static ulong OriginOf(string nodeId)
        => nodeId.Length >= 16 && ulong.TryParse(nodeId.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var key)
            ? key
            : 0;

    /// <summary>An origin key as the start of the node id it came from (for logs).</summary>
    public static string Describe(ulong origin) => origin.ToString("x16", CultureInfo.InvariantCulture);
}
