using Notistream.Client.Config;
using StackExchange.Redis;

namespace Notistream.Client.Subscriptions;

/// <summary>Connects once and sends PING (over HTTP: one poll of the gateway): what the setup questions use to check the answers.</summary>
internal sealed class RedisServerProbe : IServerProbe
{
    public async Task<string?> CheckAsync(ClientConfig config, CancellationToken cancellationToken)
    {
        if (config.Url is not null)
        {
            return await HttpTransport.CheckAsync(config, cancellationToken).ConfigureAwait(false);
        }

        ConnectionMultiplexer? multiplexer = null;
        try
        {
            multiplexer = await RedisConnections.ConnectAsync(config, cancellationToken).ConfigureAwait(false);
            await multiplexer.GetSubscriber().PingAsync().WaitAsync(config.Connection.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return ConnectionErrors.Describe(ex);
        }
        finally
        {
            if (multiplexer is not null)
            {
                await RedisConnections.CloseQuietlyAsync(multiplexer).ConfigureAwait(false);
            }
        }
    }
}
