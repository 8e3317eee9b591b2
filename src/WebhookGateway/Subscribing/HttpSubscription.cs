using System.Globalization;
using System.Threading.Channels;
using Notistream.Client.Subscriptions;
using Notistream.Gateway.Options;

namespace Notistream.Gateway.Subscribing;

/// <summary>
/// One HTTP subscriber's NOTI.SUBSCRIBE: its own <see cref="FollowConnection"/>, and a pump that reads the
/// server's pushes into a bounded queue which the HTTP writer empties.
/// <para>
/// Concurrency: the pump task is the queue's only writer and the only reader of the connection; the
/// request's writer loop is the queue's only reader. <see cref="EndReason"/> is written by the pump before
/// it completes the queue, and read by the writer after it saw the completion (the channel orders the two).
/// When the queue stays full for <see cref="SubscribeOptions.SlowConsumerTimeoutMilliseconds"/> the pump
/// calls <c>cutOff</c> (which aborts the HTTP connection) and ends: memory per subscriber is the queue plus
/// the reader's buffer, and the server itself sends a follower more only as it is read.
/// </para>
/// <para>
/// When the server connection drops and the gateway has only one server, the queue completes after the
/// last message read and the HTTP response ends; the client reconnects with its last id (Last-Event-ID, or
/// since=) and gets every later message exactly once. With several servers (<see cref="GatewayOptions.Servers"/>)
/// the pump instead follows again from the last id it read on the next server that answers, within the same
/// response: ids and history are each node's own, so that server may answer with a <c>noti.gap</c>, which
/// reaches the subscriber as any gap does. Only when none answers does the response end.
/// </para>
/// </summary>
internal sealed class HttpSubscription : IAsyncDisposable
{
    private readonly GatewayOptions _options;
    private readonly SubscribeRequest _request;
    private readonly ILogger? _logger;
    private readonly Channel<SubscriptionEvent> _queue;
    private volatile FollowConnection _connection; // replaced by the pump alone, when it moves to another server
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<string> _patterns;
    private Task _pump = Task.CompletedTask;

    private HttpSubscription(FollowConnection connection, GatewayOptions options, SubscribeRequest request, ILogger? logger)
    {
        _connection = connection;
        _options = options;
        _request = request;
        _logger = logger;
        var patterns = request.Patterns;
        _queue = Channel.CreateBounded<SubscriptionEvent>(new BoundedChannelOptions(options.Subscribe.QueueLength)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _patterns = new HashSet<string>(patterns, StringComparer.Ordinal);
    }

    public ChannelReader<SubscriptionEvent> Events => _queue.Reader;

    /// <summary>Why the queue completed: null while it runs; "caught up" for a poll.</summary>
    public string? EndReason { get; private set; }

    public bool CutOffAsSlow { get; private set; }

    /// <summary>Where the server starts, as its confirmation says (<c>$</c> resolved; a cursor ahead of it lowered to its last id).</summary>
    public string? From { get; private set; }

    /// <summary>The server's last id when it confirmed the subscription: messages up to it are the catch-up.</summary>
    public string? Last { get; private set; }

    /// <summary>
    /// Connects, sends NOTI.SUBSCRIBE and reads its confirmation; then starts the pump. Throws
    /// <see cref="FollowRefusedException"/> for an error answer, and the connection's exceptions when the
    /// server cannot be reached.
    /// </summary>
    public static async Task<HttpSubscription> OpenAsync(GatewayOptions options, SubscribeRequest request, Action cutOff, CancellationToken cancellationToken, ILogger? logger = null)
    {
        var connection = await FollowConnection.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        var subscription = new HttpSubscription(connection, options, request, logger);
        try
        {
            var items = await SubscribeAsync(connection, Command(request), options.ConnectTimeoutMilliseconds, cancellationToken).ConfigureAwait(false);
            subscription.From = items[1].Text;
            subscription.Last = items[3].Text;
        }
        catch
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        subscription._pump = Task.Run(() => subscription.PumpAsync(request.Poll, request.Start.LatestOnly, request.CatchUpEvents,
            TimeSpan.FromMilliseconds(options.Subscribe.SlowConsumerTimeoutMilliseconds), cutOff));
        return subscription;
    }

    /// <summary>Sends NOTI.SUBSCRIBE and reads its confirmation, ["noti.subscribe", from, count, last].</summary>
    private static async Task<RespFrame[]> SubscribeAsync(FollowConnection connection, List<string> command, int timeoutMilliseconds, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeoutMilliseconds);
        await connection.SendAsync(command, timeout.Token).ConfigureAwait(false);
        var reply = await connection.ReadAsync(timeout.Token).ConfigureAwait(false);
        if (reply.IsError)
        {
            throw new FollowRefusedException(reply.Text!);
        }

        if (reply.Items is not { Length: 4 } items || items[0].Text != "noti.subscribe")
        {
            throw new InvalidDataException($"unexpected answer to NOTI.SUBSCRIBE: {reply}");
        }

        return items;
    }

    internal static List<string> Command(SubscribeRequest request, string? from = null)
    {
        var command = new List<string> { "NOTI.SUBSCRIBE", from ?? request.Start.From };
        if (request.Channels.Count > 0)
        {
            command.Add("CHANNELS");
            command.Add(request.Channels.Count.ToString(CultureInfo.InvariantCulture));
            command.AddRange(request.Channels);
        }

        if (request.Patterns.Count > 0)
        {
            command.Add("PATTERNS");
            command.Add(request.Patterns.Count.ToString(CultureInfo.InvariantCulture));
            command.AddRange(request.Patterns);
        }

        return command;
    }

    private async Task PumpAsync(bool poll, bool latestOnly, bool catchUpEvents, TimeSpan slowTimeout, Action cutOff)
    {
        var token = _stop.Token;
        SubscriptionEvent? held = null; // since=latest: the catch-up's last message so far
        var catchingUp = true;
        var cursor = From!; // the last id read: where following again on another server starts
        try
        {
            while (true)
            {
                RespFrame frame;
                try
                {
                    frame = await _connection.ReadAsync(token).ConfigureAwait(false);
                }
                catch (Exception ex) when (_options.Servers.Count > 1 && !token.IsCancellationRequested
                    && ex is IOException or EndOfStreamException or System.Net.Sockets.SocketException)
                {
                    if (!await MoveAsync(cursor, ex.Message, token).ConfigureAwait(false))
                    {
                        throw;
                    }

                    continue;
                }

                if (frame.IsError)
                {
                    EndReason = $"the server ended the subscription: {frame.Text}";
                    return;
                }

                if (frame.Items is not { Length: > 0 } items)
                {
                    continue; // a PONG
                }

                SubscriptionEvent? next = null;
                switch (items[0].Text)
                {
                    case "noti.message" when items.Length == 4:
                        next = SubscriptionEvent.Message(items[2].Text!, items[1].Text!, null, items[3].Bytes ?? []);
                        cursor = items[2].Text!;
                        break;
                    case "noti.pmessage" when items.Length == 5:
                        next = SubscriptionEvent.Message(items[3].Text!, items[2].Text!, items[1].Text, items[4].Bytes ?? []);
                        cursor = items[3].Text!;
                        break;
                    case "noti.gap" when items.Length == 3:
                        var subject = items[1].Text!;
                        next = SubscriptionEvent.Gap(subject, _patterns.Contains(subject), items[2].Kind == RespKind.Integer ? items[2].Integer : null);
                        break;
                    case "noti.caughtup" when !catchingUp:
                        continue; // another server's, after a move: the subscriber was told once
                    case "noti.caughtup":
                        catchingUp = false;
                        if (held is not null && !await EnqueueAsync(held, slowTimeout, cutOff, token).ConfigureAwait(false))
                        {
                            return;
                        }

                        held = null;
                        if (poll)
                        {
                            EndReason = "caught up";
                            return;
                        }

                        if (catchUpEvents && !await EnqueueAsync(SubscriptionEvent.CaughtUpMarker, slowTimeout, cutOff, token).ConfigureAwait(false))
                        {
                            return;
                        }

                        continue;
                }

                if (next is null)
                {
                    continue;
                }

                if (latestOnly && catchingUp)
                {
                    // Only the last stored message counts; a gap before it says nothing about it.
                    held = next.IsGap ? held : next;
                    continue;
                }

                if (!await EnqueueAsync(next, slowTimeout, cutOff, token).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            EndReason ??= "the subscriber left";
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidDataException)
        {
            EndReason ??= $"the connection to the pub/sub server ended: {ex.Message}";
        }
        finally
        {
            _queue.Writer.TryComplete();
        }
    }

    /// <summary>
    /// The server went away: follow the same channels from <paramref name="cursor"/> on the next server that
    /// answers (each tried once, the one lost last). False when none did, or the one that answered refused.
    /// </summary>
    private async Task<bool> MoveAsync(string cursor, string reason, CancellationToken token)
    {
        var lost = _connection;
        _options.Servers.Failed(lost.Server);
        await lost.DisposeAsync().ConfigureAwait(false);
        FollowConnection next;
        try
        {
            next = await FollowConnection.ConnectAsync(_options, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or FollowRefusedException
            or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            EndReason ??= $"the connection to the pub/sub server ended: {reason}; no other server answered ({ex.Message})";
            return false;
        }

        try
        {
            await SubscribeAsync(next, Command(_request, cursor), _options.ConnectTimeoutMilliseconds, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException or System.Net.Sockets.SocketException or FollowRefusedException
            or InvalidDataException or OperationCanceledException)
        {
            await next.DisposeAsync().ConfigureAwait(false);
            EndReason ??= $"the connection to the pub/sub server ended: {reason}; {next.Server} did not follow again ({ex.Message})";
            return false;
        }

        _connection = next;
        if (token.IsCancellationRequested)
        {
            // Disposed meanwhile: DisposeAsync closes _connection again after the pump ends.
            return false;
        }

        if (_logger is not null)
        {
            SubscribeLog.Moved(_logger, _request.Topics, lost.Server, reason, cursor, next.Server);
        }

        return true;
    }

    /// <returns>False when the subscriber was cut off as too slow.</returns>
    private async ValueTask<bool> EnqueueAsync(SubscriptionEvent item, TimeSpan slowTimeout, Action cutOff, CancellationToken token)
    {
        if (_queue.Writer.TryWrite(item))
        {
            return true;
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(token);
        wait.CancelAfter(slowTimeout);
        try
        {
            await _queue.Writer.WriteAsync(item, wait.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            CutOffAsSlow = true;
            EndReason = $"cut off: the subscriber read nothing for {slowTimeout.TotalSeconds:0.#} s with {_queue.Reader.Count} events waiting";
            cutOff();
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false); // one the pump moved to meanwhile
        _stop.Dispose();
    }
}
