using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Infrastructure;

/// <summary>
/// A subscriber on a raw socket, speaking RESP2 itself, so a test sees the exact bytes the
/// server pushed — independent of the StackExchange.Redis client the gateway uses.
/// </summary>
internal sealed class RespSubscriber : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RespSubscriber(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<RespSubscriber> SubscribeAsync(int port, string? password, params string[] channels)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WithTimeout();
        var subscriber = new RespSubscriber(socket);
        if (password is not null)
        {
            await subscriber.SendAsync("AUTH", password);
            Assert.Equal("OK", await subscriber.ReadAsync().WithTimeout());
        }

        await subscriber.SendAsync(["SUBSCRIBE", .. channels]);
        foreach (var channel in channels)
        {
            var confirmation = Assert.IsType<object?[]>(await subscriber.ReadAsync().WithTimeout());
            Assert.Equal("subscribe", Text(confirmation[0]));
            Assert.Equal(channel, Text(confirmation[1]));
        }

        return subscriber;
    }

    /// <summary>The next pushed message; fails on anything else, or after the default timeout.</summary>
    public async Task<(string Channel, byte[] Payload)> NextMessageAsync()
    {
        var frame = Assert.IsType<object?[]>(await ReadAsync().WithTimeout());
        Assert.Equal("message", Text(frame[0]));
        return (Text(frame[1]), Assert.IsType<byte[]>(frame[2]));
    }

    public async Task<string> NextTextAsync(string expectedChannel)
    {
        var (channel, payload) = await NextMessageAsync();
        Assert.Equal(expectedChannel, channel);
        return Encoding.UTF8.GetString(payload);
    }

    private static string Text(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string text => text,
        _ => throw new InvalidOperationException($"expected a string, got {value ?? "null"}"),
    };

    private async Task SendAsync(params string[] arguments)
    {
        var command = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{arguments.Length}\r\n");
        foreach (var argument in arguments)
        {
            command.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(argument)}\r\n{argument}\r\n");
        }

        await _stream.WriteAsync(Encoding.UTF8.GetBytes(command.ToString())).AsTask().WithTimeout();
    }

    private async Task<object?> ReadAsync()
    {
        var line = await ReadLineAsync();
        var prefix = line[0];
        var rest = line[1..];
        switch (prefix)
        {
            case '+':
                return rest;
            case '-':
                throw new InvalidOperationException($"server error: {rest}");
            case ':':
                return long.Parse(rest, CultureInfo.InvariantCulture);
            case '$':
                var length = int.Parse(rest, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                var bytes = await ReadExactlyAsync(length + 2);
                return bytes[..length];
            case '*':
            case '>':
                var count = int.Parse(rest, CultureInfo.InvariantCulture);
                var items = new object?[Math.Max(count, 0)];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = await ReadAsync();
                }

                return items;
            default:
                throw new InvalidOperationException($"unexpected RESP frame '{line}'");
        }
    }

    private async Task<string> ReadLineAsync()
    {
        while (true)
        {
            var span = _buffer.AsSpan(_start, _end - _start);
            var newline = span.IndexOf("\r\n"u8);
            if (newline >= 0)
            {
                var line = Encoding.UTF8.GetString(span[..newline]);
                _start += newline + 2;
                return line;
            }

            await FillAsync();
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end)
            {
                await FillAsync();
            }

            var n = Math.Min(count - copied, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(result.AsSpan(copied));
            _start += n;
            copied += n;
        }

        return result;
    }

    private async Task FillAsync()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end));
        if (read == 0)
        {
            throw new EndOfStreamException("the server closed the subscriber's connection");
        }

        _end += read;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
