using System.Net.Sockets;
using System.Text;

namespace Notistream.Testing;

/// <summary>
/// What systemd listens on for a Type=notify service: a unix datagram socket whose path goes to the
/// service in NOTIFY_SOCKET. Each datagram is one notification ("READY=1", "STOPPING=1", ...).
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket;

    private NotifySocket(string path, Socket socket)
    {
        Path = path;
        _socket = socket;
    }

    /// <summary>The socket's path, for NOTIFY_SOCKET (short, under /tmp: a unix socket path has at most 107 bytes).</summary>
    public string Path { get; }

    public static NotifySocket Create()
    {
        var path = System.IO.Path.Join("/tmp", $"ns-notify-{Guid.NewGuid():N}.sock");
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return new NotifySocket(path, socket);
    }

    /// <summary>The next datagram as text, or null when none came within <paramref name="timeout"/>.</summary>
    public async Task<string?> ReceiveAsync(TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var length = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Encoding.UTF8.GetString(buffer, 0, length);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(Path);
    }
}
