using System.IO.Pipelines;
using Notistream.RespServer.Output;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;

namespace Notistream.RespServer.Connections;

/// <summary>
/// TLS: pipes over an authenticated <see cref="SslStream"/> on the accepted socket. The reader pulls
/// from the stream only when the read loop asks, so unread input stays bounded by the loop's own
/// query-buffer check; a flush completes once the bytes are encrypted and handed to the socket.
/// </summary>
internal sealed class TlsTransport : ClientTransport
{
    private readonly Socket _socket;
    private readonly SslStream _stream;

    public TlsTransport(Socket socket, SslStream stream)
    {
        _socket = socket;
        _stream = stream;
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024, leaveOpen: true));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true));
    }

    public override PipeReader Input { get; }

    public override PipeWriter Output { get; }

    public override EndPoint? RemoteEndPoint => _socket.RemoteEndPoint;

    public override EndPoint? LocalEndPoint => _socket.LocalEndPoint;

    public override Socket Socket => _socket;

    public override async ValueTask CloseAsync(long written, bool drain)
    {
        try
        {
            await Output.CompleteAsync().ConfigureAwait(false);
            await Input.CompleteAsync().ConfigureAwait(false);
            if (drain)
            {
                // Every flushed byte is in the socket already; close_notify tells the peer the end is clean.
                await _stream.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                _socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or TimeoutException
            or InvalidOperationException)
        {
            // the peer is gone or never read: nothing more to deliver
        }
        finally
        {
            Abort();
        }
    }

    public override void Abort()
    {
        _socket.Dispose();
        _stream.Dispose();
    }
}
