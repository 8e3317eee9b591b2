using System.IO.Pipelines;
using Notistream.RespServer.Output;
using System.Net;

namespace Notistream.RespServer.Connections;

/// <summary>
/// The byte stream under one client, as a pair of pipes: plain TCP (<see cref="SocketTransport"/>)
/// or TLS (<see cref="TlsTransport"/>). The connection's read loop reads <see cref="Input"/>, its
/// single writer writes <see cref="Output"/>; <see cref="Abort"/> may come from any thread.
/// </summary>
internal abstract class ClientTransport
{
    public abstract PipeReader Input { get; }

    public abstract PipeWriter Output { get; }

    public abstract EndPoint? RemoteEndPoint { get; }

    public abstract EndPoint? LocalEndPoint { get; }

    /// <summary>The accepted socket under the stream (its options, for diagnostics).</summary>
    public abstract System.Net.Sockets.Socket Socket { get; }

    /// <summary>Runs <paramref name="output"/>'s writer over this transport until it completes or is dropped.</summary>
    public virtual Task RunOutputAsync(ConnectionOutput output) => output.RunAsync(Output);

    /// <summary>Ends the connection after the writer has handed over <paramref name="written"/> bytes;
    /// with <paramref name="drain"/> it first waits (bounded) until they have left, so last replies are not cut off.</summary>
    public abstract ValueTask CloseAsync(long written, bool drain);

    /// <summary>Closes at once from any thread; pending reads and writes fail.</summary>
    public abstract void Abort();
}
