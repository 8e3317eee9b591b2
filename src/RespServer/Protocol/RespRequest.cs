using System.Text;

namespace Notistream.RespServer.Protocol;

/// <summary>Where one argument lies inside the request's contiguous bytes.</summary>
internal readonly record struct ArgSlot(int Offset, int Length);

/// <summary>
/// A view of one complete request: its arguments as slices of contiguous bytes that belong to the
/// connection and stay valid only until the next request is scanned. No string per command.
/// </summary>
internal readonly ref struct RespRequest
{
    private readonly ReadOnlySpan<byte> _bytes;
    private readonly ReadOnlySpan<ArgSlot> _slots;

    public RespRequest(ReadOnlySpan<byte> bytes, ReadOnlySpan<ArgSlot> slots)
    {
        _bytes = bytes;
        _slots = slots;
    }

    public int Count => _slots.Length;

    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            var slot = _slots[index];
            return _bytes.Slice(slot.Offset, slot.Length);
        }
    }

    /// <summary>True when argument <paramref name="index"/> equals the ASCII <paramref name="upper"/>, ignoring case.</summary>
    public bool Is(int index, ReadOnlySpan<byte> upper) => EqualsIgnoreCase(this[index], upper);

    public string GetString(int index) => Encoding.UTF8.GetString(this[index]);

    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> value, ReadOnlySpan<byte> upper)
    {
        if (value.Length != upper.Length)
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c is >= (byte)'a' and <= (byte)'z')
            {
                c -= 32;
            }

            if (c != upper[i])
            {
                return false;
            }
        }

        return true;
    }
}
