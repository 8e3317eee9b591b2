using System.IO.Pipelines;
using System.Net.Sockets;

namespace Notistream.RespServer.Output;

/// <summary>Why a connection ended: one value per cause, logged with the connection's end.</summary>
internal enum ConnectionEnd
{
    /// <summary>Still open (no cause recorded yet).</summary>
    None,

    /// <summary>The client closed its side (EOF between requests).</summary>
    ClientClosed,

    /// <summary>The client closed its side with a partial request pending.</summary>
    ClientClosedMidRequest,

    /// <summary>The transport failed: reset, timeout, broken pipe, TLS failure (see <see cref="ConnectionErrors"/>).</summary>
    TransportError,

    /// <summary>A send to the client failed: its output is gone, so it must not stay subscribed.</summary>
    WriteFailed,

    /// <summary>QUIT, or a protocol error whose reply is the last thing sent.</summary>
    CloseAfterReply,

    /// <summary>The unprocessed input passed client-query-buffer-limit.</summary>
    QueryBufferLimit,

    /// <summary>The queued output passed client-output-buffer-limit.</summary>
    OutputBufferLimit,

    /// <summary>CLIENT KILL.</summary>
    Killed,

    /// <summary>ACL SETUSER/DELUSER took away what the client relied on.</summary>
    AclChanged,

    /// <summary>Idle longer than the timeout directive.</summary>
    IdleTimeout,

    /// <summary>An HTTP request sent to the RESP port.</summary>
    CrossProtocol,

    /// <summary>The server is stopping.</summary>
    Shutdown,

    /// <summary>
    /// The append-only file could not be written (or synced, under appendfsync always) before the connection's
    /// replies were queued: they are never sent, so no write is acknowledged that the log does not hold.
    /// </summary>
    PersistenceFailure,
}

/// <summary>The one place that tells a connection's ordinary end (the peer or a close) from a bug.</summary>
internal static class ConnectionErrors
{
    /// <summary>
    /// The ways a peer or a close ends a connection: socket and stream errors, a disposed socket, a
    /// cancelled read, a pipe used after the connection completed it. Anything else is a bug and is
    /// logged as one.
    /// </summary>
    public static bool IsConnectionError(Exception ex) => ex is IOException or SocketException or ObjectDisposedException
        or OperationCanceledException or InvalidOperationException { Source: "System.IO.Pipelines" };

    /// <summary>A failed non-blocking send: true when the socket is gone, false when it only could not take more now.</summary>
    public static bool IsFatal(SocketError error) => error is not (SocketError.Success or SocketError.WouldBlock
        or SocketError.Interrupted);

    /// <summary>Exceptions of a pipe writer's flush that mean the connection is gone.</summary>
    public static bool IsPipeClosed(FlushResult flush) => flush.IsCompleted || flush.IsCanceled;
}
