using Microsoft.Extensions.Options;
using Notistream.Gateway.Logging;
using Notistream.Gateway.Options;
using StackExchange.Redis;

namespace Notistream.Gateway.Publishing;

/// <summary>
/// The gateway's one long-lived connection to the pub/sub server, through StackExchange.Redis.
/// <para>
/// Concurrency: <see cref="_multiplexer"/> is written once, when the first connect attempt started by
/// <see cref="StartAsync"/> finishes, and read by request threads (null until then: 503); the
/// multiplexer itself is thread-safe and reconnects by itself.
/// </para>
/// <para>
/// Nothing is queued while disconnected (<see cref="BacklogPolicy.FailFast"/>): a message that
/// cannot go out now fails now, so a 503 never hides a PUBLISH sent minutes later, and a 2xx is
/// only ever given for a PUBLISH the server answered.
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
    private volatile ConnectionMultiplexer? _multiplexer;
    private Task _connecting = Task.CompletedTask;

    /// <summary>Set once the connected server answered NOTI.PUBLISH with "unknown command"; cleared on reconnect.</summary>
    private volatile bool _plainPublish;

    public RedisPublisher(IOptions<GatewayOptions> options, ILogger<RedisPublisher> logger, ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _logger = logger;
        _loggerFactory = loggerFactory;
    }

    public bool IsConnected => _multiplexer?.IsConnected == true;

    public string Server => _options.Server;

    /// <summary>INFO with no section (every server answers it): the dashboard's one call per snapshot.</summary>
    public async Task<string> InfoAsync()
    {
        if (_multiplexer is not { IsConnected: true } multiplexer)
        {
            throw new RedisException("not connected to the pub/sub server");
        }

        var reply = await multiplexer.GetDatabase().ExecuteAsync("INFO").ConfigureAwait(false);
        return reply.ToString() ?? string.Empty;
    }

    internal ConfigurationOptions CreateConfiguration()
    {
        var configuration = new ConfigurationOptions
        {
            EndPoints = { _options.Server },
            User = string.IsNullOrEmpty(_options.ServerUser) ? null : _options.ServerUser,
            Password = string.IsNullOrEmpty(_options.ServerPassword) ? null : _options.ServerPassword,
            ClientName = "notistream-gateway",
            // Start even when the server is down, and keep reconnecting: the gateway answers 503 meanwhile.
            AbortOnConnectFail = false,
            BacklogPolicy = BacklogPolicy.FailFast,
            ConnectTimeout = _options.ConnectTimeoutMilliseconds,
            AsyncTimeout = _options.PublishTimeoutMilliseconds,
            SyncTimeout = _options.PublishTimeoutMilliseconds,
            // A restarted server is found again within about a second.
            ReconnectRetryPolicy = new ExponentialRetry(250, 5000),
            // PUBLISH is all we send: RESP2 and no extra subscription or tie-breaker key keep the
            // handshake to what any Redis-protocol server answers.
            Protocol = RedisProtocol.Resp2,
            ConfigurationChannel = string.Empty,
            TieBreaker = string.Empty,
            // The client counts INFO as an admin command; the dashboard's INFO is the only one the gateway sends.
            AllowAdmin = true,
            LoggerFactory = _loggerFactory,
        };
        if (_options.UsesServerTls)
        {
            // The server's certificate must name the host and chain to the CA file (or a root the system trusts).
            configuration.Ssl = true;
            if (!string.IsNullOrEmpty(_options.ServerCaFile))
            {
                configuration.TrustIssuer(_options.ServerCaFile);
            }

            if (!string.IsNullOrEmpty(_options.ServerCertFile) && !string.IsNullOrEmpty(_options.ServerKeyFile))
            {
                configuration.SetUserPemCertificate(_options.ServerCertFile, _options.ServerKeyFile);
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
        GatewayLog.Connecting(_logger, _options.UsesServerTls ? $"{_options.Server} over TLS" : _options.Server);
        _connecting = ConnectAsync();
        return Task.CompletedTask;
    }

    private async Task ConnectAsync()
    {
        ConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await ConnectionMultiplexer.ConnectAsync(CreateConfiguration()).ConfigureAwait(false);
        }
        catch (RedisException ex)
        {
            // Only a configuration the client refuses gets here (AbortOnConnectFail is off).
            GatewayLog.NotConnectedAtStart(_logger, _options.Server, ex.Message);
            return;
        }

        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
        _multiplexer = multiplexer;
        if (multiplexer.IsConnected)
        {
            GatewayLog.Connected(_logger, _options.Server);
        }
        else
        {
            GatewayLog.NotConnectedAtStart(_logger, _options.Server, "no answer");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<PublishOutcome> PublishAsync(string channel, ReadOnlyMemory<byte> message, string source)
    {
        var multiplexer = _multiplexer;
        if (multiplexer is null || !multiplexer.IsConnected)
        {
            return Failed(channel, source, PublishOutcome.Unavailable("not connected to the pub/sub server"));
        }

        try
        {
            var (receivers, id) = await SendAsync(multiplexer, channel, message).ConfigureAwait(false);
            GatewayLog.Published(_logger, channel, message.Length, receivers, source, id ?? "none");
            return PublishOutcome.Published(receivers, id);
        }
        catch (RedisTimeoutException)
        {
            // Sent, perhaps, but not confirmed: the client must not be told it was delivered.
            return Failed(channel, source, PublishOutcome.Unavailable("the pub/sub server did not answer in time"));
        }
        catch (RedisConnectionException ex)
        {
            return Failed(channel, source, PublishOutcome.Unavailable($"the connection to the pub/sub server failed ({ex.FailureType})"));
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

    /// <summary>NOTI.PUBLISH: [receivers, id or nil]; PUBLISH on a server that does not know it.</summary>
    private async Task<(long Receivers, string? Id)> SendAsync(ConnectionMultiplexer multiplexer, string channel, ReadOnlyMemory<byte> message)
    {
        if (!_plainPublish)
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
                _plainPublish = true;
                GatewayLog.NoNotiPublish(_logger, _options.Server);
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

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            GatewayLog.ConnectionLost(_logger, e.EndPoint?.ToString(), e.FailureType.ToString(), e.Exception);
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            // Perhaps another server now: ask it for NOTI.PUBLISH again.
            _plainPublish = false;
            GatewayLog.ConnectionRestored(_logger, e.EndPoint?.ToString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A first attempt still waiting on an unreachable server is abandoned: the process is ending.
        await Task.WhenAny(_connecting, Task.Delay(TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        if (_multiplexer is { } multiplexer)
        {
            _multiplexer = null;
            // Requests have drained by now (Kestrel stops first); do not wait on a server that may be gone too.
            await multiplexer.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
