using System.Buffers.Binary;
using System.Numerics;

namespace Notistream.RespServer.Persistence;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of the log's groups: initial value and final xor all ones, as in
/// iSCSI and ext4, so any crc32c tool gives the same value. <see cref="BitOperations.Crc32C(uint, ulong)"/>
/// uses the processor's instruction where there is one (SSE 4.2, ARMv8), eight bytes a step.
/// </summary>
internal static class Crc32C
{
    public const uint Initial = 0xFFFFFFFF;

    /// <summary>Feeds <paramref name="bytes"/> into a running <paramref name="state"/> (start from <see cref="Initial"/>).</summary>
    public static uint Append(uint state, ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(bytes));
            bytes = bytes[8..];
        }

        foreach (var b in bytes)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return state;
    }

    /// <summary>The checksum a running <paramref name="state"/> stands for.</summary>
    public static uint Finish(uint state) => ~state;

    public static uint Compute(ReadOnlySpan<byte> bytes) => Finish(Append(Initial, bytes));
}
