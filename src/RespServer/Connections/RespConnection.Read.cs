using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Output;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Connections;

internal sealed partial class RespConnection
{
    private byte[] _frameScratch = [];
    private byte[] _largeFrame = [];
    private int _largeFrameLength;
    private int _end; // a ConnectionEnd: the first cause recorded, by the read loop or Abort (any thread)
    private string? _endReason;

    /// <summary>Runs the connection to its end: reads and executes requests while the writer drains output.</summary>
    public async Task RunAsync(CommandTable commands)
    {
        var writer = _transport.RunOutputAsync(Output);
        try
        {
            await ReadLoopAsync(commands).ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionErrors.IsConnectionError(ex))
        {
            EndWith(ConnectionEnd.TransportError, ex.Message);
            Log.ConnectionError(Server.Logger, Id, Address, ex.Message);
        }
        finally
        {
            // Before the close below marks every connection closed.
            var (end, reason) = DescribeEnd();
            EndWith(end, reason);

            // The end runs on the thread pool, never on the socket event thread the read loop ran inline
            // on: that thread serves many other clients, and the end takes shared locks and closes the socket.
            if (!Thread.CurrentThread.IsThreadPoolThread)
            {
                await Task.Yield();
            }

            try
            {
                FlushStats();
                if (_blocked is { } blocked)
                {
                    // Ended by a throw between the block and its wait: the registration goes too.
                    Unblock(blocked);
                }

                StopFollowing();
                UnsubscribeAll();
                _replies.Release();
                History.Release();
                EndLargeFrame();
                if (Volatile.Read(ref _closeState) != 2)
                {
                    Output.Complete();
                    try
                    {
                        await writer.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is TimeoutException || ConnectionErrors.IsConnectionError(ex))
                    {
                        Output.Abort();
                    }
                    catch (Exception ex)
                    {
                        // A fault of the writer is a bug to see in the log, never a client left registered.
                        Log.WriterFailed(Server.Logger, Id, Address, ex);
                        Output.Abort();
                    }
                }

                var drain = Interlocked.Exchange(ref _closeState, 2) != 2;
                await _transport.CloseAsync(Output.TotalBytesWritten, drain).ConfigureAwait(false);
            }
            finally
            {
                // Logged while still listed, so a connection no longer listed has been logged.
                try
                {
                    Log.ConnectionEnded(Server.Logger, Id, Address, (ConnectionEnd)Volatile.Read(ref _end), _endReason ?? "");
                }
                finally
                {
                    Server.Clients.Remove(this);
                }
            }
        }
    }

    /// <summary>Records why the connection ends; the first cause recorded stands.</summary>
    private void EndWith(ConnectionEnd end, string reason)
    {
        if (Interlocked.CompareExchange(ref _end, (int)end, (int)ConnectionEnd.None) == (int)ConnectionEnd.None)
        {
            _endReason = reason;
        }
    }

    /// <summary>Why a connection that recorded no cause of its own ended.</summary>
    private (ConnectionEnd End, string Reason) DescribeEnd()
        => Volatile.Read(ref _closeRequested) != 0 ? (ConnectionEnd.Shutdown, "closed by the server's shutdown")
            : CloseAfterReply ? (ConnectionEnd.CloseAfterReply, "closed after its last reply")
            : (ConnectionEnd.ClientClosed, "the client closed the connection");

    private async Task ReadLoopAsync(CommandTable commands)
    {
        var input = _transport.Input;
        while (!CloseAfterReply)
        {
            if (MustPauseReading())
            {
                // Backpressure: stop reading until the client has read its replies, so TCP flow control
                // reaches a client that pipelines without reading and its output stays bounded.
                await Output.WaitForDrainAsync(Tuning.OutputLowWater).ConfigureAwait(false);
            }

            if (Output.HasBarrier)
            {
                // An UNSUBSCRIBE's confirmation waits for batches that read the lists before it; until
                // they have queued what they staged, no subscription of this connection may change.
                await Output.WaitForBarrierAsync().ConfigureAwait(false);
            }

            // Read per batch so that CONFIG SET proto-max-bulk-len applies to connected clients too.
            _scanner.ProtoMaxBulkLength = Server.Options.ProtoMaxBulkLen;
            var result = _blocked is { } blocked
                ? await WaitWhileBlockedAsync(input, blocked).ConfigureAwait(false)
                : await input.ReadAsync().ConfigureAwait(false);
            var ended = InputEnded(result);
            if (_inputAbandoned)
            {
                // Left while blocked (see WaitWhileBlockedAsync): nothing more runs.
                input.AdvanceTo(result.Buffer.End);
                return;
            }

            // Set before the close check, with a full fence, so that StopCommands then IsExecuting (shutdown)
            // either sees this batch running or this batch sees the close.
            Interlocked.Exchange(ref _executing, 1);
            if (IsClosing)
            {
                Volatile.Write(ref _executing, 0);
                if (Volatile.Read(ref _closeState) == 1 && Volatile.Read(ref _closeRequested) == 0 && !ended)
                {
                    // Shutdown's first step (StopCommands): run nothing, but stay subscribed and keep the
                    // output open until RequestClose, so a PUBLISH still finishing elsewhere reaches us.
                    input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    continue;
                }

                // RequestClose or Abort: nothing more is read.
                input.AdvanceTo(result.Buffer.Start);
                return;
            }

            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var examined = buffer.End;
            _batch.Begin();
            try
            {
                LastInteraction = Environment.TickCount64;
                var paused = false;
                while (!CloseAfterReply && !IsClosing)
                {
                    if (MustPauseReading() || Output.HasBarrier)
                    {
                        // The rest is read after the pause: mark it unexamined so the next read returns it at once.
                        examined = consumed;
                        paused = true;
                        break;
                    }

                    if (_largeFrameLength > 0 && HoldingForLog)
                    {
                        // appendfsync always: the log is synced before a large frame's command runs.
                        examined = consumed;
                        paused = true;
                        break;
                    }

                    ReadOnlySequence<byte> source;
                    if (_largeFrameLength > 0)
                    {
                        var taken = FillLargeFrame(buffer);
                        buffer = buffer.Slice(taken);
                        consumed = buffer.Start;
                        source = new ReadOnlySequence<byte>(_largeFrame, 0, _largeFrameLength);
                    }
                    else
                    {
                        source = buffer;
                    }

                    var status = _scanner.Scan(source, AuthRequiredForFraming);
                    if (status == ScanStatus.Incomplete)
                    {
                        if (_largeFrameLength == 0 && buffer.Length >= Tuning.LargeFrameThreshold)
                        {
                            // All of the buffer belongs to this frame: move it out of the input pipe,
                            // whose pause threshold is far below the largest frame allowed.
                            StartLargeFrame(buffer);
                            buffer = buffer.Slice(buffer.End);
                            consumed = buffer.Start;
                        }

                        if (_largeFrameLength == 0 || buffer.IsEmpty)
                        {
                            break;
                        }

                        // Assembling a large frame: take what it needs from the rest of the input.
                        continue;
                    }

                    if (status == ScanStatus.ProtocolError)
                    {
                        // Byte for byte as Redis: "got '%c'" carries the client's byte, not its UTF-8 encoding.
                        Writer.WriteErrorRaw(System.Text.Encoding.Latin1.GetBytes("-ERR " + _scanner.Error));
                        Interlocked.Increment(ref Server.Stats.TotalErrorReplies);
                        Log.ProtocolError(Server.Logger, Id, Address, _scanner.Error!);
                        EndWith(ConnectionEnd.CloseAfterReply, "protocol error: " + _scanner.Error);
                        CloseAfterReply = true;
                        break;
                    }

                    var frameLength = _scanner.FrameLength;
                    if (status == ScanStatus.Request && !Execute(commands, source.Slice(0, frameLength)))
                    {
                        // Not run: it would queue output while the log holds this connection (appendfsync
                        // always). Scanned again after the wait.
                        _scanner.Reset();
                        examined = consumed;
                        paused = true;
                        break;
                    }

                    _scanner.Reset();
                    if (_largeFrameLength > 0)
                    {
                        EndLargeFrame();
                    }
                    else
                    {
                        buffer = buffer.Slice(frameLength);
                        consumed = buffer.Start;
                    }

                    if (_blocked is not null)
                    {
                        // The command waits (XREAD BLOCK): nothing after it runs until it is done. The rest
                        // stays in the pipe, examined, and the wait watches the input for more or its end.
                        break;
                    }
                }

                // The query buffer is what waits unprocessed: at most a partial frame, unless reading is paused.
                QueryBufferLength = buffer.Length + _largeFrameLength;
                if (HoldingForLog && !await WaitForLogAsync().ConfigureAwait(false))
                {
                    return;
                }

                FlushReplies(); // with CloseAfterReply, the last thing queued (see FlushReplies)
                FlushStats();
                if (paused)
                {
                    continue;
                }

                if (_blocked is { } waiting)
                {
                    if (!ended)
                    {
                        continue;
                    }

                    // The client closed in the same read as the blocking command: nothing will read a reply.
                    Unblock(waiting);
                }

                if (!CloseAfterReply && QueryBufferLength > Server.Options.ClientQueryBufferLimit)
                {
                    Log.QueryBufferLimit(Server.Logger, Id, Address, QueryBufferLength);
                    EndWith(ConnectionEnd.QueryBufferLimit, $"{QueryBufferLength} bytes");
                    return;
                }

                if (ended)
                {
                    // EOF with a partial frame pending is the client's loss, as in Redis.
                    EndWith(QueryBufferLength == 0 ? ConnectionEnd.ClientClosed : ConnectionEnd.ClientClosedMidRequest,
                        QueryBufferLength == 0 ? "the client closed the connection" : $"the client closed the connection {QueryBufferLength} bytes into a request");
                    return;
                }
            }
            finally
            {
                _batch.End();
                if (_latencySampleStart != 0)
                {
                    RecordLatencySample();
                }

                Volatile.Write(ref _executing, 0);
                input.AdvanceTo(consumed, examined);
            }
        }
    }

    /// <summary>Runs one request; false when it was not run because it must wait for the log (see <see cref="MayRunBeforeLog"/>).</summary>
    private bool Execute(CommandTable commands, in ReadOnlySequence<byte> frame)
    {
        RespRequest request;
        if (_scanner.IsInline)
        {
            request = new RespRequest(_scanner.InlineBytes, _scanner.Slots);
        }
        else if (frame.IsSingleSegment)
        {
            request = new RespRequest(frame.FirstSpan, _scanner.Slots);
        }
        else
        {
            // A frame across pipe segments is copied once so that every argument is one span.
            var length = (int)frame.Length;
            if (_frameScratch.Length < length)
            {
                if (_frameScratch.Length > 0)
                {
                    ArrayPool<byte>.Shared.Return(_frameScratch);
                }

                _frameScratch = ArrayPool<byte>.Shared.Rent(length);
            }

            frame.CopyTo(_frameScratch);
            request = new RespRequest(_frameScratch.AsSpan(0, length), _scanner.Slots);
        }

        if (HoldingForLog && !MayRunBeforeLog(commands, request))
        {
            return false;
        }

        if (MustWaitForCursor(commands, request))
        {
            return false;
        }

        _commandsInBatch++;
        var before = ReplyMode;
        var mark = _replies.Length;
        LastCommand = commands.Execute(this, request);
        if (before == ReplyMode.Skip || (before == ReplyMode.Off && ReplyMode == ReplyMode.Off))
        {
            // CLIENT REPLY OFF / SKIP: the command ran, its reply is dropped.
            _replies.Truncate(mark);
        }

        if (before == ReplyMode.Skip && ReplyMode == ReplyMode.Skip)
        {
            ReplyMode = ReplyMode.On;
        }
        else if (ReplyMode == ReplyMode.SkipNext)
        {
            ReplyMode = ReplyMode.Skip;
        }

        if (_frameScratch.Length > Tuning.FrameScratchKeptBytes)
        {
            ArrayPool<byte>.Shared.Return(_frameScratch);
            _frameScratch = [];
        }

        if (_replies.Length >= Tuning.ReplyFlushBytes && !HoldingForLog)
        {
            FlushReplies();
        }

        _batch.AfterCommand();
        return true;
    }

    /// <summary>
    /// While the log holds this connection (appendfsync always) only commands that queue nothing themselves run
    /// on, so that a pipeline of PUBLISHes or writes is synced once: PUBLISH (its reply and deliveries wait in the
    /// batch), unless the client is subscribed (it queues its earlier replies first), and the write commands; and
    /// only while the replies and staged deliveries waiting stay under their usual bounds. Anything else waits.
    /// </summary>
    private bool MayRunBeforeLog(CommandTable commands, in RespRequest request)
    {
        if (_replies.Length >= Tuning.ReplyFlushBytes || _batch.StagedCount >= Tuning.MaxStaged)
        {
            return false;
        }

        var flags = commands.Find(request[0])?.Flags ?? CommandFlags.None;
        if (_historyTicket > _historyWaited || _cursorWait is not null)
        {
            // A PUBLISH on its way through JetStream: a write after it (DEL, XADD to its channel) must see it applied.
            return (flags & CommandFlags.DefersHistory) != 0 && !IsPubSub && _cursorWait is null;
        }

        return ((flags & CommandFlags.DefersHistory) != 0 && !IsPubSub) || (flags & CommandFlags.Write) != 0;
    }

    /// <summary>
    /// A cluster's shared history (Cluster/SharedHistory.cs): a NOTI.SUBSCRIBE whose cursor another node gave and
    /// this node has not applied yet (the client moved within milliseconds of its last message) waits, without
    /// running, until this node has applied that far or <see cref="Cluster.SharedHistory.CursorWaitLimit"/> has
    /// passed; then it runs (and a cursor still ahead is told of a gap, as on any server). Once per command.
    /// </summary>
    private bool MustWaitForCursor(CommandTable commands, in RespRequest request)
    {
        if (_cursorWaited)
        {
            _cursorWaited = false;
            return false;
        }

        if (Server.Cluster?.History is not { Ready: true } shared || request.Count < 2
            || commands.Find(request[0]) is not { Name: "noti.subscribe" }
            || !StreamArguments.TryParseId(request[1], 0, strict: true, out var cursor)
            || cursor.Seq <= shared.Applied)
        {
            return false;
        }

        _cursorWait = shared.WaitAppliedAsync(cursor.Seq);
        return true;
    }

    /// <summary>
    /// A client without an output-buffer limit (the normal class, by default) is not cut off for not
    /// reading its replies; its reads pause instead. A class with a limit (pub/sub, or a configured
    /// normal limit) is cut off by that limit, as in Redis, and pushes from publishers never wait.
    /// </summary>
    private bool MustPauseReading()
        => Output.BufferedBytes + _replies.Length >= Tuning.OutputHighWater && CurrentOutputLimit().IsUnlimited;

    /// <summary>Starts assembling a frame too large for the input pipe: all of <paramref name="partial"/> is its start.</summary>
    private void StartLargeFrame(in ReadOnlySequence<byte> partial)
    {
        EnsureLargeFrameCapacity(partial.Length);
        partial.CopyTo(_largeFrame);
        _largeFrameLength = (int)partial.Length;
    }

    /// <summary>Copies from <paramref name="input"/> exactly the bytes the large frame still needs, never
    /// past its end (the next frame stays in the pipe); returns how many were taken.</summary>
    private long FillLargeFrame(in ReadOnlySequence<byte> input)
    {
        if (input.IsEmpty)
        {
            return 0;
        }

        long take;
        var wanted = _scanner.BulkBytesWanted;
        if (wanted >= 0)
        {
            take = Math.Min(wanted - _largeFrameLength, input.Length);
        }
        else if (_largeFrameLength > _scanner.LineStart && _largeFrame[_largeFrameLength - 1] == (byte)'\r')
        {
            // A header line ends with the byte after its '\r'.
            take = 1;
        }
        else
        {
            var cr = input.PositionOf((byte)'\r');
            take = cr is null ? input.Length : Math.Min(input.Slice(0, cr.Value).Length + 2, input.Length);
        }

        if (take <= 0)
        {
            return 0;
        }

        EnsureLargeFrameCapacity(_largeFrameLength + take);
        input.Slice(0, take).CopyTo(_largeFrame.AsSpan(_largeFrameLength));
        _largeFrameLength += (int)take;
        return take;
    }

    private void EnsureLargeFrameCapacity(long needed)
    {
        if (_largeFrame.Length >= needed)
        {
            return;
        }

        // Doubling: memory follows the bytes actually received, not a declared length.
        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(Array.MaxLength, Math.Max(needed, (long)_largeFrame.Length * 2)));
        var length = _largeFrameLength;
        _largeFrame.AsSpan(0, length).CopyTo(grown);
        EndLargeFrame();
        _largeFrame = grown;
        _largeFrameLength = length;
    }

    private void EndLargeFrame()
    {
        _largeFrameLength = 0;
        if (_largeFrame.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_largeFrame);
            _largeFrame = [];
        }
    }

    /// <summary>Before AUTH Redis refuses large frames outright.</summary>
    private bool AuthRequiredForFraming => AuthRequired;

    /// <summary>"POST" or "Host:" as a command: an HTTP request aimed at Redis. Close without a reply, as Redis does.</summary>
    public void SecurityWarning()
    {
        Log.SecurityWarning(Server.Logger, Address);
        _replies.Truncate(0);
        Abort(ConnectionEnd.CrossProtocol, "cross-protocol request");
    }
}
