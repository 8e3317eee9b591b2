using Microsoft.Extensions.Options;
using Notistream.Gateway.Logging;
using Notistream.Gateway.Options;
using StackExchange.Redis;

namespace Notistream.Gateway.Publishing;

/// <summary>
/// The gateway's long-lived connection to the pub/sub server, through StackExchange.Redis; with several
/// servers (<see cref="GatewayOptions.Servers"/>), one connection to each, used one at a time.
/// <para>
/// Why one multiplexer per server rather than one multiplexer with every endpoint: given several
/// endpoints, StackExchange.Redis takes them for one deployment. Against two standalone Notistream nodes
/// (3.4, no tie-breaker) it logs "Multiple primaries detected", chooses one "arbitrarily" (not the first
/// given), sets the other aside as a redundant primary, and elects again at each reconfiguration: it does
/// move on when the chosen one dies, but which node is in use is its choice, can change back and forth,
/// and is not reported. Notistream nodes keep separate histories, so the gateway wants "the first given,
/// the next when it goes away", and to say which one it uses; separate multiplexers give that plainly.
/// </para>
/// <para>
/// Concurrency: each node's multiplexer is written once, when its first connect attempt started by
/// <see cref="StartAsync"/> finishes, and read by request threads (null until then: 503); the
/// multiplexers themselves are thread-safe and reconnect by themselves. The node in use is
/// <see cref="ServerAddresses"/>'s (<see cref="GatewayOptions.Servers"/>), which this class feeds with each
/// node's state: it asks for a new choice when a connection fails, when a publish finds the node in use
/// gone, and every <see cref="CheckInterval"/> (which fails back to an earlier node that has stayed
/// connected since the last check). Publishing and every follow connection use that one node.
/// </para>
/// <para>
/// Nothing is queued while disconnected (<see cref="BacklogPolicy.FailFast"/>): a message that
/// cannot go out now fails now, so a 503 never hides a PUBLISH sent minutes later, and a 2xx is
/// only ever given for a PUBLISH the server answered. A PUBLISH goes to the node in use; when
/// StackExchange.Redis says it was never written (<see cref="NotSent"/>) it goes to the next node chosen.
/// One that was written and then lost its connection or its answer may have been published: it is not
/// sent again anywhere (that could publish it twice), and is answered 503.
/// </para>
/// <para>
/// Messages go out as NOTI.PUBLISH, which our server answers with the message's id once it is kept as
/// its persistence policy requires. A server that does not know it (Redis) gets PUBLISH instead, and
/// the answers carry no id; which one a server takes is learned again after each reconnect.
/// </para>
/// </summary>
internal sealed class RedisPublisher : IMessagePublisher, IServerInfo, IHostedService, IAsyncDisposable
{
    private readonly GatewayOptions _options;
    private readonly ILogger<RedisPublisher> _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Node[] _nodes;
    private readonly ServerAddresses _servers;
    private Task _connecting = Task.CompletedTask;
    private ITimer? _check;

    /// <summary>How often, with several servers, the publisher looks whether an earlier node is back.</summary>
    internal static TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    public RedisPublisher(IOptions<GatewayOptions> options, ILogger<RedisPublisher> logger, ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _logger = logger;
        _loggerFactory = loggerFactory;
        _servers = _options.Servers;
        _nodes = [.. _servers.All.Select(address => new Node(address))];
        _servers.Attach(
            index => _nodes[index].Attempted ? _nodes[index].IsConnected : null,
            (from, to) => GatewayLog.InUse(_logger, _nodes[to].Address, _nodes[from].Address));
    }

    /// <summary>One server and the gateway's connection to it.</summary>
    private sealed class Node(string address)
    {
        public string Address { get; } = address;

        public volatile ConnectionMultiplexer? Multiplexer;

        /// <summary>Set once this server answered NOTI.PUBLISH with "unknown command"; cleared on reconnect.</summary>
        public volatile bool PlainPublish;

        /// <summary>Its first connect attempt has finished, connected or not.</summary>
        public volatile bool Attempted;

        /// <summary>Connected at the last periodic check; cleared when its connection fails.</summary>
        public volatile bool ConnectedAtLastCheck;

        public bool IsConnected => Multiplexer?.IsConnected == true;
    }

    public bool IsConnected => _nodes.Any(node => node.IsConnected);

    /// <summary>The node in use is connected: a publish can go out now (another connected node is not chosen until it is).</summary>
    public bool IsInUseConnected => InUse().IsConnected;

    /// <summary>The server in use: the one publishing goes to and follow connections follow on. Reading it moves nothing.</summary>
    public string Server => _nodes.Length == 1 ? _options.Server : _servers.InUse;

    /// <summary>The node in use, as <see cref="ServerAddresses"/> has it.</summary>
    private Node InUse() => _nodes[_servers.InUseIndex];

    /// <summary>Asks <see cref="ServerAddresses"/> to choose again (back to an earlier node only as <paramref name="failBack"/> allows); a move is logged through it.</summary>
    private void Reselect(Func<int, bool>? failBack = null) => _servers.Select(failBack);

    /// <summary>The periodic check: fail back to an earlier node connected now and at the last check.</summary>
    private void Check()
    {
        Reselect(index => _nodes[index].ConnectedAtLastCheck && _nodes[index].IsConnected);
        foreach (var node in _nodes)
        {
            node.ConnectedAtLastCheck = node.IsConnected;
        }
    }

    /// <summary>
    /// True when StackExchange.Redis says the command never left the gateway (it was still waiting to be
    /// written, or in its backlog): then, and only then, it may go to another node without being published twice.
    /// </summary>
    internal static bool NotSent(RedisConnectionException ex) =>
        ex.CommandStatus is CommandStatus.WaitingToBeSent or CommandStatus.WaitingInBacklog;

    /// <summary>INFO with no section (every server answers it): the dashboard's one call per snapshot, to the server in use.</summary>
    public async Task<string> InfoAsync()
    {
        if (InUse().Multiplexer is not { IsConnected: true } multiplexer)
        {
            throw new RedisException("not connected to the pub/sub server");
        }

        var reply = await multiplexer.GetDatabase().ExecuteAsync("INFO").ConfigureAwait(false);
        return reply.ToString() ?? string.Empty;
    }

    internal ConfigurationOptions CreateConfiguration(string server) => CreateConfiguration(_options, server, _loggerFactory);

    /// <summary>
    /// The configuration for one server, without a publisher: other connections to the pub/sub server (Web
    /// Push's SUBSCRIBE) use it, and must not build a second publisher, which would take over
    /// <see cref="ServerAddresses"/> from the real one.
    /// </summary>
    internal static ConfigurationOptions CreateConfiguration(GatewayOptions options, string server, ILoggerFactory? loggerFactory)
    {
        var configuration = new ConfigurationOptions
        {
            EndPoints = { server },
            User = string.IsNullOrEmpty(options.ServerUser) ? null : options.ServerUser,
            Password = string.IsNullOrEmpty(options.ServerPassword) ? null : options.ServerPassword,
            ClientName = "notistream-gateway",
            // Start even when the server is down, and keep reconnecting: the gateway answers 503 meanwhile.
            AbortOnConnectFail = false,
            BacklogPolicy = BacklogPolicy.FailFast,
            ConnectTimeout = options.ConnectTimeoutMilliseconds,
            AsyncTimeout = options.PublishTimeoutMilliseconds,
            SyncTimeout = options.PublishTimeoutMilliseconds,
            // A restarted server is found again within about a second.
            ReconnectRetryPolicy = new ExponentialRetry(250, 5000),
            // PUBLISH is all we send: RESP2 and no extra subscription or tie-breaker key keep the
            // handshake to what any Redis-protocol server answers.
            Protocol = RedisProtocol.Resp2,
            ConfigurationChannel = string.Empty,
            TieBreaker = string.Empty,
            // The client counts INFO as an admin command; the dashboard's INFO is the only one the gateway sends.
            AllowAdmin = true,
            LoggerFactory = loggerFactory,
        };
        if (options.UsesServerTls)
        {
            // The server's certificate must name the host and chain to the CA file (or a root the system trusts).
            configuration.Ssl = true;
            if (!string.IsNullOrEmpty(options.ServerCaFile))
            {
                configuration.TrustIssuer(options.ServerCaFile);
            }

            if (!string.IsNullOrEmpty(options.ServerCertFile) && !string.IsNullOrEmpty(options.ServerKeyFile))
            {
                configuration.SetUserPemCertificate(options.ServerCertFile, options.ServerKeyFile);
            }
        }

        return configuration;
    }

    /// <summary>
    /// Starts connecting and returns at once: the first attempt to an unreachable server takes up
    /// to the connect timeout, and the gateway should answer (health, 503s) meanwhile.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _connecting = Task.WhenAll(_nodes.Select(node =>
        {
            GatewayLog.Connecting(_logger, _options.UsesServerTls ? $"{node.Address} over TLS" : node.Address);
            return ConnectAsync(node);
        }));
        if (_nodes.Length > 1)
        {
            _check = TimeProvider.System.CreateTimer(_ => Check(), null, CheckInterval, CheckInterval);
        }

        return Task.CompletedTask;
    }

    private async Task ConnectAsync(Node node)
    {
        ConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await ConnectionMultiplexer.ConnectAsync(CreateConfiguration(node.Address)).ConfigureAwait(false);
        }
        catch (RedisException ex)
        {
            // Only a configuration the client refuses gets here (AbortOnConnectFail is off).
            GatewayLog.NotConnectedAtStart(_logger, node.Address, ex.Message);
            node.Attempted = true;
            Reselect();
            return;
        }

        multiplexer.ConnectionFailed += (_, e) => OnConnectionFailed(node, e);
        multiplexer.ConnectionRestored += (_, e) => OnConnectionRestored(node, e);
        node.Multiplexer = multiplexer;
        if (multiplexer.IsConnected)
        {
            GatewayLog.Connected(_logger, node.Address);
        }
        else
        {
            GatewayLog.NotConnectedAtStart(_logger, node.Address, "no answer");
        }

        // The first node's first attempt decides the start: it, when it connected; else the next connected one.
        node.ConnectedAtLastCheck = multiplexer.IsConnected;
        node.Attempted = true;
        Reselect();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<PublishOutcome> PublishAsync(string channel, ReadOnlyMemory<byte> message, string source)
    {
        // The node in use, and the next one chosen only for a PUBLISH that was never written.
        PublishOutcome? failure = null;
        for (var attempt = 0; attempt < _nodes.Length; attempt++)
        {
            var node = InUse();
            if (!node.IsConnected)
            {
                Reselect();
                node = InUse();
            }

            if (node.Multiplexer is not { IsConnected: true } multiplexer)
            {
                return Failed(channel, source, failure ?? PublishOutcome.Unavailable(Unavailable(node, "not connected to the pub/sub server")));
            }

            try
            {
                var (receivers, id) = await SendAsync(node, multiplexer, channel, message).ConfigureAwait(false);
                GatewayLog.Published(_logger, channel, message.Length, receivers, source, id ?? "none");
                return PublishOutcome.Published(receivers, id);
            }
            catch (RedisTimeoutException)
            {
                // Sent, perhaps, but not confirmed: the client must not be told it was delivered, and it is
                // not sent to another node either (it would be published twice).
                return Failed(channel, source, PublishOutcome.Unavailable(Unavailable(node, "the pub/sub server did not answer in time")));
            }
            catch (RedisConnectionException ex) when (NotSent(ex) && _nodes.Length > 1)
            {
                // Never written: the node chosen next may take it.
                failure = PublishOutcome.Unavailable(Unavailable(node, $"the connection to the pub/sub server failed ({ex.FailureType})"));
                Reselect();
                if (InUse() == node)
                {
                    return Failed(channel, source, failure.Value);
                }
            }
            catch (RedisConnectionException ex)
            {
                // Written, perhaps, and the connection lost before the answer: as a timeout, not sent again.
                return Failed(channel, source, PublishOutcome.Unavailable(Unavailable(node, $"the connection to the pub/sub server failed ({ex.FailureType})")));
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("NOPERM", StringComparison.Ordinal))
            {
                GatewayLog.PublishRefused(_logger, channel, source, ex);
                return PublishOutcome.Forbidden($"the gateway's server user may not publish to '{channel}' ({ex.Message})");
            }
            catch (RedisServerException ex)
            {
                GatewayLog.PublishRefused(_logger, channel, source, ex);
                return PublishOutcome.Refused($"the pub/sub server refused the PUBLISH: {ex.Message}");
            }
            catch (ObjectDisposedException)
            {
                return Failed(channel, source, PublishOutcome.Unavailable("the gateway is shutting down"));
            }
            catch (InvalidDataException ex)
            {
                GatewayLog.PublishRefused(_logger, channel, source, ex);
                return PublishOutcome.Refused(ex.Message);
            }
        }

        return Failed(channel, source, failure!.Value);
    }

    /// <summary>The reason, naming the server when there are several.</summary>
    private string Unavailable(Node node, string reason) => _nodes.Length == 1 ? reason : $"{reason} at {node.Address}";

    /// <summary>NOTI.PUBLISH: [receivers, id or nil]; PUBLISH on a server that does not know it.</summary>
    private async Task<(long Receivers, string? Id)> SendAsync(Node node, ConnectionMultiplexer multiplexer, string channel, ReadOnlyMemory<byte> message)
    {
        if (!node.PlainPublish)
        {
            try
            {
                var reply = await multiplexer.GetDatabase()
                    .ExecuteAsync("NOTI.PUBLISH", [channel, (RedisValue)message.ToArray()])
                    .ConfigureAwait(false);
                if (reply.Resp2Type == ResultType.Array && reply.Length == 2)
                {
                    var id = reply[1];
                    return ((long)reply[0], id.IsNull ? null : id.ToString());
                }

                throw new InvalidDataException($"unexpected answer to NOTI.PUBLISH: {reply}");
            }
            catch (RedisServerException ex) when (ex.Message.Contains("unknown command", StringComparison.OrdinalIgnoreCase))
            {
                // Not ex.Message: Redis quotes the arguments, and message bodies are never logged.
                node.PlainPublish = true;
                GatewayLog.NoNotiPublish(_logger, node.Address);
            }
        }

        var receivers = await multiplexer.GetSubscriber()
            .PublishAsync(RedisChannel.Literal(channel), message)
            .ConfigureAwait(false);
        return (receivers, null);
    }

    private PublishOutcome Failed(string channel, string source, PublishOutcome outcome)
    {
        GatewayLog.PublishFailed(_logger, channel, source, outcome.Reason!);
        return outcome;
    }

    private void OnConnectionFailed(Node node, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            GatewayLog.ConnectionLost(_logger, e.EndPoint?.ToString(), e.FailureType.ToString(), e.Exception);
            node.ConnectedAtLastCheck = false; // failing back to it waits for two checks that find it connected
            Reselect(); // the node in use went away: move publishing and following now, not at the next publish
        }
    }

    private void OnConnectionRestored(Node node, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            // Perhaps another server now: ask it for NOTI.PUBLISH again.
            node.PlainPublish = false;
            GatewayLog.ConnectionRestored(_logger, e.EndPoint?.ToString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A first attempt still waiting on an unreachable server is abandoned: the process is ending.
        if (_check is not null)
        {
            await _check.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAny(_connecting, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        foreach (var node in _nodes)
        {
            if (node.Multiplexer is { } multiplexer)
            {
                node.Multiplexer = null;
                // Requests have drained by now (Kestrel stops first); do not wait on a server that may be gone too.
                await multiplexer.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
                await multiplexer.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
