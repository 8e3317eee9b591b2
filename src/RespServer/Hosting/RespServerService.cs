using System.Net;
using System.Net.Sockets;
using System.IO.Pipelines;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Connections;
using Pipelines.Sockets.Unofficial;

namespace Notistream.RespServer.Hosting;

/// <summary>
/// Listens, accepts, and runs one <see cref="RespConnection"/> per client. Stopping (SIGTERM,
/// Ctrl-C) closes the listeners, lets every connection write what it has queued, then closes them.
/// </summary>
internal sealed partial class RespServerService(ServerContext server, CommandTable commands, ILogger<RespServerService> logger) : BackgroundService
{
    private readonly List<Socket> _listeners = [];
    private readonly HashSet<Task> _connections = [];
    private readonly object _connectionsLock = new();

    /// <summary>Receive side: small, so a connection whose reads pause (output backpressure) holds at most this
    /// much input; a larger partial frame moves out of the pipe into the connection's own buffer.</summary>
    private static readonly PipeOptions ReceiveOptions = new(
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false);

    /// <summary>Send side: small, so queued output is counted by the connection's own byte-bounded queue.</summary>
    private static readonly PipeOptions SendOptions = new(
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var address in server.Options.Bind)
        {
            var optional = address.StartsWith('-');
            var text = optional ? address[1..] : address;
            var ip = text switch
            {
                "*" => IPAddress.Any,
                "::*" or "::" => IPAddress.IPv6Any,
                "localhost" => IPAddress.Loopback,
                _ => IPAddress.TryParse(text, out var parsed) ? parsed : throw new ConfigException($"Invalid bind address '{address}'"),
            };
            var listener = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (ip.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    listener.DualMode = false;
                }

                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                listener.Bind(new IPEndPoint(ip, server.BoundPort != 0 ? server.BoundPort : server.Options.Port));
                listener.Listen(511);
            }
            catch (SocketException ex)
            {
                listener.Dispose();
                if (optional)
                {
                    Log.BindSkipped(logger, address, ex.Message);
                    continue;
                }

                throw new ConfigException($"Could not create server TCP listening socket {text}:{server.Options.Port}: {ex.Message}");
            }

            server.BoundPort = ((IPEndPoint)listener.LocalEndPoint!).Port;
            _listeners.Add(listener);
        }

        if (_listeners.Count == 0)
        {
            throw new ConfigException("Failed listening on any bind address");
        }

        Log.Ready(logger, server.BoundPort, string.Join(' ', server.Options.Bind), ServerContext.RedisVersion);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = _listeners.Select(l => AcceptLoopAsync(l, stoppingToken)).ToList();
        loops.Add(CronAsync(stoppingToken));
        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        Log.Stopping(logger, server.Clients.Count);
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        foreach (var client in server.Clients.Snapshot())
        {
            client.RequestClose();
        }

        Task[] running;
        lock (_connectionsLock)
        {
            running = [.. _connections];
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            foreach (var client in server.Clients.Snapshot())
            {
                client.Abort("shutdown", "did not close in time");
            }
        }

        Log.Stopped(logger);
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException
                or SocketException { SocketErrorCode: SocketError.OperationAborted or SocketError.Interrupted })
            {
                return;
            }
            catch (SocketException ex)
            {
                Log.AcceptFailed(logger, ex.Message);
                continue;
            }

            Accept(socket);
        }
    }

    private void Accept(Socket socket)
    {
        Interlocked.Increment(ref server.Stats.TotalConnectionsReceived);
        if (server.Clients.Count >= server.Options.MaxClients)
        {
            Interlocked.Increment(ref server.Stats.RejectedConnections);
            try
            {
                socket.Send(Protocol.RespConstants.MaxClients);
            }
            catch (SocketException)
            {
                // the client is gone already
            }

            socket.Dispose();
            return;
        }

        SocketConnection.SetRecommendedServerOptions(socket);
        var keepAlive = server.Options.TcpKeepAlive;
        if (keepAlive > 0)
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, keepAlive);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, Math.Max(1, keepAlive / 3));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
        }

        var connection = SocketConnection.Create(socket, SendOptions, ReceiveOptions, SocketConnectionOptions.None);
        var client = new RespConnection(server, connection, server.Clients.NextId());
        server.Clients.Add(client);
        var task = Task.Run(() => client.RunAsync(commands));
        lock (_connectionsLock)
        {
            _connections.Add(task);
        }

        task.ContinueWith(t =>
        {
            lock (_connectionsLock)
            {
                _connections.Remove(t);
            }

            if (t.Exception is { } error)
            {
                Log.ConnectionFailed(logger, client.Id, error.GetBaseException());
            }
        }, TaskScheduler.Default);
    }

    /// <summary>Once a second, as Redis's clientsCron: close clients idle past <c>timeout</c> (never pub/sub clients).</summary>
    private async Task CronAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var timeout = server.Options.Timeout;
                if (timeout <= 0)
                {
                    continue;
                }

                var now = Environment.TickCount64;
                foreach (var client in server.Clients.Snapshot())
                {
                    if (!client.IsPubSub && now - client.LastInteraction > timeout * 1000L)
                    {
                        client.Abort("timeout", "Closing idle client");
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
            Message = "Ready to accept connections tcp: port {Port}, bind {Bind} (Redis {Version} protocol)")]
        public static partial void Ready(ILogger logger, int port, string bind, string version);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Skipping optional bind address {Address}: {Reason}")]
        public static partial void BindSkipped(ILogger logger, string address, string reason);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Received shutdown request: closing {Clients} client connections")]
        public static partial void Stopping(ILogger logger, int clients);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Notistream server is now ready to exit, bye bye...")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Accepting a client connection failed: {Reason}")]
        public static partial void AcceptFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1006, Level = LogLevel.Error, Message = "Connection id={Id} failed")]
        public static partial void ConnectionFailed(ILogger logger, long id, Exception exception);
    }
}
