using System.Buffers.Binary;

namespace Notistream.LoadGen.Wire;

/// <summary>
/// What each published payload carries in its first <see cref="HeaderSize"/> bytes, little-endian:
/// stream id (int32: one publisher's sequence to one channel), sequence number in that stream (int64),
/// intended send time (Stopwatch timestamp, int64). The rest is filler up to the payload size.
/// </summary>
internal static class Payload
{
    public const int HeaderSize = 20;

    public static void Write(Span<byte> payload, int stream, long sequence, long intendedTimestamp)
    {
        BinaryPrimitives.WriteInt32LittleEndian(payload, stream);
        BinaryPrimitives.WriteInt64LittleEndian(payload[4..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(payload[12..], intendedTimestamp);
    }

    public static void Read(ReadOnlySpan<byte> payload, out int stream, out long sequence, out long intendedTimestamp)
    {
        if (payload.Length < HeaderSize)
        {
            throw new InvalidDataException($"a {payload.Length}-byte payload is too short to carry a sequence number");
        }

        stream = BinaryPrimitives.ReadInt32LittleEndian(payload);
        sequence = BinaryPrimitives.ReadInt64LittleEndian(payload[4..]);
        intendedTimestamp = BinaryPrimitives.ReadInt64LittleEndian(payload[12..]);
    }
}
