using System.Net;
using System.Net.Sockets;
using System.Text;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>A plain socket speaking raw RESP, reading exactly what the test expects (never "whatever arrived").</summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _buffer = [];

    private RawClient(Socket socket) => _socket = socket;

    public Socket Socket => _socket;

    public static async Task<RawClient> ConnectAsync(int port, int receiveBufferSize = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (receiveBufferSize > 0)
        {
            socket.ReceiveBufferSize = receiveBufferSize;
        }

        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WithTimeout();
        return new RawClient(socket);
    }

    public async Task SendAsync(string text) => await SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _socket.SendAsync(bytes).WithTimeout();

    public static byte[] Command(params string[] args)
    {
        var text = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            text.Append('$').Append(Encoding.Latin1.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        return Encoding.Latin1.GetBytes(text.ToString());
    }

    /// <summary>Reads until exactly <paramref name="expected"/> has arrived and returns it; fails on a difference or a timeout.</summary>
    public async Task ExpectAsync(string expected)
    {
        var want = Encoding.Latin1.GetBytes(expected);
        await FillAsync(want.Length);
        var got = _buffer.Take(want.Length).ToArray();
        Assert.Equal(expected, Encoding.Latin1.GetString(got));
        _buffer.RemoveRange(0, want.Length);
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes, whatever they are.</summary>
    public async Task<string> ReadAsync(int count)
    {
        await FillAsync(count);
        var got = Encoding.Latin1.GetString(_buffer.Take(count).ToArray());
        _buffer.RemoveRange(0, count);
        return got;
    }

    /// <summary>True once the server has closed the connection (after all expected bytes were read).</summary>
    public async Task ExpectClosedAsync()
    {
        var chunk = new byte[4096];
        while (true)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(chunk).WithTimeout();
            }
            catch (SocketException)
            {
                return;
            }

            if (n == 0)
            {
                return;
            }

            _buffer.AddRange(chunk.AsSpan(0, n).ToArray());
            Assert.Fail($"expected the connection to close, got: {Encoding.Latin1.GetString([.. _buffer])}");
        }
    }

    /// <summary>Everything the server sends until it closes the connection.</summary>
    public async Task<string> ReadToCloseAsync()
    {
        var chunk = new byte[64 * 1024];
        while (true)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(chunk).WithTimeout();
            }
            catch (SocketException)
            {
                n = 0;
            }

            if (n == 0)
            {
                var all = Encoding.Latin1.GetString([.. _buffer]);
                _buffer.Clear();
                return all;
            }

            _buffer.AddRange(chunk.AsSpan(0, n).ToArray());
        }
    }

    /// <summary>Reads and discards whatever has arrived (a publisher's replies), without waiting for more.</summary>
    public async Task DrainAsync()
    {
        var chunk = new byte[64 * 1024];
        while (_socket.Available > 0)
        {
            await _socket.ReceiveAsync(chunk).WithTimeout();
        }
    }

    private async Task FillAsync(int count)
    {
        var chunk = new byte[64 * 1024];
        while (_buffer.Count < count)
        {
            var n = await _socket.ReceiveAsync(chunk).WithTimeout();
            if (n == 0)
            {
                Assert.Fail($"connection closed after {_buffer.Count} of {count} bytes: {Encoding.Latin1.GetString([.. _buffer])}");
            }

            _buffer.AddRange(chunk.AsSpan(0, n).ToArray());
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
