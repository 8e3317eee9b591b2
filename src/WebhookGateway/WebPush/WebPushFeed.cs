using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Notistream.Client.Subscriptions;
using Notistream.Gateway.Options;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.Subscribing;
using StackExchange.Redis;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// What Web Push sends, read from the pub/sub server for the channels and patterns the registrations
/// name. It follows them with NOTI.SUBSCRIBE from a position kept on disk, so that what is published
/// while the gateway is stopped, restarting or cut off from the server is pushed once it is back, as
/// far as the channels' history reaches; what history lost in between arrives as a gap, which the
/// next push on that channel or pattern counts in its <c>missed</c>.
/// <para>
/// Against a server that refuses NOTI.SUBSCRIBE (Redis; a channel named that keeps no history; more
/// patterns than one command takes) it falls back, until the gateway restarts, to SUBSCRIBE and
/// PSUBSCRIBE through StackExchange.Redis: then only what is published while the gateway is connected
/// is pushed, and the start-up log says so.
/// </para>
/// <para>
/// Concurrency: <see cref="RunAsync"/> is one loop that alone owns the server connection, the cursor
/// and the cursor file. The registrations change on request threads; they only <see cref="Wake"/> the
/// loop, which then re-reads <see cref="WebPushSubscriptionStore.Current"/> and follows the new set from
/// its cursor. Followed messages are written to <c>incoming</c> waiting when it is full (the server
/// sends a follower more only as it reads, so nothing is lost and the server holds the rest);
/// subscribed ones (the fallback) only if there is room, else counted by <c>dropped</c>.
/// </para>
/// </summary>
internal sealed class WebPushFeed(
    GatewayOptions gateway,
    WebPushSubscriptionStore store,
    string cursorFile,
    ChannelWriter<IncomingMessage> incoming,
    Action dropped,
    ILogger logger,
    ILoggerFactory loggerFactory) : IAsyncDisposable
{
    /// <summary>The cursor file is rewritten at most this often while messages arrive, and when the loop ends.</summary>
    private static readonly TimeSpan _saveInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan _retryDelay = TimeSpan.FromSeconds(5);

    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private ConnectionMultiplexer? _multiplexer;

    // Owned by RunAsync.
    private string _cursor = "$";
    private string? _saved;
    private long _savedAt;

    /// <summary>The registrations changed: follow what they name now.</summary>
    public void Wake() => _changed.Writer.TryWrite(true);

    public async Task RunAsync(CancellationToken stopping)
    {
        _cursor = LoadCursor() ?? "$";
        _saved = _cursor;
        try
        {
            while (true)
            {
                _changed.Reader.TryRead(out _); // a change after this read wakes the session that follows
                var entries = store.Current.Values.SelectMany(r => r.Channels).ToHashSet(StringComparer.Ordinal);
                if (entries.Count == 0)
                {
                    await _changed.Reader.WaitToReadAsync(stopping).ConfigureAwait(false);
                    continue;
                }

                string? refused;
                try
                {
                    refused = await FollowAsync(entries, stopping).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stopping.IsCancellationRequested && ex is IOException or EndOfStreamException
                    or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidDataException or TimeoutException
                    or FollowRefusedException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
                {
                    WebPushLog.FollowInterrupted(logger, ex.Message, (int)_retryDelay.TotalSeconds);
                    SaveCursor(force: true);
                    await Task.Delay(_retryDelay, stopping).ConfigureAwait(false);
                    continue;
                }

                if (refused is not null)
                {
                    WebPushLog.FollowRefused(logger, refused);
                    await SubscribeAsync(stopping).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            SaveCursor(force: true);
        }
    }

    /// <summary>
    /// Follows <paramref name="entries"/> until they change (null) or the server refuses NOTI.SUBSCRIBE
    /// (its error); throws when the connection fails.
    /// </summary>
    private async Task<string?> FollowAsync(HashSet<string> entries, CancellationToken stopping)
    {
        var connection = await FollowConnection.ConnectAsync(gateway, stopping).ConfigureAwait(false);
        await using var _ = connection.ConfigureAwait(false);
        var channels = entries.Where(e => !WebPushRegistration.IsPattern(e)).Order(StringComparer.Ordinal).ToList();
        var patterns = entries.Where(WebPushRegistration.IsPattern).Order(StringComparer.Ordinal).ToList();
        var command = new List<string> { "NOTI.SUBSCRIBE", _cursor };
        if (channels.Count > 0)
        {
            command.AddRange(["CHANNELS", channels.Count.ToString(CultureInfo.InvariantCulture), .. channels]);
        }

        if (patterns.Count > 0)
        {
            command.AddRange(["PATTERNS", patterns.Count.ToString(CultureInfo.InvariantCulture), .. patterns]);
        }

        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping))
        {
            timeout.CancelAfter(gateway.ConnectTimeoutMilliseconds);
            await connection.SendAsync(command, timeout.Token).ConfigureAwait(false);
            var reply = await connection.ReadAsync(timeout.Token).ConfigureAwait(false);
            if (reply.IsError)
            {
                return reply.Text!;
            }

            if (reply.Items is not { Length: 4 } confirmation || confirmation[0].Text != "noti.subscribe" || confirmation[1].Text is not { } from)
            {
                throw new InvalidDataException($"unexpected answer to NOTI.SUBSCRIBE: {reply}");
            }

            // From "$", or from a cursor this server never gave: where it starts is where a restart resumes.
            _cursor = from;
        }

        using var session = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var watcher = CancelOnChangeAsync(session);
        try
        {
            while (true)
            {
                var frame = await connection.ReadAsync(session.Token).ConfigureAwait(false);
                if (frame.IsError)
                {
                    throw new FollowRefusedException($"the server ended the follow: {frame.Text}");
                }

                if (frame.Items is not { Length: > 0 } items)
                {
                    continue;
                }

                var message = items[0].Text switch
                {
                    "noti.message" when items.Length == 4 => Message(items[1].Text!, items[1].Text!, items[2].Text!, items[3].Bytes),
                    "noti.pmessage" when items.Length == 5 => Message(items[2].Text!, items[1].Text!, items[3].Text!, items[4].Bytes),
                    // A count, or null when the server no longer knows how many: at least one.
                    "noti.gap" when items.Length == 3 => new IncomingMessage(items[1].Text!, [], items[1].Text!, DateTimeOffset.UtcNow)
                    {
                        Gap = items[2].Kind == RespKind.Integer ? (int)Math.Clamp(items[2].Integer, 1, int.MaxValue) : 1,
                    },
                    _ => null, // noti.caughtup, a PONG
                };
                if (message is null)
                {
                    continue;
                }

                await incoming.WriteAsync(message, session.Token).ConfigureAwait(false);
                if (message.Id is { } id)
                {
                    _cursor = id;
                    SaveCursor(force: false);
                }
            }
        }
        catch (OperationCanceledException) when (session.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            return null; // the registrations changed: follow the new set from the cursor
        }
        finally
        {
            await session.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task CancelOnChangeAsync(CancellationTokenSource session)
    {
        if (await _changed.Reader.WaitToReadAsync(session.Token).ConfigureAwait(false))
        {
            await session.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A followed message, timed by its id (milliseconds since the epoch, then a sequence number).</summary>
    private static IncomingMessage Message(string channel, string source, string id, byte[]? payload)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        var time = long.TryParse(dash < 0 ? id : id[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : DateTimeOffset.UtcNow;
        return new IncomingMessage(channel, payload ?? [], source, time) { Id = id };
    }

    private string? LoadCursor()
    {
        try
        {
            var text = File.ReadAllText(cursorFile).Trim();
            if (System.Text.RegularExpressions.Regex.IsMatch(text, @"^[0-9]{1,20}(-[0-9]{1,20})?$"))
            {
                return text;
            }

            WebPushLog.CursorUnreadable(logger, cursorFile);
            return null;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Writes the cursor when it moved, at most every <see cref="_saveInterval"/> unless <paramref name="force"/>.</summary>
    private void SaveCursor(bool force)
    {
        if (_cursor == _saved || _cursor == "$" || (!force && Environment.TickCount64 - _savedAt < _saveInterval.TotalMilliseconds))
        {
            return;
        }

        try
        {
            WebPushFiles.WriteAtomically(cursorFile, _cursor + "\n");
            _saved = _cursor;
            _savedAt = Environment.TickCount64;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Pushes go on; a restart resumes from the last position written, sending some again.
            WebPushLog.CursorNotSaved(logger, cursorFile, ex.Message);
            _savedAt = Environment.TickCount64;
        }
    }

    /// <summary>The fallback: SUBSCRIBE and PSUBSCRIBE kept equal to what the registrations name, until stopping.</summary>
    private async Task SubscribeAsync(CancellationToken stopping)
    {
        var configuration = new RedisPublisher(Microsoft.Extensions.Options.Options.Create(gateway), NullLogger<RedisPublisher>.Instance, loggerFactory)
            .CreateConfiguration();
        configuration.ClientName = "notistream-gateway-webpush";
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(stopping).ConfigureAwait(false);
        _multiplexer = multiplexer;
        multiplexer.ConnectionRestored += (_, _) => Wake();
        Wake();
        var subscriber = multiplexer.GetSubscriber();
        var current = new Dictionary<string, ChannelMessageQueue>(StringComparer.Ordinal);
        while (await _changed.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
        {
            _changed.Reader.TryRead(out _);
            var wanted = store.Current.Values.SelectMany(r => r.Channels).ToHashSet(StringComparer.Ordinal);
            var failed = false;
            foreach (var (entry, queue) in current.Where(pair => !wanted.Contains(pair.Key)).ToList())
            {
                try
                {
                    await queue.UnsubscribeAsync().ConfigureAwait(false);
                    current.Remove(entry);
                }
                catch (RedisException ex)
                {
                    WebPushLog.SubscribeFailed(logger, "unsubscribe from", entry, ex.Message);
                    failed = true;
                }
            }

            foreach (var entry in wanted.Where(entry => !current.ContainsKey(entry)))
            {
                try
                {
                    var channel = WebPushRegistration.IsPattern(entry) ? RedisChannel.Pattern(entry) : RedisChannel.Literal(entry);
                    var queue = await subscriber.SubscribeAsync(channel).ConfigureAwait(false);
                    // In order, one message at a time; OnMessage only queues it.
                    queue.OnMessage(message => OnMessage(message, entry));
                    current[entry] = queue;
                }
                catch (RedisException ex)
                {
                    WebPushLog.SubscribeFailed(logger, "subscribe to", entry, ex.Message);
                    failed = true;
                }
            }

            if (failed)
            {
                _ = WakeLaterAsync(stopping);
            }
        }
    }

    private async Task WakeLaterAsync(CancellationToken stopping)
    {
        await Task.Delay(_retryDelay, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Wake();
    }

    /// <summary>On StackExchange.Redis's side: queue and return, never wait.</summary>
    private void OnMessage(ChannelMessage message, string source)
    {
        if (!message.Message.IsNull && !incoming.TryWrite(new IncomingMessage(message.Channel.ToString(), (byte[])message.Message!, source, DateTimeOffset.UtcNow)))
        {
            dropped();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _multiplexer, null) is { } multiplexer)
        {
            await multiplexer.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
