using System.Net;
using System.Net.Sockets;
using System.Text;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Infrastructure;

/// <summary>A server error reply ("-ERR ...").</summary>
internal sealed record RespError(string Message);

/// <summary>
/// A raw RESP client over one socket: sends exact bytes and parses replies (RESP2 and RESP3 types),
/// so a test sees what the server really sent, including a close or a reset.
/// </summary>
internal sealed class WireClient : IAsyncDisposable
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private WireClient(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<WireClient> ConnectAsync(int port, int receiveBufferSize = 0, int sendBufferSize = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize > 0)
        {
            socket.ReceiveBufferSize = receiveBufferSize;
        }

        if (sendBufferSize > 0)
        {
            socket.SendBufferSize = sendBufferSize;
        }

        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WithTimeout();
        return new WireClient(socket);
    }

    public static byte[] Command(params string[] args)
    {
        var text = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            text.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public Task SendAsync(params string[] args) => SendAsync(Command(args));

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await Socket.SendAsync(bytes).WithTimeout();
            bytes = bytes[sent..];
        }
    }

    /// <summary>Sends a command and returns its reply.</summary>
    public async Task<object?> CallAsync(params string[] args)
    {
        await SendAsync(args);
        return await ReadAsync();
    }

    /// <summary>The next reply: string (simple), RespError, long, byte[] (bulk), object?[] (array, push, map, set), null.</summary>
    public async Task<object?> ReadAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TaskTimeoutExtensions.DefaultTimeout);
        return await ReadValueAsync(cts.Token);
    }

    /// <summary>Reads until the server closes or resets the connection; returns everything that came before.</summary>
    public async Task<byte[]> ReadToCloseAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var all = new List<byte>(_buffer.AsSpan(_start, _end - _start).ToArray());
        _start = _end = 0;
        var chunk = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await Socket.ReceiveAsync(chunk, cts.Token);
                if (n == 0)
                {
                    return [.. all];
                }

                all.AddRange(chunk.AsSpan(0, n));
            }
        }
        catch (SocketException)
        {
            return [.. all];
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"connection still open after {timeout.TotalSeconds:0.#} s; received: {Escape([.. all])}");
        }
    }

    /// <summary>Closes with a TCP reset (SO_LINGER 0), as a killed process or a dropped phone would look.</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Close();
    }

    public static string Escape(byte[] bytes)
    {
        var text = new StringBuilder();
        foreach (var b in bytes.Take(400))
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                >= 32 and < 127 => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }

        return text.ToString();
    }

    private async Task<object?> ReadValueAsync(CancellationToken token)
    {
        var line = await ReadLineAsync(token);
        var body = line[1..];
        switch (line[0])
        {
            case '+':
                return body;
            case '-':
                return new RespError(body);
            case ':':
                return long.Parse(body, System.Globalization.CultureInfo.InvariantCulture);
            case '_':
                return null;
            case '#':
                return body == "t";
            case ',':
            case '(':
                return body;
            case '$':
            case '=':
            case '!':
                var length = int.Parse(body, System.Globalization.CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                var bytes = await ReadExactAsync(length + 2, token);
                return bytes[..length];
            case '*':
            case '>':
            case '~':
            case '%':
            case '|':
                var count = int.Parse(body, System.Globalization.CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return null;
                }

                if (line[0] is '%' or '|')
                {
                    count *= 2;
                }

                var items = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    items[i] = await ReadValueAsync(token);
                }

                if (line[0] == '|')
                {
                    // An attribute precedes the reply it describes.
                    return await ReadValueAsync(token);
                }

                return items;
            default:
                throw new InvalidDataException($"unexpected reply type in line '{line}'");
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken token)
    {
        var scanned = 0;
        while (true)
        {
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start + scanned, _end - _start - scanned);
            if (lf >= 0)
            {
                if (lf == _start || _buffer[lf - 1] != '\r')
                {
                    throw new InvalidDataException("a reply line ended without CR");
                }

                var line = Encoding.UTF8.GetString(_buffer, _start, lf - 1 - _start);
                _start = lf + 1;
                return line;
            }

            scanned = _end - _start;
            await FillAsync(token);
        }
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken token)
    {
        var result = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            if (_start == _end)
            {
                await FillAsync(token);
            }

            var n = Math.Min(count - filled, _end - _start);
            Array.Copy(_buffer, _start, result, filled, n);
            _start += n;
            filled += n;
        }

        return result;
    }

    private async Task FillAsync(CancellationToken token)
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            throw new InvalidDataException("reply line longer than the read buffer");
        }

        var n = await Socket.ReceiveAsync(_buffer.AsMemory(_end), token);
        if (n == 0)
        {
            throw new EndOfStreamException("the server closed the connection");
        }

        _end += n;
    }

    public ValueTask DisposeAsync()
    {
        Socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
