using System.Buffers;

namespace Notistream.RespServer.Protocol;

/// <summary>
/// A growable buffer rented from the array pool, written by one connection's read loop while it
/// processes a batch of commands. <see cref="Detach"/> hands the filled array to the output queue,
/// which returns it to the pool once written. Not thread-safe: the read loop is its only user.
/// </summary>
internal sealed class ReplyBuffer : IBufferWriter<byte>
{
    private const int InitialSize = 4096;
    private byte[] _array = [];
    private int _length;

    public int Length => _length;

    public void Advance(int count) => _length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_length);
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_array.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>The bytes written so far (the AOF loader's client reads its replies here).</summary>
    public ReadOnlySpan<byte> Written => _array.AsSpan(0, _length);

    /// <summary>Takes the written bytes; the caller owns the pooled array and must return it.</summary>
    public (byte[] Array, int Length) Detach()
    {
        var result = (_array, _length);
        _array = [];
        _length = 0;
        return result;
    }

    /// <summary>Drops everything written since <paramref name="length"/> (CLIENT REPLY OFF/SKIP).</summary>
    /// <remarks>Bytes already detached to the output are gone already; only what is still here is dropped.</remarks>
    public void Truncate(int length) => _length = Math.Min(_length, length);

    public void Release()
    {
        if (_array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
        }

        _array = [];
        _length = 0;
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1)
        {
            sizeHint = 1;
        }

        if (_array.Length - _length >= sizeHint)
        {
            return;
        }

        var size = Math.Max(InitialSize, Math.Max(_array.Length * 2, _length + sizeHint));
        var next = ArrayPool<byte>.Shared.Rent(size);
        if (_length > 0)
        {
            _array.AsSpan(0, _length).CopyTo(next);
        }

        if (_array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
        }

        _array = next;
    }
}
