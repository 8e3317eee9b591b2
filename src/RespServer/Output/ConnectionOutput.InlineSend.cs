using System.Buffers;
using System.Net.Sockets;

namespace Notistream.RespServer.Output;

/// <summary>
/// The inline send (plain TCP only): what a batch queued while the writer was idle is sent by the
/// batch's own thread at the batch's end, with non-blocking sends, as Redis writes its clients'
/// buffers before it polls again; whatever the socket does not take goes back to the head of the
/// queue for the writer. This saves a thread hop between PUBLISH and the kernel that shows in the
/// latency tail.
/// </summary>
internal sealed partial class ConnectionOutput
{
    private List<OutputSegment> _inline = [];

    /// <summary>A batch will call <see cref="SendScheduled"/> or <see cref="WakeScheduled"/> (returned
    /// <see cref="Queued.SendAtBatchEnd"/> once; later queuing in the same batch relies on it).</summary>
    private bool _sendScheduled;

    /// <summary>An inline send holds the queue's head; the writer waits.</summary>
    private bool _inlineSending;

    /// <summary>Called once, instead of <see cref="SendScheduled"/>, by a batch that will not send
    /// itself (it grew large): wakes the writer to send the queue.</summary>
    public void WakeScheduled()
    {
        lock (_lock)
        {
            _sendScheduled = false;
            WakeWriterLocked();
        }
    }

    /// <summary>
    /// Called once by the batch this output's send was scheduled on: sends the queue from the caller's
    /// thread without blocking, unless the writer is busy, another thread is sending, or the output
    /// is held; in each of those cases the queue is already in hands that will send it. What the
    /// socket does not take goes back to the head of the queue and the writer is woken for it.
    /// Never throws.
    /// </summary>
    public void SendScheduled(byte[] scratch)
    {
        List<OutputSegment> batch;
        Socket socket;
        long held;
        lock (_lock)
        {
            _sendScheduled = false;
            if (_socket is null || !_waiting || !CanSendLocked())
            {
                return;
            }

            batch = TakePendingLocked(ref _inline, out held);
            _inlineSending = true;
            socket = _socket;
        }

        var (sent, carry, failed) = SendNonBlocking(socket, batch, scratch);
        bool ended;
        lock (_lock)
        {
            _inlineSending = false;
            _sendingHeld -= held;
            TrimLocked(ref _inline);
            ended = failed && !_dropped;
            if (failed || _dropped)
            {
                OutputSegment.ReleaseAll(carry);
                DropLocked();
            }
            else if (carry is not null)
            {
                _pending.InsertRange(0, carry);
                _pendingHeld += OutputSegment.HeldBy(carry);
            }

            SentLocked(sent);
            WakeWriterLocked();
        }

        if (ended)
        {
            End(ConnectionEnd.WriteFailed, "a send to the client failed");
        }
    }

    /// <summary>
    /// Sends <paramref name="batch"/> with non-blocking sends, gathering segments into
    /// <paramref name="scratch"/>. Each segment is given back once its bytes are copied or sent; the
    /// unsent rest (a copy of what the socket refused, then the segments not reached) is returned as
    /// the carry, in order. <paramref name="batch"/> is left empty.
    /// </summary>
    private static (long Sent, List<OutputSegment>? Carry, bool Failed) SendNonBlocking(Socket socket, List<OutputSegment> batch, byte[] scratch)
    {
        long sent = 0;
        var filled = 0;
        var next = 0;
        List<OutputSegment>? carry = null;
        var failed = false;
        try
        {
            while (next < batch.Count && carry is null && !failed)
            {
                var segment = batch[next];
                if (filled > 0 && filled + segment.Length > scratch.Length)
                {
                    carry = SendScratch(socket, scratch, filled, ref sent, ref failed);
                    filled = 0;
                    continue;
                }

                if (segment.Length > scratch.Length)
                {
                    // Larger than the scratch buffer: left, with all after it, to the writer, which
                    // sends it from the shared frame (no copy per subscriber of a part the socket refused).
                    carry = SendScratch(socket, scratch, filled, ref sent, ref failed) ?? [];
                    filled = 0;
                    break;
                }

                next++;
                segment.Span.CopyTo(scratch.AsSpan(filled));
                filled += segment.Length;
                segment.Release();
            }

            if (carry is null && !failed && filled > 0)
            {
                carry = SendScratch(socket, scratch, filled, ref sent, ref failed);
            }

            if (!failed && carry is not null)
            {
                for (; next < batch.Count; next++)
                {
                    carry.Add(batch[next]);
                }
            }
        }
        catch (Exception)
        {
            // Disposed under us (the connection was aborted) or anything unexpected: the connection's
            // output is over.
            failed = true;
        }

        if (failed)
        {
            OutputSegment.ReleaseAll(carry);
            carry = null;
            OutputSegment.ReleaseAll(batch, next);
        }

        batch.Clear();
        return (sent, carry, failed);
    }

    /// <summary>Sends the first <paramref name="filled"/> bytes of the scratch buffer; returns a carry
    /// holding a copy of what the socket did not take, or null when it took everything.</summary>
    private static List<OutputSegment>? SendScratch(Socket socket, byte[] scratch, int filled, ref long sent, ref bool failed)
    {
        if (filled == 0)
        {
            return null;
        }

        var done = TrySend(socket, scratch.AsSpan(0, filled), ref failed);
        sent += done;
        return done < filled && !failed ? [CopyOf(scratch.AsSpan(done, filled - done))] : null;
    }

    /// <summary>Sends as much of <paramref name="bytes"/> as the socket takes now; never waits.</summary>
    private static int TrySend(Socket socket, ReadOnlySpan<byte> bytes, ref bool failed)
    {
        var total = 0;
        while (total < bytes.Length)
        {
            var sent = socket.Send(bytes[total..], SocketFlags.None, out var error);
            if (error == SocketError.Success && sent > 0)
            {
                total += sent;
            }
            else if (error == SocketError.Interrupted)
            {
                continue;
            }
            else
            {
                failed = ConnectionErrors.IsFatal(error);
                break;
            }
        }

        return total;
    }

    private static OutputSegment CopyOf(ReadOnlySpan<byte> bytes)
    {
        var array = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(array);
        return OutputSegment.OfArray(array, bytes.Length, pooled: true);
    }
}
