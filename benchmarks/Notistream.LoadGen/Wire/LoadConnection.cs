using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace Notistream.LoadGen.Wire;

/// <summary>
/// One raw RESP connection: a socket and one receive buffer. The hot paths (subscriber readers, publisher
/// reply readers) parse straight out of <see cref="Unparsed"/> and <see cref="Consume"/> what they used;
/// set-up traffic uses <see cref="ReadReplyAsync"/>. One reader at a time; sends may come from one other task.
/// </summary>
internal sealed class LoadConnection : IDisposable
{
    /// <summary>Every set-up read or connect gives up after this long.</summary>
    public static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(30);

    private readonly Socket _socket;
    private byte[] _buffer;
    private int _start;
    private int _end;

    private LoadConnection(Socket socket, int bufferSize)
    {
        _socket = socket;
        _buffer = new byte[bufferSize];
    }

    public ReadOnlySpan<byte> Unparsed => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Connects with Nagle off. <paramref name="busy"/> connections get large socket and read buffers.</summary>
    public static async Task<LoadConnection> ConnectAsync(EndPoint endPoint, bool busy, CancellationToken cancellationToken = default)
    {
        Socket socket;
        try
        {
            socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TooManyOpenSockets)
        {
            throw OpenFileLimit(ex);
        }

        try
        {
            if (busy)
            {
                socket.ReceiveBufferSize = 1 << 20;
                socket.SendBufferSize = 1 << 20;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(SetupTimeout);
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            return new LoadConnection(socket, busy ? 64 * 1024 : 512);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.TooManyOpenSockets)
        {
            socket.Dispose();
            throw OpenFileLimit(ex);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new LoadGenException($"cannot connect to {endPoint}: {ex.Message}", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static LoadGenException OpenFileLimit(SocketException ex) => new(
        "too many open files (EMFILE): this process reached its open-file limit; raise it (e.g. `ulimit -n 30000`) "
        + "or run fewer connections (--connections N)", ex);

    /// <summary>Sends everything. Pooled state machine: publishers call this for every pipelined write.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Blocking send, for the paced publisher's own thread.</summary>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = _socket.Send(bytes);
            bytes = bytes[sent..];
        }
    }

    public void Consume(int count) => _start += count;

    /// <summary>
    /// Receives more bytes after what is unparsed; false once the server has closed the connection.
    /// Pooled state machine: every reader calls this for every receive, and an allocation per receive
    /// (about 125,000 a second in the latency scenario) would make the load generator's own GC pauses
    /// part of the figures it reports.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> FillAsync(CancellationToken cancellationToken = default)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            if (_start == 0)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            else
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
        }

        var received = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        _end += received;
        return received > 0;
    }

    /// <summary>Reads one whole reply (set-up traffic) and decodes it to strings.</summary>
    public async Task<SetupReply> ReadReplyAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(SetupTimeout);
        while (true)
        {
            var used = RespParser.TryParse(Unparsed, out var reply);
            if (used > 0)
            {
                var result = SetupReply.From(reply, Unparsed);
                Consume(used);
                return result;
            }

            bool more;
            try
            {
                more = await FillAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new LoadGenException($"no reply from the server within {SetupTimeout.TotalSeconds} s");
            }

            if (!more)
            {
                throw new LoadGenException("the server closed the connection");
            }
        }
    }

    /// <summary>Sends <paramref name="command"/> and reads its reply; an error reply throws.</summary>
    public async Task<SetupReply> CallAsync(params IReadOnlyList<string> command)
    {
        await SendAsync(RespCommand.Encode(command)).ConfigureAwait(false);
        var reply = await ReadReplyAsync().ConfigureAwait(false);
        if (reply.Kind == RespKind.Error)
        {
            throw new LoadGenException($"{command[0]} answered -{reply.Text}");
        }

        return reply;
    }

    /// <summary>
    /// SUBSCRIBE or PSUBSCRIBE to <paramref name="names"/> (in commands of at most 1,000 names) and waits
    /// for every confirmation, so that a publish sent afterwards is counted by the server.
    /// </summary>
    public async Task SubscribeAsync(string command, IReadOnlyList<string> names)
    {
        for (var first = 0; first < names.Count; first += 1000)
        {
            var chunk = names.Skip(first).Take(1000).ToList();
            await SendAsync(RespCommand.Encode([command, .. chunk])).ConfigureAwait(false);
            for (var i = 0; i < chunk.Count; i++)
            {
                var reply = await ReadReplyAsync().ConfigureAwait(false);
                if (reply.Kind == RespKind.Error)
                {
                    throw new LoadGenException($"{command} answered -{reply.Text}");
                }

                if (reply.Kind != RespKind.Array || reply.Items.Count != 3 || !string.Equals(reply.Items[0].Text, command, StringComparison.OrdinalIgnoreCase))
                {
                    throw new LoadGenException($"{command}: unexpected reply {reply}");
                }
            }
        }
    }

    /// <summary>Stops reads and writes now; a reader blocked in <see cref="FillAsync"/> then ends.</summary>
    public void Abort()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // already closed by the peer
        }
        catch (ObjectDisposedException)
        {
            // already disposed
        }
    }

    public void Dispose() => _socket.Dispose();
}

/// <summary>A decoded set-up reply.</summary>
internal sealed record SetupReply(RespKind Kind, long Integer, string? Text, IReadOnlyList<SetupReply> Items)
{
    public static SetupReply From(in RespReply reply, ReadOnlySpan<byte> buffer)
    {
        if (reply.Kind != RespKind.Array)
        {
            return From(new RespElement(reply.Kind, reply.Integer, reply.Offset, reply.Length), buffer);
        }

        var items = new SetupReply[reply.Count];
        for (var i = 0; i < reply.Count; i++)
        {
            items[i] = From(reply[i], buffer);
        }

        return new SetupReply(RespKind.Array, 0, null, items);
    }

    private static SetupReply From(RespElement element, ReadOnlySpan<byte> buffer) => new(
        element.Kind,
        element.Integer,
        element.Kind is RespKind.Simple or RespKind.Error or RespKind.Bulk ? Encoding.UTF8.GetString(buffer.Slice(element.Offset, element.Length)) : null,
        []);

    public override string ToString() => Kind switch
    {
        RespKind.Array => $"[{string.Join(", ", Items)}]",
        RespKind.Integer => $":{Integer}",
        RespKind.Null => "(nil)",
        _ => Text ?? "",
    };
}
