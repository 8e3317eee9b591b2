using System.Net;
using System.Net.Sockets;
using Notistream.Testing;

namespace Notistream.RespServer.Compat.Tests.Harness;

/// <summary>
/// A plain TCP connection that writes exact bytes and reads whole RESP frames back. A reply is
/// complete when the expected number of frames has been parsed, never after a pause.
/// </summary>
internal sealed class RawConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawConnection(Socket socket) => _socket = socket;

    public static async Task<RawConnection> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WithTimeout();
        return new RawConnection(socket);
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await _socket.SendAsync(bytes, SocketFlags.None).AsTask().WithTimeout();
            bytes = bytes[sent..];
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> frames; on timeout throws with what did arrive.</summary>
    public async Task<List<RespFrame>> ReadFramesAsync(int count, TimeSpan timeout)
    {
        var frames = new List<RespFrame>(count);
        using var cts = new CancellationTokenSource(timeout);
        while (frames.Count < count)
        {
            var used = RespFrame.TryParse(_buffer.AsSpan(0, _end), _start, out var frame);
            if (used > 0)
            {
                frames.Add(frame!);
                _start += used;
                continue;
            }

            int received;
            try
            {
                received = await ReceiveAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new IncompleteReplyException(
                    $"expected {count} frame(s), got {frames.Count} within {timeout.TotalSeconds:0.#} s", frames, Pending);
            }

            if (received == 0)
            {
                throw new IncompleteReplyException($"expected {count} frame(s), connection closed after {frames.Count}", frames, Pending);
            }
        }

        return frames;
    }

    /// <summary>Everything the server sends until it closes the connection (EOF or reset).</summary>
    public async Task<byte[]> ReadToCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            int received;
            try
            {
                received = await ReceiveAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new IncompleteReplyException($"connection still open after {timeout.TotalSeconds:0.#} s", [], Pending);
            }

            if (received == 0)
            {
                var all = Pending;
                _start = _end;
                return all;
            }
        }
    }

    /// <summary>Bytes received and not yet returned as frames.</summary>
    public byte[] Pending => _buffer.AsSpan(_start, _end - _start).ToArray();

    private async Task<int> ReceiveAsync(CancellationToken cancellation)
    {
        if (_start > 0 && _start == _end)
        {
            _start = _end = 0;
        }

        if (_end == _buffer.Length)
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            else
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }

        try
        {
            var n = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellation);
            _end += n;
            return n;
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            // A server that closes with unread input resets the connection: that is a close too.
            return 0;
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal sealed class IncompleteReplyException(string message, IReadOnlyList<RespFrame> frames, byte[] pending) : Exception(message)
{
    public IReadOnlyList<RespFrame> Frames { get; } = frames;

    public byte[] Pending { get; } = pending;
}
