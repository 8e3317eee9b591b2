using System.Diagnostics;
using System.IO.Pipelines;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Output;

namespace Notistream.RespServer.Connections;

/// <summary>
/// A connection blocked in a command (XREAD BLOCK), as Redis blocks a client: no later command of it runs
/// until the command is served, times out or the client goes; its input is still watched meanwhile, so a
/// client that leaves, or a CLIENT KILL or shutdown, ends the wait at once, and what it pipelines stays in
/// the input pipe (bounded by the pipe's pause threshold) until the command is done.
/// </summary>
internal sealed partial class RespConnection
{
    /// <summary>
    /// The command this connection waits in, or null. Set by the command's handler (<see cref="Block"/>) on
    /// the read loop's thread; read and cleared by the read loop only.
    /// </summary>
    private BlockedCommand? _blocked;

    /// <summary>
    /// Set when the read loop cancels its own pending read to go on after a blocked command; the cancelled
    /// read it then sees is not a close. Read loop only.
    /// </summary>
    private bool _ownCancelPending;

    /// <summary>
    /// Set when the client left (or went past its query-buffer limit) while blocked: what it pipelined after
    /// the blocking command is dropped unrun, as Redis frees such a client. Read loop only.
    /// </summary>
    private bool _inputAbandoned;

    /// <summary>Whether the blocked command's answer is dropped: it blocked under CLIENT REPLY OFF or SKIP. Read loop only.</summary>
    private bool _blockedSilent;

    /// <summary>Whether a command of this connection is blocked (CLIENT LIST's b flag, INFO's blocked_clients).</summary>
    public bool IsBlocked => Volatile.Read(ref _blocked) is not null;

    /// <summary>
    /// Called by a command's handler that has nothing to answer yet, with <see cref="KeyStore.Gate"/> held:
    /// registers <paramref name="command"/> on its keys in that same hold, and the read loop waits in it once
    /// the handler returns. The handler writes no reply; the command writes it when served or timed out.
    /// </summary>
    public void Block(BlockedCommand command)
    {
        Server.Keys[command.Database].Block(command);
        _blockedSilent = ReplyMode is ReplyMode.Off or ReplyMode.Skip;
        Interlocked.Increment(ref Server.Stats.BlockedClients);
        Volatile.Write(ref _blocked, command);
    }

    /// <summary>
    /// Waits in the blocked command, then returns the next read for the read loop: what the client sent
    /// meanwhile, or the close. The reply (entries or the timeout's) is flushed before any later command runs.
    /// </summary>
    private async ValueTask<ReadResult> WaitWhileBlockedAsync(PipeReader input, BlockedCommand blocked)
    {
        var keys = Server.Keys;
        var mark = _replies.Length;
        var read = input.ReadAsync().AsTask();
        using var timer = new CancellationTokenSource();
        var timeout = blocked.TimeoutMilliseconds > 0
            ? DelayAtLeastAsync(TimeSpan.FromMilliseconds(blocked.TimeoutMilliseconds), timer.Token)
            : Task.Delay(Timeout.InfiniteTimeSpan, timer.Token);
        try
        {
            while (true)
            {
                // Re-armed before looking, so a change made after the look wakes the wait below.
                blocked.Rearm();
                lock (keys.Gate)
                {
                    if (blocked.TryServe(Writer))
                    {
                        break;
                    }
                }

                var first = await Task.WhenAny(read, blocked.Woken, timeout).ConfigureAwait(false);
                if (first == read)
                {
                    // Awaited, not .Result: a reset is rethrown as itself, which the read loop's caller classifies.
                    var result = await read.ConfigureAwait(false);
                    if (result.IsCanceled && !result.IsCompleted && _ownCancelPending)
                    {
                        // The loop's own cancel of a read that had completed before it: a leftover, not a close.
                        _ownCancelPending = false;
                    }
                    else if (result.IsCompleted || result.IsCanceled)
                    {
                        // The client left, or the server closes it (CLIENT KILL, shutdown): no reply, and what
                        // it pipelined after the blocking command does not run.
                        _inputAbandoned = true;
                        return result;
                    }
                    else if (result.Buffer.Length > Server.Options.ClientQueryBufferLimit)
                    {
                        // Pipelined input is held while blocked, as Redis holds it in the query buffer, up to
                        // the same limit (a TLS reader has no pause threshold of its own).
                        Log.QueryBufferLimit(Server.Logger, Id, Address, result.Buffer.Length);
                        EndWith(ConnectionEnd.QueryBufferLimit, $"{result.Buffer.Length} bytes while blocked");
                        _inputAbandoned = true;
                        return result;
                    }

                    // Pipelined input waits, unread, for the command to finish, as in Redis's query buffer.
                    input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    read = input.ReadAsync().AsTask();
                }
                else if (first == timeout)
                {
                    blocked.WriteTimeout(Writer);
                    break;
                }
            }
        }
        finally
        {
            Unblock(blocked);
            await timer.CancelAsync().ConfigureAwait(false);
        }

        if (_blockedSilent)
        {
            // CLIENT REPLY OFF or SKIP was in force when it blocked: its answer is dropped, as Redis drops it.
            _replies.Truncate(mark);
        }

        FlushReplies();
        if (!read.IsCompleted)
        {
            // Input that arrived while blocked is in the pipe already, examined: end the pending read so the
            // read loop gets it now rather than when more arrives.
            _ownCancelPending = true;
            input.CancelPendingRead();
        }

        return await read.ConfigureAwait(false);
    }

    /// <summary>
    /// Completes no sooner than <paramref name="span"/> from now: a timer may fire a fraction of a
    /// millisecond early, and a BLOCK of n milliseconds must not answer before n have passed.
    /// </summary>
    private static async Task DelayAtLeastAsync(TimeSpan span, CancellationToken token)
    {
        var start = Stopwatch.GetTimestamp();
        for (var left = span; left > TimeSpan.Zero; left = span - Stopwatch.GetElapsedTime(start))
        {
            await Task.Delay(left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left, token).ConfigureAwait(false);
        }
    }

    private void Unblock(BlockedCommand blocked)
    {
        var keys = Server.Keys;
        lock (keys.Gate)
        {
            keys[blocked.Database].Unblock(blocked);
        }

        Interlocked.Decrement(ref Server.Stats.BlockedClients);
        Volatile.Write(ref _blocked, null);
    }

    /// <summary>
    /// Whether <paramref name="result"/> ends the input: a completed read, or a cancelled one unless the read
    /// loop cancelled it itself to go on after a blocked command.
    /// </summary>
    private bool InputEnded(in ReadResult result)
    {
        if (result.IsCanceled && _ownCancelPending)
        {
            _ownCancelPending = false;
            return result.IsCompleted;
        }

        return result.IsCompleted || result.IsCanceled;
    }
}
