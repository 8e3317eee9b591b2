using System.Net;
using System.Net.Sockets;

namespace Notistream.Client.Tests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 port 0 in front of a server. <see cref="Freeze"/> makes every connection
/// open at that moment go silent — bytes are no longer passed either way, yet no FIN or RST is sent —
/// which is what a laptop that changed wifi sees. Connections made after that are relayed normally.
/// </summary>
internal sealed class FreezableProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Relay> _relays = [];
    private readonly Task _accepting;

    public FreezableProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections
    {
        get
        {
            lock (_relays)
            {
                return _relays.Count;
            }
        }
    }

    public void Freeze()
    {
        lock (_relays)
        {
            foreach (var relay in _relays)
            {
                relay.Frozen = true;
            }
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var server = new TcpClient();
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                var relay = new Relay(client, server);
                lock (_relays)
                {
                    _relays.Add(relay);
                }

                relay.Start(_stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_relays)
        {
            foreach (var relay in _relays)
            {
                relay.Dispose();
            }
        }

        _stop.Dispose();
    }

    private sealed class Relay(TcpClient client, TcpClient server) : IDisposable
    {
        public volatile bool Frozen;

        public void Start(CancellationToken cancellationToken)
        {
            _ = PumpAsync(client.GetStream(), server.GetStream(), cancellationToken);
            _ = PumpAsync(server.GetStream(), client.GetStream(), cancellationToken);
        }

        private async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken cancellationToken)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var read = await from.ReadAsync(buffer, cancellationToken);
                    if (read == 0)
                    {
                        if (!Frozen)
                        {
                            to.Socket.Shutdown(SocketShutdown.Send);
                        }

                        return;
                    }

                    if (!Frozen)
                    {
                        await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            client.Dispose();
            server.Dispose();
        }
    }
}
