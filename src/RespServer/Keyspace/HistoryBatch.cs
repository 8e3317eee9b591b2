using System.Buffers;
using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Keyspace;

/// <summary>
/// The messages one connection's batch of pipelined PUBLISHes keeps as history, appended together in one
/// hold of <see cref="KeyStore.Gate"/> instead of one hold each: publishers pipelining to a channel took
/// the server-wide lock once per message, and contended for it. Owned by the connection's read loop.
/// <para>
/// A pending message is appended before anything could make it visible or acknowledged: before the
/// batch queues a staged delivery on any output (<c>DeliveryBatch</c> calls back first), before the
/// connection queues its replies (the PUBLISH's reply), before any command but PUBLISH runs (so the same
/// client's XRANGE sees it), and once <see cref="MaxEntries"/> or <see cref="MaxBytes"/> are pending. So
/// for every reader a message is in its channel's stream before any subscriber can have it.
/// </para>
/// </summary>
internal sealed class HistoryBatch(KeyStore keys, Func<long> maxMemory)
{
    /// <summary>Messages appended per hold of the gate at most.</summary>
    public const int MaxEntries = 64;

    /// <summary>Bytes of channels and messages held pending at most; a larger message is appended at once, uncopied.</summary>
    public const int MaxBytes = 64 * 1024;

    private byte[] _bytes = [];
    private int _used;
    private Pending[] _entries = [];
    private int _count;

    public bool IsEmpty => _count == 0;

    /// <summary>
    /// The append-only file's position after the records of this batch's last append: what must be in the log
    /// before the connection queues the messages' deliveries and replies. Read loop only.
    /// </summary>
    public long LoggedTo { get; private set; }

    /// <summary>Keeps <paramref name="message"/> for <paramref name="channel"/> under <paramref name="rule"/>, now or at the next <see cref="Flush"/>.</summary>
    public void Add(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, HistoryRule rule)
    {
        var size = channel.Length + message.Length;
        if (size > MaxBytes)
        {
            Flush();
            ChannelHistory.Append(keys, channel, message, rule, maxMemory());
            LoggedTo = keys.Log?.AppendedPosition ?? 0;
            return;
        }

        if (_used + size > MaxBytes || _count == MaxEntries)
        {
            Flush();
        }

        if (_bytes.Length < _used + size)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(_used + size, Math.Min(MaxBytes, Math.Max(1024, _bytes.Length * 2))));
            _bytes.AsSpan(0, _used).CopyTo(grown);
            Return();
            _bytes = grown;
        }

        if (_count == _entries.Length)
        {
            Array.Resize(ref _entries, Math.Max(8, _count * 2));
        }

        channel.CopyTo(_bytes.AsSpan(_used));
        message.CopyTo(_bytes.AsSpan(_used + channel.Length));
        _entries[_count++] = new Pending(_used, channel.Length, message.Length, rule);
        _used += size;
    }

    /// <summary>Appends what is pending, in order, in one hold of the gate.</summary>
    public void Flush()
    {
        if (_count == 0)
        {
            return;
        }

        var now = ChannelHistory.NowMs();
        var limit = maxMemory();
        lock (keys.Gate)
        {
            for (var i = 0; i < _count; i++)
            {
                var entry = _entries[i];
                var channel = _bytes.AsSpan(entry.Offset, entry.ChannelLength);
                var message = _bytes.AsSpan(entry.Offset + entry.ChannelLength, entry.MessageLength);
                ChannelHistory.AppendLocked(keys, channel, message, entry.Rule, limit, now);
            }

            LoggedTo = keys.Log?.AppendedPosition ?? 0;
        }

        Array.Clear(_entries, 0, _count);
        _count = 0;
        _used = 0;
    }

    /// <summary>Gives the buffer back (the connection's end); what is pending was never acknowledged.</summary>
    public void Release()
    {
        Array.Clear(_entries, 0, _count);
        _count = 0;
        _used = 0;
        Return();
        _bytes = [];
    }

    private void Return()
    {
        if (_bytes.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_bytes);
        }
    }

    private readonly record struct Pending(int Offset, int ChannelLength, int MessageLength, HistoryRule Rule);
}
