using Notistream.Client.Config;
using StackExchange.Redis;

namespace Notistream.Client.Subscriptions;

/// <summary>
/// Builds the StackExchange.Redis connection every command uses. The multiplexer is told not to
/// retry on its own: the subscription loop owns reconnecting (backoff, jitter, status lines) and
/// throws a failed multiplexer away.
/// </summary>
internal static class RedisConnections
{
    public const string ClientName = "notistream";

    public static ConfigurationOptions CreateOptions(ClientConfig config)
    {
        var settings = config.Connection;
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = true,
            ConnectRetry = 1,
            ConnectTimeout = Milliseconds(settings.ConnectTimeout),
            SyncTimeout = Milliseconds(settings.KeepAliveTimeout),
            AsyncTimeout = Milliseconds(settings.KeepAliveTimeout),
            KeepAlive = Math.Max(1, (int)Math.Ceiling(settings.KeepAliveInterval.TotalSeconds)),
            ClientName = ClientName,
            User = config.User,
            Password = config.Password,
            // Pub/sub only: no primary/replica tie-breaking key and no configuration-change channel.
            TieBreaker = string.Empty,
            ConfigurationChannel = string.Empty,
        };
        options.EndPoints.Add(config.Host, config.Port);
        if (config.Tls.Enabled)
        {
            // The server's certificate must name the host (DNS name or IP address) and chain to the CA file, or to a root the system trusts.
            options.Ssl = true;
            if (config.Tls.CaFile is { } caFile)
            {
                options.TrustIssuer(caFile);
            }

            if (config.Tls is { CertFile: { } certFile, KeyFile: { } keyFile })
            {
                options.SetUserPemCertificate(certFile, keyFile);
            }
        }

        return options;
    }

    public static async Task<ConnectionMultiplexer> ConnectAsync(ClientConfig config, CancellationToken cancellationToken)
    {
        var connect = ConnectionMultiplexer.ConnectAsync(CreateOptions(config));
        try
        {
            // ConnectTimeout covers the socket; this also bounds the handshake, and lets Ctrl+C through.
            return await connect.WaitAsync(config.Connection.ConnectTimeout * 2, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!connect.IsCompleted)
        {
            _ = connect.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            throw;
        }
        catch (RedisConnectionException ex) when (config.Tls.Enabled && ex.FailureType == ConnectionFailureType.UnableToConnect
            && ex.InnerException is null)
        {
            // The handshake went through but the server hung up: StackExchange.Redis says no more than "error connecting".
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, ConnectionErrors.TlsClosedByServer, ex, CommandStatus.Unknown);
        }
    }

    /// <summary>Closes without waiting for replies a dead server will never send.</summary>
    public static async Task CloseQuietlyAsync(ConnectionMultiplexer multiplexer)
    {
        try
        {
            await multiplexer.CloseAsync(allowCommandsToComplete: false).WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or RedisException or ObjectDisposedException or InvalidOperationException)
        {
            // Closing a connection that already failed; nothing to report.
        }
        finally
        {
            multiplexer.Dispose();
        }
    }

    public static RedisChannel ToRedisChannel(ChannelSpec channel) =>
        channel.IsPattern ? RedisChannel.Pattern(channel.Name) : RedisChannel.Literal(channel.Name);

    private static int Milliseconds(TimeSpan span) => (int)Math.Clamp(span.TotalMilliseconds, 1, int.MaxValue);
}
