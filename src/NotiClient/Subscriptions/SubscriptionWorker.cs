using System.Threading.Channels;
using Notistream.Client.Config;
using StackExchange.Redis;

namespace Notistream.Client.Subscriptions;

/// <summary>
/// Holds the one connection: connect, SUBSCRIBE/PSUBSCRIBE every channel, pass each message on, and
/// when the connection ends — closed by the server, reset, or silent (no answer to the keepalive
/// PING) — throw it away, wait a backed-off, jittered delay and start again.
/// </summary>
/// <remarks>
/// Threads: <see cref="RunAsync"/> is the only writer of the loop state. Per session there is one
/// pump per subscription (each drains its own ordered StackExchange.Redis queue, so messages of a
/// channel or pattern keep their order) and one watchdog; all of them, and the multiplexer's
/// ConnectionFailed event, end the session through one TaskCompletionSource, so the first reason wins.
/// </remarks>
internal sealed class SubscriptionWorker
{
    private readonly ClientConfig _config;
    private readonly IMessageTarget _target;
    private readonly IConnectionObserver _observer;
    private readonly Backoff _backoff;
    private readonly TimeProvider _time;

    public SubscriptionWorker(ClientConfig config, IMessageTarget target, IConnectionObserver observer, TimeProvider? time = null, Backoff? backoff = null)
    {
        if (config.Channels.Count == 0)
        {
            throw new ArgumentException("at least one channel is needed", nameof(config));
        }

        _config = config;
        _target = target;
        _observer = observer;
        _time = time ?? TimeProvider.System;
        _backoff = backoff ?? new Backoff(config.Connection.ReconnectMinDelay, config.Connection.ReconnectMaxDelay);
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; never ends on a connection error.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var endPoint = _config.EndPointText;
        _observer.Connecting(endPoint);
        while (!cancellationToken.IsCancellationRequested)
        {
            await RunSessionAsync(endPoint, cancellationToken).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            var step = _backoff.Next();
            _observer.Reconnecting(endPoint, step);
            try
            {
                await Task.Delay(step.Delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>One connection, from connect to its end. Reports what happened; throws nothing but cancellation-free.</summary>
    private async Task RunSessionAsync(string endPoint, CancellationToken cancellationToken)
    {
        ConnectionMultiplexer? multiplexer = null;
        var connected = false;
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = new List<Task>();
        try
        {
            multiplexer = await RedisConnections.ConnectAsync(_config, cancellationToken).ConfigureAwait(false);
            multiplexer.ConnectionFailed += (_, e) => ended.TrySetResult(ConnectionErrors.Describe(e));
            var subscriber = multiplexer.GetSubscriber();
            foreach (var channel in _config.Channels)
            {
                var queue = await subscriber.SubscribeAsync(RedisConnections.ToRedisChannel(channel))
                    .WaitAsync(_config.Connection.ConnectTimeout, _time, cancellationToken).ConfigureAwait(false);
                workers.Add(PumpAsync(queue, channel, ended, session.Token));
            }

            connected = true;
            _backoff.Reset();
            _observer.Connected(endPoint, _config.Channels);
            workers.Add(WatchdogAsync(subscriber, ended, session.Token));

            var reason = await ended.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            _observer.Lost(endPoint, reason);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or System.Net.Sockets.SocketException or IOException or ObjectDisposedException)
        {
            var reason = ConnectionErrors.Describe(ex);
            if (connected)
            {
                _observer.Lost(endPoint, reason);
            }
            else
            {
                _observer.ConnectFailed(endPoint, reason);
            }
        }
        finally
        {
            await session.CancelAsync().ConfigureAwait(false);
            if (multiplexer is not null)
            {
                await RedisConnections.CloseQuietlyAsync(multiplexer).ConfigureAwait(false);
            }

            await Task.WhenAll(workers).ConfigureAwait(false);
        }
    }

    private async Task PumpAsync(ChannelMessageQueue queue, ChannelSpec channel, TaskCompletionSource<string> ended, CancellationToken cancellationToken)
    {
        var pattern = channel.IsPattern ? channel.Name : null;
        try
        {
            while (true)
            {
                var message = await queue.ReadAsync(cancellationToken).ConfigureAwait(false);
                _target.Post(new IncomingMessage(message.Channel.ToString(), pattern, message.Message.ToString(), _time.GetUtcNow()));
            }
        }
        catch (OperationCanceledException)
        {
            // Session over.
        }
        catch (ChannelClosedException)
        {
            ended.TrySetResult("the subscription was closed");
        }
    }

    /// <summary>
    /// PING on the subscription connection every <see cref="ConnectionSettings.KeepAliveInterval"/>; no
    /// answer within <see cref="ConnectionSettings.KeepAliveTimeout"/> ends the session. This is what
    /// notices a connection that went silent without a FIN or RST (wifi switched, laptop resumed).
    /// </summary>
    private async Task WatchdogAsync(ISubscriber subscriber, TaskCompletionSource<string> ended, CancellationToken cancellationToken)
    {
        var settings = _config.Connection;
        try
        {
            using var timer = new PeriodicTimer(settings.KeepAliveInterval, _time);
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await subscriber.PingAsync().WaitAsync(settings.KeepAliveTimeout, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Session over.
        }
        catch (TimeoutException)
        {
            ended.TrySetResult($"no answer to a keepalive PING within {settings.KeepAliveTimeout.TotalSeconds:0.#} s");
        }
        catch (RedisException ex)
        {
            ended.TrySetResult(ConnectionErrors.Describe(ex));
        }
    }
}
