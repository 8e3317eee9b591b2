using System.IO.Pipelines;
using Notistream.RespServer.Output;
using System.Net;
using Pipelines.Sockets.Unofficial;

namespace Notistream.RespServer.Connections;

/// <summary>
/// Plain TCP: Pipelines.Sockets.Unofficial's receive pipe; output is sent straight to the socket by
/// the connection's writer (<see cref="ConnectionOutput.RunAsync(System.Net.Sockets.Socket)"/>),
/// so the library's send pipe stays unused.
/// </summary>
internal sealed class SocketTransport(SocketConnection socket) : ClientTransport
{
    public override PipeReader Input => socket.Input;

    public override PipeWriter Output => socket.Output;

    public override EndPoint? RemoteEndPoint => socket.Socket.RemoteEndPoint;

    public override EndPoint? LocalEndPoint => socket.Socket.LocalEndPoint;

    public override System.Net.Sockets.Socket Socket => socket.Socket;

    public override Task RunOutputAsync(ConnectionOutput output) => output.RunAsync(socket.Socket);

    /// <summary>
    /// Once the writer has ended, every byte it took was handed to the kernel by its own send calls,
    /// which send data queued before a close; nothing is left in user space to wait for.
    /// </summary>
    public override async ValueTask CloseAsync(long written, bool drain)
    {
        await socket.Output.CompleteAsync().ConfigureAwait(false);
        await socket.Input.CompleteAsync().ConfigureAwait(false);
        socket.Dispose();
    }

    /// <summary>
    /// Closes the socket itself: .NET completes the pending receive on the thread pool, so the read loop,
    /// which runs inline with its receive, ends there and never on the aborting thread (disposing the
    /// library's connection would complete its receive on this thread). <see cref="CloseAsync"/> disposes
    /// the rest once the read loop has ended.
    /// </summary>
    public override void Abort() => socket.Socket.Dispose();
}
