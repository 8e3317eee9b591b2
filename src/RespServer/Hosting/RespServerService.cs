using System.Collections.Concurrent;
using System.Diagnostics;
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
    private readonly List<(Socket Socket, bool Tls)> _listeners = [];
    /// <summary>Running connections and TLS handshakes, for the shutdown to wait for.</summary>
    private readonly ConcurrentDictionary<Task, RespConnection?> _connections = new();
    private readonly object _connectionsLock = new();
    private bool _stopping;
    private TlsAcceptor? _tls;

    /// <summary>Receive side: small, so a connection whose reads pause (output backpressure) holds at most this
    /// much input; a larger partial frame moves out of the pipe into the connection's own buffer. An idle
    /// connection keeps one segment for its pending read, so segments are 4 KiB: 10,000 idle subscribers
    /// cost about 11 KiB each instead of 20 KiB with 16 KiB segments, at the same throughput.
    /// The read loop runs inline, on the thread whose receive filled the pipe (see <see cref="ReceiveInline"/>),
    /// until the connection's input ends (<see cref="ReceiveScheduler"/>).</summary>
    private static PipeOptions ReceiveOptions(ReceiveScheduler scheduler) => new(
        readerScheduler: scheduler,
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 4 * 1024,
        useSynchronizationContext: false);

    /// <summary>
    /// A receive completes, is written to the pipe and is parsed and executed on one thread, as Redis reads
    /// and runs a client in its event loop: the library's receive continuation runs inline
    /// (<see cref="SocketConnectionOptions.InlineReads"/>) and so does the read loop (the receive pipe's
    /// reader scheduler). Each thread-pool hop in between was a wake-up that, on a busy machine, can wait a
    /// scheduler slice, and was measured as the latency tail (benchmarks/compare.sh); with them gone
    /// fan-out throughput rose as well. The executable also runs socket completions on the socket event
    /// threads (Program.cs), which removes the last hop.
    /// </summary>
    private const SocketConnectionOptions ReceiveInline = SocketConnectionOptions.InlineReads;

    /// <summary>Send side: small, so queued output is counted by the connection's own byte-bounded queue.</summary>
    private static readonly PipeOptions SendOptions = new(
        pauseWriterThreshold: 1024 * 1024,
        resumeWriterThreshold: 512 * 1024,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Into the log (file, console or journal) rather than stderr, so that a service's log shows them.
        foreach (var ignored in server.Options.IgnoredDirectives)
        {
            Log.DirectiveIgnored(logger, ignored);
        }

        var supervision = Supervision.Resolve(server.Options.Supervised, Environment.GetEnvironmentVariable);
        if (supervision.Notice is { } notice)
        {
            Log.Supervision(logger, notice);
        }

        if (supervision.Warning is { } warning)
        {
            Log.SupervisionProblem(logger, warning);
        }

        // The keyspace is loaded from the append-only file before the first client can connect.
        server.Aof.Start(server, commands);
        FitMaxClients();
        if (server.Options.Cluster.Enabled)
        {
            // Before the first client: every subscription is followed in NATS from the start (docs/cluster.md).
            var link = new Cluster.ClusterLink(server, server.Options.Cluster);
            server.Cluster = link;
            server.Registry.Interest = link;
            link.Start();
        }

        var tls = server.Options.Tls;
        try
        {
            if (tls.Enabled)
            {
                _tls = TlsAcceptor.Load(tls, logger);
            }

            // As Redis: port 0 beside a tls-port means TLS only.
            if (!tls.Enabled || server.Options.Port != 0)
            {
                server.BoundPort = Listen(server.Options.Port, secure: false);
            }

            if (tls.Enabled)
            {
                server.BoundTlsPort = Listen(tls.Port, secure: true);
            }
        }
        catch (ConfigException)
        {
            foreach (var (listener, _) in _listeners)
            {
                listener.Dispose();
            }

            _listeners.Clear();
            _tls?.Dispose();
            throw;
        }

        if (server.BoundPort != 0)
        {
            Log.Ready(logger, server.BoundPort, string.Join(' ', server.Options.Bind), ServerContext.RedisVersion);
        }

        if (tls.Enabled)
        {
            Log.ReadyTls(logger, server.BoundTlsPort, string.Join(' ', server.Options.Bind), tls.AuthClients.ToString().ToLowerInvariant());
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>maxclients against the open-file limit, with Redis's log lines (see <see cref="OpenFilesLimit"/>).</summary>
    private void FitMaxClients()
    {
        server.OpenFiles = OpenFilesLimit.ForThisProcess();
        if (server.OpenFiles is not { } files)
        {
            return;
        }

        var asked = server.Options.MaxClients;
        var fit = files.Adjust(asked);
        if (fit.Clients >= asked)
        {
            if (fit.RaisedFrom is { } before)
            {
                Log.OpenFilesRaised(logger, fit.Limit, before);
            }

            return;
        }

        if (fit.Clients < 1)
        {
            throw new ConfigException(
                $"Your current 'ulimit -n' of {fit.Limit} is not enough for the server to start. Please increase your open file limit to at least {fit.Wanted}. Exiting.");
        }

        server.Options.MaxClients = fit.Clients;
        Log.MaxClientsRequested(logger, asked, fit.Wanted);
        Log.OpenFilesNotRaised(logger, fit.Wanted, fit.Error ?? "none");
        Log.MaxClientsReduced(logger, fit.Limit, fit.Clients);
    }

    /// <summary>Listens on every bind address at <paramref name="port"/>; returns the port bound (the OS's choice for 0).</summary>
    private int Listen(int port, bool secure)
    {
        var bound = port;
        var count = 0;
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
                listener.Bind(new IPEndPoint(ip, bound));
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

                throw new ConfigException($"Could not create server {(secure ? "TLS" : "TCP")} listening socket {text}:{port}: {ex.Message}");
            }

            bound = ((IPEndPoint)listener.LocalEndPoint!).Port;
            _listeners.Add((listener, secure));
            count++;
        }

        if (count == 0)
        {
            throw new ConfigException("Failed listening on any bind address");
        }

        return bound;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = _listeners.Select(l => AcceptLoopAsync(l.Socket, l.Tls, stoppingToken)).ToList();
        loops.Add(CronAsync(stoppingToken));
        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        Log.Stopping(logger, server.Clients.Count);
        foreach (var (listener, _) in _listeners)
        {
            listener.Dispose();
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // Commands stop everywhere first; only once none is running are connections closed. Otherwise a
        // publisher's batch, still running on another thread, could answer a PUBLISH after one of its
        // subscribers had unsubscribed on the way out: acknowledged, never delivered.
        List<RespConnection> clients;
        lock (_connectionsLock)
        {
            _stopping = true;
            clients = server.Clients.Snapshot();
        }

        foreach (var client in clients)
        {
            client.StopCommands();
        }

        var running = Stopwatch.StartNew();
        while (clients.Any(c => c.IsExecuting) && running.Elapsed < TimeSpan.FromSeconds(2))
        {
            await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
        }

        // A PUBLISH still waiting for JetStream after that grace fails: its connection closes without its reply.
        server.Cluster?.History?.Stop();
        foreach (var client in clients)
        {
            client.RequestClose();
        }

        Task[] connections = [.. _connections.Keys];

        try
        {
            await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            foreach (var client in server.Clients.Snapshot())
            {
                client.Abort(Output.ConnectionEnd.Shutdown, "did not close in time");
            }
        }

        _tls?.Dispose();
        if (server.Cluster is { } cluster)
        {
            // What local clients published is handed to NATS (for a moment at most) before the link closes.
            await cluster.DisposeAsync().ConfigureAwait(false);
        }

        // Every connection is closed: what they recorded is written and synced.
        server.Aof.Shutdown();
        Log.Stopped(logger);
    }

    /// <summary>First pause after a failed accept; each failure in a row doubles it, up to <see cref="MaxAcceptBackoff"/>.</summary>
    private static readonly TimeSpan MinAcceptBackoff = TimeSpan.FromMilliseconds(5);

    private static readonly TimeSpan MaxAcceptBackoff = TimeSpan.FromSeconds(1);

    private async Task AcceptLoopAsync(Socket listener, bool tls, CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.Zero;
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
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // That client left before it was accepted; the next one is unaffected.
                Log.AcceptFailed(logger, ex.Message);
                continue;
            }
            catch (SocketException ex)
            {
                // Out of file descriptors (or memory): the client stays in the backlog and the next accept
                // fails at once, so retrying at once is a hot loop. Back off as Go's net/http does, and log
                // once per pause rather than once per failure.
                backoff = backoff == TimeSpan.Zero ? MinAcceptBackoff : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxAcceptBackoff.Ticks));
                Log.AcceptBackoff(logger, ex.Message, (int)backoff.TotalMilliseconds);
                try
                {
                    await Task.Delay(backoff, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            backoff = TimeSpan.Zero;
            Accept(socket, tls, stoppingToken);
        }
    }

    private void Accept(Socket socket, bool tls, CancellationToken stoppingToken)
    {
        Interlocked.Increment(ref server.Stats.TotalConnectionsReceived);
        if (server.Clients.Count + (_tls?.Pending ?? 0) >= server.Options.MaxClients)
        {
            Interlocked.Increment(ref server.Stats.RejectedConnections);
            try
            {
                if (!tls)
                {
                    // Over TLS there is no channel before the handshake: the client only sees the close, as with Redis.
                    socket.Send(Protocol.RespConstants.MaxClients);
                }
            }
            catch (SocketException)
            {
                // the client is gone already
            }

            socket.Dispose();
            return;
        }

        if (Acl.ProtectedMode.Denies(server.Options.ProtectedMode, server.Acl, socket.RemoteEndPoint))
        {
            Deny(socket, tls);
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

        if (tls)
        {
            Track(StartTlsAsync(socket, stoppingToken), null);
            return;
        }

        var scheduler = new ReceiveScheduler();
        var connection = SocketConnection.Create(socket, SendOptions, ReceiveOptions(scheduler), ReceiveInline);
        scheduler.Connection = connection;
        Start(new SocketTransport(connection));
    }

    /// <summary>The handshake runs off the accept loop; a client that fails it never becomes a connection.</summary>
    private async Task StartTlsAsync(Socket socket, CancellationToken stoppingToken)
    {
        var address = socket.RemoteEndPoint?.ToString() ?? "?";
        var transport = await _tls!.AuthenticateAsync(socket, address, stoppingToken).ConfigureAwait(false);
        if (transport is not null)
        {
            Start(transport);
        }
    }

    private void Start(ClientTransport transport)
    {
        var client = new RespConnection(server, transport, server.Clients.NextId());
        lock (_connectionsLock)
        {
            if (_stopping)
            {
                // A TLS handshake that finished while the server stops: StopAsync's list of clients is taken.
                transport.Abort();
                return;
            }

            server.Clients.Add(client);
        }

        Log.Accepted(logger, client.Id, client.Address);

        Track(Task.Run(() => client.RunAsync(commands)), client);
    }

    /// <summary>
    /// Keeps <paramref name="task"/> for the shutdown until it ends. Its end is handled on the thread that
    /// ends it, without a lock or a work item of its own: thousands of connections may end at once.
    /// </summary>
    private void Track(Task task, RespConnection? client)
    {
        _connections[task] = client;
        task.ContinueWith(
            static (ended, state) => ((RespServerService)state!).Ended(ended),
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void Ended(Task task)
    {
        _connections.TryRemove(task, out var client);
        if (task.Exception is { } error)
        {
            Log.ConnectionFailed(logger, client?.Id ?? 0, error.GetBaseException());
        }
    }

    private long _evictedLogged;
    private long _evictionLoggedAt = long.MinValue;

    /// <summary>At most once a minute: how many history entries history-max-memory has dropped since the last line.</summary>
    private void LogEvictions()
    {
        long evicted;
        lock (server.Keys.Gate)
        {
            evicted = server.Keys.HistoryEvicted;
        }

        var now = Environment.TickCount64;
        if (evicted > _evictedLogged && now - _evictionLoggedAt >= 60_000)
        {
            Log.HistoryEvicted(logger, evicted - _evictedLogged, server.Options.HistoryMaxMemory);
            _evictedLogged = evicted;
            _evictionLoggedAt = now;
        }
    }

    /// <summary>
    /// Protected mode: Redis's DENIED text, then close. On the TLS port the connection is closed
    /// before the handshake, so no unencrypted text is sent to a TLS client.
    /// </summary>
    private void Deny(Socket socket, bool tls)
    {
        Interlocked.Increment(ref server.Stats.RejectedConnections);
        try
        {
            if (!tls)
            {
                socket.Send(Acl.ProtectedMode.Denied);
            }

            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // the client is gone already
        }

        socket.Dispose();
    }

    /// <summary>
    /// Once a second, as Redis's cron: age out channel history, start an automatic AOF rewrite when the files
    /// grew enough, and close clients idle past <c>timeout</c> (never pub/sub clients).
    /// </summary>
    private async Task CronAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Keyspace.ChannelHistory.Sweep(server.Keys, server.Options.ChannelHistory, server.Options.HistoryMaxMemory);
                LogEvictions();
                server.Aof.Cron();
                var timeout = server.Options.Timeout;
                if (timeout <= 0)
                {
                    continue;
                }

                var now = Environment.TickCount64;
                foreach (var client in server.Clients.Snapshot())
                {
                    if (!client.IsPubSub && !client.IsBlocked && !client.IsFollowing && now - client.LastInteraction > timeout * 1000L)
                    {
                        client.Abort(Output.ConnectionEnd.IdleTimeout, "Closing idle client");
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    /// <summary>
    /// One connection's receive-pipe reader scheduler: the read loop runs inline on the thread whose receive
    /// filled the pipe (a socket event thread) while input arrives, and moves to the thread pool once the
    /// input has ended. The library records why (<see cref="SocketConnection.ShutdownKind"/>: end of stream,
    /// reset, abort) before it completes the pipe, so the read that returns the end, a reset's exception
    /// rethrown through the read loop, and the connection's clean-up after it (unsubscribe, wait for the
    /// writer, close) never run on an event thread, which meanwhile serves every other client on it. When
    /// 10,000 clients went at once, that clean-up held the event threads for hundreds of milliseconds.
    /// </summary>
    private sealed class ReceiveScheduler : PipeScheduler
    {
        private SocketConnection? _connection;

        /// <summary>Set once the connection exists (it starts receiving in its constructor); until then inline.</summary>
        public SocketConnection? Connection
        {
            set => Volatile.Write(ref _connection, value);
        }

        public override void Schedule(Action<object?> action, object? state)
        {
            if (Volatile.Read(ref _connection) is { ShutdownKind: not PipeShutdownKind.None })
            {
                System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
            }
            else
            {
                action(state);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "{Directive}")]
        public static partial void DirectiveIgnored(ILogger logger, string directive);

        [LoggerMessage(EventId = 1021, Level = LogLevel.Information, Message = "{Line}")]
        public static partial void Supervision(ILogger logger, string line);

        [LoggerMessage(EventId = 1022, Level = LogLevel.Warning, Message = "{Line}")]
        public static partial void SupervisionProblem(ILogger logger, string line);

        [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
            Message = "Ready to accept connections tcp: port {Port}, bind {Bind} (Redis {Version} protocol)")]
        public static partial void Ready(ILogger logger, int port, string bind, string version);

        [LoggerMessage(EventId = 1007, Level = LogLevel.Information,
            Message = "Ready to accept connections tls: port {Port}, bind {Bind}, tls-auth-clients {AuthClients}")]
        public static partial void ReadyTls(ILogger logger, int port, string bind, string authClients);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Skipping optional bind address {Address}: {Reason}")]
        public static partial void BindSkipped(ILogger logger, string address, string reason);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Received shutdown request: closing {Clients} client connections")]
        public static partial void Stopping(ILogger logger, int clients);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Notistream server is now ready to exit, bye bye...")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Accepting a client connection failed: {Reason}")]
        public static partial void AcceptFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Accepting a client connection failed: {Reason}; retrying in {Delay} ms")]
        public static partial void AcceptBackoff(ILogger logger, string reason, int delay);

        [LoggerMessage(EventId = 1014, Level = LogLevel.Warning,
            Message = "Channel history reached history-max-memory ({MaxMemory} bytes): dropped the oldest {Entries} messages (INFO memory: history_evicted_entries)")]
        public static partial void HistoryEvicted(ILogger logger, long entries, long maxMemory);

        [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Increased maximum number of open files to {Limit} (it was originally set to {Before}).")]
        public static partial void OpenFilesRaised(ILogger logger, ulong limit, ulong before);

        [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "You requested maxclients of {MaxClients} requiring at least {Wanted} max file descriptors.")]
        public static partial void MaxClientsRequested(ILogger logger, int maxClients, ulong wanted);

        [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "Server can't set maximum open files to {Wanted} because of OS error: {Error}.")]
        public static partial void OpenFilesNotRaised(ILogger logger, ulong wanted, string error);

        [LoggerMessage(EventId = 1013, Level = LogLevel.Warning,
            Message = "Current maximum open files is {Limit}. maxclients has been reduced to {MaxClients} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.")]
        public static partial void MaxClientsReduced(ILogger logger, ulong limit, int maxClients);

        [LoggerMessage(EventId = 1008, Level = LogLevel.Debug, Message = "Accepted client id={Id} addr={Address}")]
        public static partial void Accepted(ILogger logger, long id, string address);

        [LoggerMessage(EventId = 1006, Level = LogLevel.Error, Message = "Connection id={Id} failed")]
        public static partial void ConnectionFailed(ILogger logger, long id, Exception exception);
    }
}
