using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Protocol;
using Pipelines.Sockets.Unofficial;

namespace Notistream.RespServer.Tests.Performance;

/// <summary>
/// One client connection run by hand: a request is framed by the real scanner, executed through the
/// real command table, and its reply goes through the connection's output queue and writer into a
/// pipe drained as a socket would drain it. Only the socket itself is left out (it is connected
/// but unused, because a connection needs one).
/// </summary>
internal sealed class CommandHarness : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Socket _client;
    private readonly SocketConnection _socket;
    private readonly CommandTable _commands = new();
    private readonly RequestScanner _scanner = new();
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Task _writer;
    private readonly Task _reader;

    private CommandHarness(Socket listener, Socket client, Socket accepted, RespServerOptions options)
    {
        _listener = listener;
        _client = client;
        _socket = SocketConnection.Create(accepted);
        Server = new ServerContext(options, NullLoggerFactory.Instance);
        Connection = new RespConnection(Server, new SocketTransport(_socket), 1);
        _writer = Connection.Output.RunAsync(_pipe.Writer);
        _reader = DrainAsync();
    }

    public ServerContext Server { get; }

    public RespConnection Connection { get; }

    /// <summary>With <paramref name="options"/>, or the defaults (every channel keeps history).</summary>
    public static async Task<CommandHarness> CreateAsync(RespServerOptions? options = null)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        var accepted = await listener.AcceptAsync();
        return new CommandHarness(listener, client, accepted, options ?? new RespServerOptions());
    }

    /// <summary>Frames and runs every request in <paramref name="input"/>, then waits until the replies are written.</summary>
    public int Run(ReadOnlySequence<byte> input)
    {
        var requests = 0;
        while (_scanner.Scan(input, authRequired: false) == ScanStatus.Request)
        {
            var frame = input.Slice(0, _scanner.FrameLength);
            var request = _scanner.IsInline
                ? new RespRequest(_scanner.InlineBytes, _scanner.Slots)
                : new RespRequest(frame.FirstSpan, _scanner.Slots);
            _commands.Execute(Connection, request);
            input = input.Slice(_scanner.FrameLength);
            _scanner.Reset();
            requests++;
        }

        Connection.FlushReplies();
        var spin = new SpinWait();
        while (Connection.Output.BufferedBytes > 0)
        {
            spin.SpinOnce();
        }

        return requests;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            var result = await _pipe.Reader.ReadAsync().ConfigureAwait(false);
            _pipe.Reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Connection.Output.Complete();
        await _writer.WaitAsync(TimeSpan.FromSeconds(10));
        await _pipe.Writer.CompleteAsync();
        await _reader.WaitAsync(TimeSpan.FromSeconds(10));
        _socket.Dispose();
        _client.Dispose();
        _listener.Dispose();
    }
}
