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
/// the pump follows the node in use (<see cref="ServerAddresses.InUse"/>, the one publishing goes to) within
/// the same response: when that node changes, or this connection drops, it follows again on the node in use.
/// Each connection asks its node whose history it has (<see cref="FollowConnection.SharedHistoryAsync"/>). Nodes
/// that share one history (the same JetStream stream) give the same ids: a move between two of them carries the
/// cursor over and resumes exactly there, with no gap of the gateway's own (<see cref="SharedHistoryFollow"/>
/// waits a little for a node that has not applied the stream up to it yet). Otherwise history and ids are each
/// node's own, so a cursor means something only on the node that gave it: the pump keeps one per history
/// (<c>cursors</c>, its own: a node's, or a shared stream's). On a history it has a cursor for it resumes exactly
/// there; on one it has none for it follows from <c>$</c> (now); either way such a move reports one gap of
/// unknown size per channel and pattern, since what was published there meanwhile is not known. The response
/// ends when the node in use cannot be followed on.
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
    private CancellationToken _movedToken; // the node in use's move token when the connection followed was made (the pump's)
    private long _lastMove = long.MinValue / 2;
    private string? _history; // the shared history of the node followed now, or null: its own (the pump's)
    private string? _floor; // messages with ids up to this one were delivered already (a node of the shared history behind it; the pump's)

    /// <summary>A follow connection that lasted less than this is not followed again at once.</summary>
    internal static readonly TimeSpan MinimumSession = TimeSpan.FromSeconds(1);

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
        var moved = options.Servers.Moved;
        var connection = await FollowConnection.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        string? history = null;
        RespFrame reply;
        RespFrame[] items;
        try
        {
            if (options.Servers.Count > 1)
            {
                // Whose history: a since= id given by another node of the same shared history is valid here too.
                history = await connection.SharedHistoryAsync(options.ConnectTimeoutMilliseconds, cancellationToken).ConfigureAwait(false);
            }

            (connection, reply) = await SharedHistoryFollow.SubscribeAsync(options, connection, Command(request), request.Start.From, history, cancellationToken).ConfigureAwait(false);
            items = Confirmation(reply);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var subscription = new HttpSubscription(connection, options, request, logger)
        {
            _movedToken = Current(options.Servers, connection.Server, moved),
            _history = history,
            _floor = history is not null && SharedHistoryFollow.IsBehind(reply, request.Start.From) ? request.Start.From : null,
            From = items[1].Text,
            Last = items[3].Text,
        };

        subscription._pump = Task.Run(() => subscription.PumpAsync(request.Poll, request.Start.LatestOnly, request.CatchUpEvents,
            TimeSpan.FromMilliseconds(options.Subscribe.SlowConsumerTimeoutMilliseconds), cutOff));
        return subscription;
    }

    /// <summary>
    /// The move token to watch for a connection to <paramref name="server"/> made while <paramref name="before"/>
    /// was current: a newer one when the node moved meanwhile, to this very server (a follow connection that
    /// set a node aside moves it), so that the move it took part in does not end it at once.
    /// </summary>
    internal static CancellationToken Current(ServerAddresses servers, string server, CancellationToken before)
    {
        if (!before.IsCancellationRequested)
        {
            return before;
        }

        var now = servers.Moved; // read before the node: a move after this cancels it
        return servers.InUse == server ? now : before;
    }

    /// <summary>NOTI.SUBSCRIBE's confirmation, ["noti.subscribe", from, count, last]; an error answer is a <see cref="FollowRefusedException"/>.</summary>
    private static RespFrame[] Confirmation(RespFrame reply)
    {
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
        var several = _options.Servers.Count > 1;
        var cursors = new Dictionary<string, string>(StringComparer.Ordinal); // node → the last id read on it
        var cursor = _floor ?? From!; // the last id read on the history followed now
        var session = several ? CancellationTokenSource.CreateLinkedTokenSource(token, _movedToken) : null;
        try
        {
            while (true)
            {
                RespFrame frame;
                try
                {
                    frame = await _connection.ReadAsync(session?.Token ?? token).ConfigureAwait(false);
                }
                catch (Exception ex) when (several && !token.IsCancellationRequested
                    && ex is IOException or EndOfStreamException or System.Net.Sockets.SocketException or OperationCanceledException)
                {
                    cursors[SharedHistoryFollow.Key(_connection.Server, _history)] = cursor;
                    var reason = ex is OperationCanceledException ? "another node is in use now" : ex.Message;
                    if (await MoveAsync(cursors, reason, slowTimeout, cutOff, token).ConfigureAwait(false) is not { } resumed)
                    {
                        if (CutOffAsSlow)
                        {
                            return;
                        }

                        throw new IOException(EndReason ?? reason, ex);
                    }

                    cursor = resumed;
                    session!.Dispose();
                    session = CancellationTokenSource.CreateLinkedTokenSource(token, _movedToken);
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
                    case "noti.message" when items.Length == 4 && !SharedHistoryFollow.IsAfter(items[2].Text!, _floor):
                    case "noti.pmessage" when items.Length == 5 && !SharedHistoryFollow.IsAfter(items[3].Text!, _floor):
                        continue; // delivered already: a node of the shared history that was behind the cursor sends it again
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
            session?.Dispose();
            _queue.Writer.TryComplete();
        }
    }

    /// <summary>
    /// The node in use changed, or this connection dropped: follow the same channels on the node in use. On a node
    /// of the same shared history as the node left, from the cursor, with no gap; else from the cursor of its
    /// history when there is one, else from <c>$</c>, with one gap of unknown size per channel and pattern.
    /// Returns the cursor on the new connection; null when it could not follow (the response ends).
    /// </summary>
    private async Task<string?> MoveAsync(Dictionary<string, string> cursors, string reason, TimeSpan slowTimeout, Action cutOff, CancellationToken token)
    {
        var lost = _connection;
        await lost.DisposeAsync().ConfigureAwait(false);
        if (Environment.TickCount64 - _lastMove < MinimumSession.TotalMilliseconds)
        {
            // A node that accepts and drops at once is not followed again in a tight loop.
            await Task.Delay(MinimumSession, token).ConfigureAwait(false);
        }

        _lastMove = Environment.TickCount64;
        _movedToken = _options.Servers.Moved; // before choosing: a move after this is seen by the next read
        // A node that is going away can still take a connection and then reset it: tried again, as one that
        // cannot be reached, until the node in use moves or the deadline passes.
        var deadline = Environment.TickCount64 + Math.Max(5000L, 2L * _options.ConnectTimeoutMilliseconds);
        var previous = _history;
        FollowConnection next;
        string? history;
        bool known;
        string? from;
        RespFrame[] confirmation;
        while (true)
        {
            try
            {
                next = await ConnectAgainAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or FollowRefusedException
                or System.Security.Authentication.AuthenticationException or OperationCanceledException)
            {
                EndReason ??= $"the connection to the pub/sub server ended: {reason}; no pub/sub server could be followed on ({ex.Message})";
                return null;
            }

            try
            {
                history = await next.SharedHistoryAsync(_options.ConnectTimeoutMilliseconds, token).ConfigureAwait(false);
                known = cursors.TryGetValue(SharedHistoryFollow.Key(next.Server, history), out from);
                (next, var reply) = await SharedHistoryFollow.SubscribeAsync(_options, next, Command(_request, known ? from : "$"), known ? from! : "$", history, token).ConfigureAwait(false);
                confirmation = Confirmation(reply);
                break;
            }
            catch (Exception ex) when (ex is IOException or EndOfStreamException or System.Net.Sockets.SocketException or TimeoutException
                && !token.IsCancellationRequested && Environment.TickCount64 < deadline)
            {
                await next.DisposeAsync().ConfigureAwait(false);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(token, _movedToken);
                await Task.Delay(RetryDelay, wait.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                _movedToken = _options.Servers.Moved;
            }
            catch (Exception ex) when (ex is IOException or EndOfStreamException or System.Net.Sockets.SocketException or FollowRefusedException
                or InvalidDataException or OperationCanceledException or TimeoutException or System.Security.Authentication.AuthenticationException)
            {
                await next.DisposeAsync().ConfigureAwait(false);
                EndReason ??= $"the connection to the pub/sub server ended: {reason}; {next.Server} did not follow again ({ex.Message})";
                return null;
            }
        }

        _connection = next;
        _history = history;
        // With a cursor in a shared history, nothing up to it is delivered again, whatever this node sends.
        _floor = history is not null && known ? from : null;
        _movedToken = Current(_options.Servers, next.Server, _movedToken);
        if (token.IsCancellationRequested)
        {
            // Disposed meanwhile: DisposeAsync closes _connection again after the pump ends.
            return null;
        }

        var cursor = known ? from! : confirmation[1].Text ?? "$";
        var shared = history is not null && history == previous;
        if (_logger is not null)
        {
            SubscribeLog.Moved(_logger, _request.Topics, lost.Server, reason,
                shared ? $"{from} (the same shared history, {history})" : known ? from! : "$ (no position on that node: a gap)", next.Server);
        }

        if (shared)
        {
            // The same history, the same ids: nothing unread on the old node is missing here.
            return cursor;
        }

        // Any other move: history is each node's own, so what the old node may still have had unread (and, without
        // a position here, what this node had meanwhile) is not known, nor how much.
        foreach (var subject in _request.Channels.Concat(_request.Patterns))
        {
            if (!await EnqueueAsync(SubscriptionEvent.Gap(subject, _patterns.Contains(subject), null), slowTimeout, cutOff, token).ConfigureAwait(false))
            {
                return null;
            }
        }

        return cursor;
    }

    /// <summary>
    /// A follow connection to the node in use, tried again for a while when it cannot be reached or refuses
    /// for now: a follow connection never moves the node in use, the publisher does once it notices the node
    /// is gone, and a retry (woken early by that move) then follows on the node it chose.
    /// </summary>
    private async Task<FollowConnection> ConnectAgainAsync(CancellationToken token)
    {
        var deadline = Environment.TickCount64 + Math.Max(5000L, 2L * _options.ConnectTimeoutMilliseconds);
        while (true)
        {
            try
            {
                return await FollowConnection.ConnectAsync(_options, token).ConfigureAwait(false);
            }
            catch (IOException) when (!token.IsCancellationRequested && Environment.TickCount64 < deadline)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(token, _movedToken);
                await Task.Delay(RetryDelay, wait.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                token.ThrowIfCancellationRequested();
                _movedToken = _options.Servers.Moved;
            }
        }
    }

    /// <summary>Between two attempts to follow on the node in use again.</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

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
