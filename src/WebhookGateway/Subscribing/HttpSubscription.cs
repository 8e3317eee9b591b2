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
/// When the server connection drops, the queue completes after the last message read and the HTTP
/// response ends; the client reconnects with its last id (Last-Event-ID, or since=) and gets every later
/// message exactly once. The gateway does not reconnect on its own.
/// </para>
/// </summary>
internal sealed class HttpSubscription : IAsyncDisposable
{
    private readonly FollowConnection _connection;
    private readonly Channel<SubscriptionEvent> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<string> _patterns;
    private Task _pump = Task.CompletedTask;

    private HttpSubscription(FollowConnection connection, int queueLength, IEnumerable<string> patterns)
    {
        _connection = connection;
        _queue = Channel.CreateBounded<SubscriptionEvent>(new BoundedChannelOptions(queueLength)
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
    public static async Task<HttpSubscription> OpenAsync(GatewayOptions options, SubscribeRequest request, Action cutOff, CancellationToken cancellationToken)
    {
        var connection = await FollowConnection.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        var subscription = new HttpSubscription(connection, options.Subscribe.QueueLength, request.Patterns);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.ConnectTimeoutMilliseconds);
            await connection.SendAsync(Command(request), timeout.Token).ConfigureAwait(false);
            var reply = await connection.ReadAsync(timeout.Token).ConfigureAwait(false);
            if (reply.IsError)
            {
                throw new FollowRefusedException(reply.Text!);
            }

            if (reply.Items is not { Length: 4 } items || items[0].Text != "noti.subscribe")
            {
                throw new InvalidDataException($"unexpected answer to NOTI.SUBSCRIBE: {reply}");
            }

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

    internal static List<string> Command(SubscribeRequest request)
    {
        var command = new List<string> { "NOTI.SUBSCRIBE", request.Start.From };
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
        try
        {
            while (true)
            {
                var frame = await _connection.ReadAsync(token).ConfigureAwait(false);
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
                        break;
                    case "noti.pmessage" when items.Length == 5:
                        next = SubscriptionEvent.Message(items[3].Text!, items[2].Text!, items[1].Text, items[4].Bytes ?? []);
                        break;
                    case "noti.gap" when items.Length == 3:
                        var subject = items[1].Text!;
                        next = SubscriptionEvent.Gap(subject, _patterns.Contains(subject), items[2].Kind == RespKind.Integer ? items[2].Integer : null);
                        break;
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
        _stop.Dispose();
    }
}
