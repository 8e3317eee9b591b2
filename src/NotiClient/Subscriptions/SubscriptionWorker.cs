using System.Globalization;
using System.Threading.Channels;
using Notistream.Client.Config;
using Notistream.Client.Resume;
using StackExchange.Redis;

namespace Notistream.Client.Subscriptions;

/// <summary>
/// Holds the one connection: connect, subscribe to every channel, pass each message on, and when the
/// connection ends — closed by the server, reset, or silent (no answer to the keepalive PING) — throw it
/// away, wait a backed-off, jittered delay and start again.
/// </summary>
/// <remarks>
/// <para>
/// Each session first asks for NOTI.SUBSCRIBE (on a plain RESP connection, since StackExchange.Redis
/// cannot carry its pushes): from <see cref="ResumePosition.From"/>, so what was published while the
/// client was away comes first (catch-up), in id order, exactly once, then live messages. A server
/// without it (Redis: unknown command), or one that refuses it, gets plain SUBSCRIBE/PSUBSCRIBE through
/// StackExchange.Redis for that session, and the observer is told that missed messages cannot be recovered.
/// With a URL (<see cref="ClientConfig.Url"/>) each session is instead the gateway's <c>/json</c> stream
/// (<see cref="HttpTransport"/>). Either way what a session reads goes through one <see cref="ResumeSession"/>.
/// </para>
/// <para>
/// With several servers (<see cref="ClientConfig.Nodes"/>: <c>--server a,b</c>, "servers", <c>--url a,b</c>) each
/// session goes to the first listed server that can be reached, in priority order: a session that could not
/// connect is followed at once by one to the next server, a session that lasted by one to the first server
/// again, and the backoff delay comes after every server from the first failed. A session shorter than
/// <see cref="MinimumSession"/> counts as failed: nodes that accept and drop at once are tried once per
/// round, with at least the minimum delay between rounds. Before subscribing on a RESP node the session asks
/// <c>INFO cluster</c> whose history the node has: a cluster's shared one (<c>nats_history:jetstream</c>, where
/// ids are the same on every node, named by <c>nats_history_stream</c>) or its own (anything else: a standalone
/// server, <c>local</c>, Redis, an INFO refused or unreadable; a gateway is always taken for its own).
/// <see cref="ResumePosition"/> keeps a position per history (<see cref="ResumePosition.UseNode"/>): carried over
/// exactly to another node of the same shared history; exact on a history the client has been on in this run;
/// else from now with one gap of unknown size per channel.
/// </para>
/// <para>
/// Threads: <see cref="RunAsync"/> is the only writer of the loop state. Per session there is one reader
/// (NOTI mode) or one pump per subscription (plain mode: each drains its own ordered StackExchange.Redis
/// queue) and one watchdog; all of them end the session through one TaskCompletionSource, so the first
/// reason wins.
/// </para>
/// </remarks>
internal sealed class SubscriptionWorker : IDisposable
{
    private readonly ClientConfig _config;
    private readonly IMessageTarget _target;
    private readonly IConnectionObserver _observer;
    private readonly Backoff _backoff;
    private readonly TimeProvider _time;
    private readonly ResumePosition _resume;
    private readonly HashSet<string> _patterns;
    private readonly IReadOnlyList<ClientConfig> _nodes;
    private readonly HttpTransport?[] _http;

    public SubscriptionWorker(ClientConfig config, IMessageTarget target, IConnectionObserver observer, TimeProvider? time = null, Backoff? backoff = null, ResumePosition? resume = null)
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
        _resume = resume ?? new ResumePosition("$");
        _patterns = config.Channels.Where(c => c.IsPattern).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        _nodes = config.Nodes;
        _http = [.. _nodes.Select(node => node.Url is null ? null : new HttpTransport(node))];
    }

    public void Dispose()
    {
        foreach (var http in _http)
        {
            http?.Dispose();
        }
    }

    public ResumePosition Resume => _resume;

    /// <summary>With several servers, a session shorter than this counts as failed (at least the reconnect minimum, and 1 s).</summary>
    private TimeSpan MinimumSession => _config.Connection.ReconnectMinDelay > TimeSpan.FromSeconds(1) ? _config.Connection.ReconnectMinDelay : TimeSpan.FromSeconds(1);

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; never ends on a connection error.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var index = 0;
        _observer.Connecting(_nodes[0].EndPointText);
        while (!cancellationToken.IsCancellationRequested)
        {
            var node = _nodes[index];
            var endPoint = node.EndPointText;
            var resets = _backoff.Resets;
            var started = _time.GetTimestamp();
            TimeSpan? retryAfter = null;
            if (_http[index] is { } http)
            {
                if (_nodes.Count > 1)
                {
                    _resume.UseNode(endPoint); // a gateway does not say whose history it follows: each its own
                }

                retryAfter = await http.RunSessionAsync(endPoint, _resume, _target, _observer, _time, _backoff, _patterns, cancellationToken).ConfigureAwait(false);
            }
            else if (await RunResumeSessionAsync(node, endPoint, cancellationToken).ConfigureAwait(false) is { } unsupported)
            {
                _observer.HistoryUnavailable(endPoint, unsupported);
                await RunPlainSessionAsync(node, endPoint, cancellationToken).ConfigureAwait(false);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            // A session that connected and lasted starts a new round from the first server; one that ended
            // within MinimumSession is a failure, so that nodes that accept and drop at once are not spun on.
            var lasted = _backoff.Resets != resets && _time.GetElapsedTime(started) >= MinimumSession;
            if (_nodes.Count > 1)
            {
                // Priority order, not round robin: the first listed server whenever it can be reached.
                var previous = index;
                index = lasted ? 0 : (index + 1) % _nodes.Count;
                if (index != 0 || lasted && previous != 0)
                {
                    // Not every server from the first has been tried, or the first is to be tried again: now.
                    _observer.Moving(endPoint, _nodes[index].EndPointText);
                    continue;
                }
            }

            var step = _backoff.Next();
            if (retryAfter is { } wait && wait > step.Delay)
            {
                step = step with { Delay = wait }; // the gateway's Retry-After: not sooner than it asked
            }

            _observer.Reconnecting(_nodes[index].EndPointText, step);
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

    /// <summary>The NOTI.SUBSCRIBE arguments: from, then CHANNELS and PATTERNS with their counts.</summary>
    public static List<string> SubscribeCommand(string from, IReadOnlyList<ChannelSpec> channels)
    {
        var exact = channels.Where(c => !c.IsPattern).Select(c => c.Name).Distinct(StringComparer.Ordinal).ToList();
        var patterns = channels.Where(c => c.IsPattern).Select(c => c.Name).Distinct(StringComparer.Ordinal).ToList();
        var command = new List<string> { "NOTI.SUBSCRIBE", from };
        if (exact.Count > 0)
        {
            command.Add("CHANNELS");
            command.Add(exact.Count.ToString(CultureInfo.InvariantCulture));
            command.AddRange(exact);
        }

        if (patterns.Count > 0)
        {
            command.Add("PATTERNS");
            command.Add(patterns.Count.ToString(CultureInfo.InvariantCulture));
            command.AddRange(patterns);
        }

        return command;
    }

    /// <summary>
    /// Whether an error answer to NOTI.SUBSCRIBE means "not here" (plain subscribe instead) rather than a
    /// failure to retry: an unknown command (Redis, an older server), a user not allowed the command, or a
    /// channel that keeps no history.
    /// </summary>
    public static bool MeansNoHistory(string error) =>
        error.Contains("unknown command", StringComparison.OrdinalIgnoreCase)
        || error.StartsWith("NOPERM", StringComparison.Ordinal)
        || error.Contains("keeps no history", StringComparison.Ordinal);

    /// <summary>
    /// The cluster's shared history that an <c>INFO cluster</c> reply names: the value of <c>nats_history_stream</c>
    /// when <c>nats_history</c> is <c>jetstream</c>. Null for anything else (a standalone server or Redis, whose INFO
    /// has no such field; <c>nats_history:local</c>; an error such as NOPERM): the node's history is its own.
    /// </summary>
    public static string? SharedHistoryOf(RespFrame info)
    {
        if (info.Kind != RespKind.BulkString || info.Text is not { } text)
        {
            return null;
        }

        var fields = text.Split('\n').Select(line => line.TrimEnd('\r').Split(':', 2)).Where(field => field.Length == 2)
            .ToLookup(field => field[0], field => field[1], StringComparer.Ordinal);
        return fields["nats_history"].FirstOrDefault() == "jetstream" && fields["nats_history_stream"].FirstOrDefault() is { Length: > 0 } stream
            ? stream
            : null;
    }

    /// <summary>One NOTI.SUBSCRIBE connection, from connect to its end.</summary>
    /// <returns>Null when the session ran (and ended); the reason when the server has no history for these channels.</returns>
    private async Task<string?> RunResumeSessionAsync(ClientConfig node, string endPoint, CancellationToken cancellationToken)
    {
        RawConnection? connection = null;
        var connected = false;
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = new List<Task>();
        try
        {
            connection = await RawConnection.ConnectAsync(node, cancellationToken).ConfigureAwait(false);
            var handshake = _config.Connection.ConnectTimeout * 2;
            if (_config.Password is { } password)
            {
                List<string> auth = _config.User is { } user ? ["AUTH", user, password] : ["AUTH", password];
                await connection.CallAsync(auth, cancellationToken).WaitAsync(handshake, _time, cancellationToken).ConfigureAwait(false);
            }

            await connection.SendAsync(["CLIENT", "SETNAME", RedisConnections.ClientName], cancellationToken).ConfigureAwait(false);
            if (_nodes.Count > 1)
            {
                await connection.SendAsync(["INFO", "cluster"], cancellationToken).ConfigureAwait(false);
            }

            _ = await connection.ReadAsync(cancellationToken).AsTask().WaitAsync(handshake, _time, cancellationToken).ConfigureAwait(false); // CLIENT SETNAME: refused by some ACL users, which is fine
            if (_nodes.Count > 1)
            {
                // Which position to start from depends on whose history this node has: read before subscribing.
                var info = await connection.ReadAsync(cancellationToken).AsTask().WaitAsync(handshake, _time, cancellationToken).ConfigureAwait(false);
                _resume.UseNode(endPoint, SharedHistoryOf(info));
            }

            await connection.SendAsync(SubscribeCommand(_resume.From, _config.Channels), cancellationToken).ConfigureAwait(false);
            var reply = await connection.ReadAsync(cancellationToken).AsTask().WaitAsync(handshake, _time, cancellationToken).ConfigureAwait(false);
            if (reply.IsError)
            {
                return MeansNoHistory(reply.Text!) ? reply.Text! : throw new RespServerErrorException(reply.Text!);
            }

            var confirmation = Confirmation.Parse(reply);
            connected = true;
            _backoff.Reset();
            _resume.Confirmed(confirmation.From);
            _observer.Connected(endPoint, _config.Channels);

            var state = new SessionState(connection, new ResumeSession(_target, _resume, _observer, _time, endPoint, _patterns,
                confirmation.Last, confirmation.From < confirmation.Last));
            if (_resume.TakeGapOwed())
            {
                await state.Session.MovedWithoutPositionAsync(_config.Channels.Select(c => c.Name), cancellationToken).ConfigureAwait(false);
            }
            workers.Add(ReadAsync(state, ended, session.Token));
            workers.Add(WatchdogAsync(state, ended, session.Token));
            var reason = await ended.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            _observer.Lost(endPoint, reason);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex) when (ex is RespServerErrorException or TimeoutException or System.Net.Sockets.SocketException or IOException
            or ObjectDisposedException or InvalidDataException or System.Security.Authentication.AuthenticationException
            or System.Security.Cryptography.CryptographicException)
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
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        return null;
    }

    private sealed class SessionState(RawConnection connection, ResumeSession session)
    {
        public RawConnection Connection { get; } = connection;

        public ResumeSession Session { get; } = session;
    }

    private async Task ReadAsync(SessionState state, TaskCompletionSource<string> ended, CancellationToken cancellationToken)
    {
        var connection = state.Connection;
        try
        {
            while (true)
            {
                var frame = await connection.ReadAsync(cancellationToken).ConfigureAwait(false);
                state.Session.Touch();
                await HandleAsync(state.Session, frame, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Session over.
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidDataException
            or RespServerErrorException or ChannelClosedException or System.Security.Authentication.AuthenticationException)
        {
            ended.TrySetResult(ConnectionErrors.Describe(ex));
        }
    }

    private static async Task HandleAsync(ResumeSession session, RespFrame frame, CancellationToken cancellationToken)
    {
        if (frame.IsError)
        {
            throw new RespServerErrorException(frame.Text!);
        }

        if (frame.Kind == RespKind.SimpleString && string.Equals(frame.Text, "PONG", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        if (frame.Items is not { Length: > 0 } items)
        {
            throw new InvalidDataException(RawConnection.Describe("NOTI.SUBSCRIBE", frame));
        }

        var kind = items[0].Text;
        switch (kind)
        {
            case "noti.message" when items.Length == 4:
                await MessageAsync(session, items[1].Text!, null, items[2].Text, items[3], cancellationToken).ConfigureAwait(false);
                break;
            case "noti.pmessage" when items.Length == 5:
                await MessageAsync(session, items[2].Text!, items[1].Text, items[3].Text, items[4], cancellationToken).ConfigureAwait(false);
                break;
            case "noti.gap" when items.Length == 3:
                await session.GapAsync(items[1].Text!, items[2].Kind == RespKind.Integer ? items[2].Integer : null, cancellationToken).ConfigureAwait(false);
                break;
            case "noti.caughtup" when items.Length == 2:
                // Every message up to the server's last id at the confirmation has been read.
                await session.EndCatchUpAsync(cancellationToken).ConfigureAwait(false);
                break;
            case "pong":
                break;
            default:
                throw new InvalidDataException(RawConnection.Describe("NOTI.SUBSCRIBE", frame));
        }
    }

    private static Task MessageAsync(ResumeSession session, string channel, string? pattern, string? idText, RespFrame payload, CancellationToken cancellationToken) =>
        MessageId.TryParse(idText, out var id)
            ? session.MessageAsync(channel, pattern, id, payload.Kind == RespKind.Null ? string.Empty : payload.Text!, cancellationToken)
            : throw new InvalidDataException($"a message on {channel} with the id '{idText}'");

    /// <summary>
    /// PING every <see cref="ConnectionSettings.KeepAliveInterval"/>; when neither its answer nor any other
    /// frame comes within <see cref="ConnectionSettings.KeepAliveTimeout"/>, and the reader is not merely
    /// waiting for a slow output, the connection is dead.
    /// </summary>
    private async Task WatchdogAsync(SessionState state, TaskCompletionSource<string> ended, CancellationToken cancellationToken)
    {
        var settings = _config.Connection;
        try
        {
            while (true)
            {
                await Task.Delay(settings.KeepAliveInterval, _time, cancellationToken).ConfigureAwait(false);
                var frames = state.Session.Activity;
                await state.Connection.SendAsync(["PING"], cancellationToken).ConfigureAwait(false);
                await Task.Delay(settings.KeepAliveTimeout, _time, cancellationToken).ConfigureAwait(false);
                if (state.Session.Activity == frames && !state.Session.Stalled)
                {
                    ended.TrySetResult($"no answer to a keepalive PING within {settings.KeepAliveTimeout.TotalSeconds:0.#} s");
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Session over.
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            ended.TrySetResult(ConnectionErrors.Describe(ex));
        }
    }

    /// <summary>["noti.subscribe", from, count, last]: where the server starts, and its last id at that moment.</summary>
    private readonly record struct Confirmation(MessageId From, MessageId Last)
    {
        public static Confirmation Parse(RespFrame reply)
        {
            if (reply.Items is { Length: 4 } items && items[0].Text == "noti.subscribe"
                && MessageId.TryParse(items[1].Text, out var from) && MessageId.TryParse(items[3].Text, out var last))
            {
                return new Confirmation(from, last);
            }

            throw new InvalidDataException(RawConnection.Describe("NOTI.SUBSCRIBE", reply));
        }
    }

    /// <summary>One plain SUBSCRIBE/PSUBSCRIBE connection through StackExchange.Redis, from connect to its end. Reports what happened; throws nothing but cancellation-free.</summary>
    private async Task RunPlainSessionAsync(ClientConfig node, string endPoint, CancellationToken cancellationToken)
    {
        ConnectionMultiplexer? multiplexer = null;
        var connected = false;
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = new List<Task>();
        try
        {
            multiplexer = await RedisConnections.ConnectAsync(node, cancellationToken).ConfigureAwait(false);
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
            workers.Add(PlainWatchdogAsync(subscriber, ended, session.Token));

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
    private async Task PlainWatchdogAsync(ISubscriber subscriber, TaskCompletionSource<string> ended, CancellationToken cancellationToken)
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
