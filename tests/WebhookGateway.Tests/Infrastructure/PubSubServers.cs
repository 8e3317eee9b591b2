using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Infrastructure;

/// <summary>A pub/sub back end the gateway publishes to, which a test can stop and start again on the same port.</summary>
public interface IPubSubServer : IAsyncDisposable
{
    int Port { get; }
}

/// <summary>
/// A real <c>redis-server</c> on a given loopback port (so it can be restarted on the same one),
/// through the shared <see cref="RedisServerProcess"/>. Skips (fails under CI) when redis-server is missing.
/// </summary>
internal sealed class RedisServer(RedisServerProcess process) : IPubSubServer
{
    public int Port => process.Port;

    public static async Task<RedisServer> StartAsync(int port = 0, string? password = null)
        => new(await RedisServerProcess.StartAsync(port, password is null ? [] : ["--requirepass", password]));

    /// <summary>True once the server answers PING (with PONG, or NOAUTH when it has a password).</summary>
    internal static async Task<bool> AnswersAsync(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            await socket.SendAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[64];
            var n = await socket.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(2));
            return n > 0 && buffer[0] is (byte)'+' or (byte)'-';
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync() => process.DisposeAsync();
}

/// <summary>Our own server, in-process through the shared test helper.</summary>
internal sealed class OurServer(NotistreamServer server) : IPubSubServer
{
    public int Port => server.Port;

    public static async Task<OurServer> StartAsync(int port = 0, string? password = null, IEnumerable<string>? more = null)
    {
        string[] args = [.. (port == 0 ? [] : new[] { "--port", port.ToString(CultureInfo.InvariantCulture) }),
            .. (password is null ? [] : new[] { "--requirepass", password }), .. (more ?? [])];
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new OurServer(await NotistreamServer.StartAsync(args).WithTimeout());
            }
            catch (Exception) when (port != 0 && attempt < 20)
            {
                // Restarting on the same port: the previous listener may still hold it for a moment.
                using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
                await tick.WaitForNextTickAsync();
            }
        }
    }

    public ValueTask DisposeAsync() => server.DisposeAsync();
}
