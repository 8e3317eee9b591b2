using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.ObjectPool;

namespace Notistream.RespServer.PubSub;

/// <summary>
/// One encoded published message, shared by every subscriber queue it is delivered to, so that a
/// steady stream of publishes allocates nothing.
/// <para>
/// Lifetime: <see cref="Rent"/> hands a frame out with one reference, the publisher's. Every queue
/// that keeps the frame takes a reference of its own (<see cref="AddRef"/>) and gives it back
/// (<see cref="Release"/>) once the bytes are written or dropped; the publisher releases its own
/// when the fan-out is done. The last release returns the buffer to the array pool and the frame to
/// the frame pool; nobody may touch the frame after releasing it. The bytes are written once, by the
/// encoder, before the frame is shared; from then on everyone only reads them.
/// </para>
/// </summary>
internal sealed class MessageFrame
{
    /// <summary>Frames kept for reuse; more than this many in flight at once are allocated and left to the GC.</summary>
    private const int Retained = 4096;

    /// <summary>Frames each thread keeps for itself before it turns to the shared pool.</summary>
    private const int ThreadCacheSize = 32;

    private static readonly ObjectPool<MessageFrame> Pool = new DefaultObjectPool<MessageFrame>(new Policy(), Retained);

    // Read loops (publishers) and output writers share the thread pool's few threads, so a frame is
    // usually released on a thread that publishes again soon: a small per-thread stack in front of
    // the shared pool keeps most rent/return pairs off the pool's shared, cross-core counters.
    [ThreadStatic]
    private static MessageFrame?[]? t_cache;

    [ThreadStatic]
    private static int t_cached;

    private byte[] _buffer = [];
    private int _length;
    private int _references;

    private MessageFrame()
    {
    }

    public int Length => _length;

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, _length);

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    /// <summary>References held now (tests check that every queue gave its reference back).</summary>
    internal int References => Volatile.Read(ref _references);

    /// <summary>A frame of exactly <paramref name="length"/> bytes, held once by the caller, to be filled through <see cref="Buffer"/>.</summary>
    public static MessageFrame Rent(int length)
    {
        var frame = TakeCached() ?? Pool.Get();
        frame._buffer = ArrayPool<byte>.Shared.Rent(length);
        frame._length = length;
        frame._references = 1;
        return frame;
    }

    /// <summary>Where the encoder writes the frame, before it is shared.</summary>
    public Span<byte> Buffer => _buffer.AsSpan(0, _length);

    public void AddRef()
    {
        var references = Interlocked.Increment(ref _references);
        Debug.Assert(references > 1, "a frame was referenced after its last release");
    }

    public void Release()
    {
        var references = Interlocked.Decrement(ref _references);
        if (references > 0)
        {
            return;
        }

        if (references < 0)
        {
            ThrowOverReleased();
        }

        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _length = 0;
        var cache = t_cache ??= new MessageFrame?[ThreadCacheSize];
        if (t_cached < cache.Length)
        {
            cache[t_cached++] = this;
        }
        else
        {
            Pool.Return(this);
        }
    }

    private static MessageFrame? TakeCached()
    {
        var cache = t_cache;
        if (cache is null || t_cached == 0)
        {
            return null;
        }

        var frame = cache[--t_cached];
        cache[t_cached] = null;
        return frame;
    }

    private static void ThrowOverReleased()
        => throw new InvalidOperationException("A message frame was released more often than it was referenced.");

    private sealed class Policy : IPooledObjectPolicy<MessageFrame>
    {
        public MessageFrame Create() => new();

        public bool Return(MessageFrame obj) => true;
    }
}
