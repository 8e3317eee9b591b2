using Notistream.Client.Config;
using Notistream.Client.Subscriptions;
using StackExchange.Redis;

namespace Notistream.Client.Cli;

/// <summary><c>notistream send &lt;channel&gt; &lt;message&gt;</c>: one PUBLISH (with a URL: one POST to the gateway), and how many subscribers received it.</summary>
internal static class SendCommand
{
    public static async Task<int> ExecuteAsync(CliContext context, Overrides overrides, string channel, string message, CancellationToken cancellationToken)
    {
        if (channel.Length == 0)
        {
            context.Error("the channel must not be empty");
            return ExitCodes.ConfigurationError;
        }

        var path = context.ConfigPath(overrides);
        var config = overrides.ApplyTo(File.Exists(path) ? ConfigFile.Load(path) : new ClientConfig());
        if (config.Url is not null)
        {
            try
            {
                var received = await HttpTransport.PublishAsync(config, channel, message, cancellationToken).ConfigureAwait(false);
                context.Console.Out.WriteLine($"sent to {channel} on {config.EndPointText}: {received} subscriber(s) received it");
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is HttpSubscribeException or HttpRequestException or TimeoutException or IOException
                or System.Security.Authentication.AuthenticationException or System.Net.Sockets.SocketException)
            {
                context.Error($"cannot send to {config.EndPointText}: {HttpTransport.Describe(ex)}");
                return ExitCodes.Failed;
            }
        }

        ConnectionMultiplexer? multiplexer = null;
        try
        {
            multiplexer = await RedisConnections.ConnectAsync(config, cancellationToken).ConfigureAwait(false);
            var receivers = await multiplexer.GetSubscriber()
                .PublishAsync(RedisChannel.Literal(channel), message)
                .WaitAsync(config.Connection.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            context.Console.Out.WriteLine($"sent to {channel} on {config.EndPointText}: {receivers} subscriber(s) received it");
            return ExitCodes.Ok;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or System.Net.Sockets.SocketException)
        {
            context.Error($"cannot send to {config.EndPointText}: {ConnectionErrors.Describe(ex)}");
            return ExitCodes.Failed;
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
