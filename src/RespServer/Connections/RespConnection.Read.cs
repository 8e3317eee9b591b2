using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Protocol;
using Pipelines.Sockets.Unofficial;

namespace Notistream.RespServer.Connections;

internal sealed partial class RespConnection
{
    private byte[] _frameScratch = [];
    private string? _endReason;

    /// <summary>Runs the connection to its end: reads and executes requests while the writer drains output.</summary>
    public async Task RunAsync(CommandTable commands)
    {
        var writer = Output.RunAsync(_socket.Output);
        try
        {
            await ReadLoopAsync(commands).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            _endReason ??= ex.Message;
            Log.ConnectionError(Server.Logger, Id, Address, ex.Message);
        }
        finally
        {
            FlushStats();
            UnsubscribeAll();
            _replies.Release();
            if (Volatile.Read(ref _closeState) != 2)
            {
                Output.Complete();
                try
                {
                    await writer.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is TimeoutException || IsConnectionError(ex))
                {
                    Output.Abort();
                }
            }

            if (Interlocked.Exchange(ref _closeState, 2) != 2)
            {
                await WaitUntilSentAsync().ConfigureAwait(false);
            }

            await _socket.Output.CompleteAsync().ConfigureAwait(false);
            await _socket.Input.CompleteAsync().ConfigureAwait(false);
            _socket.Dispose();
            Server.Clients.Remove(this);
        }
    }

    /// <summary>
    /// Disposing the socket while its send loop still holds bytes would cut off the last replies
    /// (QUIT's +OK, a protocol error). The library exposes no awaitable for "all sent", so this
    /// polls its byte counter against what the writer handed over, bounded.
    /// </summary>
    private async Task WaitUntilSentAsync()
    {
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        var deadline = Environment.TickCount64 + 5000;
        while (_socket.BytesSent < Output.TotalBytesWritten && !SendLoopEnded(_socket.ShutdownKind)
            && Environment.TickCount64 < deadline)
        {
            await poll.WaitForNextTickAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The first recorded end is the send side's own (a client that half-closed still gets its replies).</summary>
    private static bool SendLoopEnded(PipeShutdownKind kind) => kind is PipeShutdownKind.WriteEndOfStream
        or PipeShutdownKind.WriteDisposed or PipeShutdownKind.WriteException or PipeShutdownKind.WriteIOException
        or PipeShutdownKind.WriteSocketError;

    private async Task ReadLoopAsync(CommandTable commands)
    {
        var input = _socket.Input;
        while (!CloseAfterReply)
        {
            // Read per batch so that CONFIG SET proto-max-bulk-len applies to connected clients too.
            _scanner.ProtoMaxBulkLength = Server.Options.ProtoMaxBulkLen;
            var result = await input.ReadAsync().ConfigureAwait(false);
            if (IsClosing)
            {
                // RequestClose or Abort: nothing more is read.
                input.AdvanceTo(result.Buffer.Start);
                return;
            }

            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var examined = buffer.End;
            try
            {
                LastInteraction = Environment.TickCount64;
                QueryBufferLength = buffer.Length;
                if (buffer.Length > Server.Options.ClientQueryBufferLimit)
                {
                    Log.QueryBufferLimit(Server.Logger, Id, Address, buffer.Length);
                    _endReason = "query buffer limit";
                    return;
                }

                while (!CloseAfterReply && !IsClosing)
                {
                    var status = _scanner.Scan(buffer, AuthRequiredForFraming);
                    if (status == ScanStatus.Incomplete)
                    {
                        break;
                    }

                    if (status == ScanStatus.ProtocolError)
                    {
                        Writer.WriteError(_scanner.Error!);
                        Interlocked.Increment(ref Server.Stats.TotalErrorReplies);
                        Log.ProtocolError(Server.Logger, Id, Address, _scanner.Error!);
                        _endReason = _scanner.Error;
                        CloseAfterReply = true;
                        break;
                    }

                    var frameLength = _scanner.FrameLength;
                    if (status == ScanStatus.Request)
                    {
                        Execute(commands, buffer.Slice(0, frameLength));
                    }

                    _scanner.Reset();
                    buffer = buffer.Slice(frameLength);
                    consumed = buffer.Start;
                }

                QueryBufferLength = buffer.Length;
                FlushReplies();
                FlushStats();
                if (result.IsCompleted || result.IsCanceled)
                {
                    // EOF with a partial frame pending is the client's loss, as in Redis.
                    _endReason ??= buffer.IsEmpty ? "client closed the connection" : "client closed the connection mid-request";
                    return;
                }
            }
            finally
            {
                input.AdvanceTo(consumed, examined);
            }
        }
    }

    private void Execute(CommandTable commands, in ReadOnlySequence<byte> frame)
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

        if (_frameScratch.Length > 64 * 1024)
        {
            ArrayPool<byte>.Shared.Return(_frameScratch);
            _frameScratch = [];
        }

        if (_replies.Length >= 64 * 1024)
        {
            FlushReplies();
        }
    }

    /// <summary>Before AUTH Redis refuses large frames outright.</summary>
    private bool AuthRequiredForFraming => !Authenticated;

    /// <summary>The ways a peer or a close ends a connection; anything else is a bug and is logged as one.</summary>
    private static bool IsConnectionError(Exception ex) => ex is IOException or SocketException or ObjectDisposedException
        or OperationCanceledException or InvalidOperationException { Source: "System.IO.Pipelines" };

    /// <summary>"POST" or "Host:" as a command: an HTTP request aimed at Redis. Close without a reply, as Redis does.</summary>
    public void SecurityWarning()
    {
        Log.SecurityWarning(Server.Logger, Address);
        _replies.Truncate(0);
        Abort("security", "cross-protocol request");
    }
}
