using System.IO.Pipelines;
using System.Net;
using Pipelines.Sockets.Unofficial;

namespace Notistream.RespServer.Connections;

/// <summary>Plain TCP: Pipelines.Sockets.Unofficial's socket pipes.</summary>
internal sealed class SocketTransport(SocketConnection socket) : ClientTransport
{
    public override PipeReader Input => socket.Input;

    public override PipeWriter Output => socket.Output;

    public override EndPoint? RemoteEndPoint => socket.Socket.RemoteEndPoint;

    public override EndPoint? LocalEndPoint => socket.Socket.LocalEndPoint;

    public override System.Net.Sockets.Socket Socket => socket.Socket;

    public override async ValueTask CloseAsync(long written, bool drain)
    {
        if (drain)
        {
            await WaitUntilSentAsync(written).ConfigureAwait(false);
        }

        await socket.Output.CompleteAsync().ConfigureAwait(false);
        await socket.Input.CompleteAsync().ConfigureAwait(false);
        socket.Dispose();
    }

    public override void Abort() => socket.Dispose();

    /// <summary>
    /// Disposing the socket while its send loop still holds bytes would cut off the last replies
    /// (QUIT's +OK, a protocol error). The library exposes no awaitable for "all sent", so this
    /// polls its byte counter against what the writer handed over, bounded.
    /// </summary>
    private async Task WaitUntilSentAsync(long written)
    {
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        var deadline = Environment.TickCount64 + 5000;
        while (socket.BytesSent < written && !SendLoopEnded(socket.ShutdownKind) && Environment.TickCount64 < deadline)
        {
            await poll.WaitForNextTickAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The first recorded end is the send side's own (a client that half-closed still gets its replies).</summary>
    private static bool SendLoopEnded(PipeShutdownKind kind) => kind is PipeShutdownKind.WriteEndOfStream
        or PipeShutdownKind.WriteDisposed or PipeShutdownKind.WriteException or PipeShutdownKind.WriteIOException
        or PipeShutdownKind.WriteSocketError;
}
