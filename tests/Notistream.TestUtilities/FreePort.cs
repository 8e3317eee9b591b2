using System.Net;
using System.Net.Sockets;

namespace Notistream.Testing;

/// <summary>
/// For programs that cannot bind port 0 and report it (redis-server treats <c>--port 0</c> as
/// "no TCP"): asks the kernel for a free loopback port. Callers retry on a bind race.
/// </summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
