using System.Globalization;
using System.Threading.Channels;
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
/// next push on that channel or pattern counts in its <c>missed</c>. The position kept is
/// <see cref="PushPosition.Committed"/>: a message still waiting to be pushed holds it back.
/// <para>
/// What the server cannot follow is subscribed with SUBSCRIBE and PSUBSCRIBE through StackExchange.Redis
/// until the gateway restarts, and the log says so: everything, against a server that does not know
/// NOTI.SUBSCRIBE (Redis); the named channels that keep no history, found one by one, otherwise. Other
/// refusals (a permission, a limit, a full server) are tried again after a pause, still following.
/// </para>
/// <para>
/// Concurrency: <see cref="RunAsync"/> is one loop that alone owns the follow connection, the cursor,
/// the position file and the choice of what is subscribed instead (which it publishes to the SUBSCRIBE
/// loop by replacing <see cref="_noFollowShared"/> and <see cref="_plainShared"/> whole). The
/// registrations change on request threads; they only <see cref="Wake"/> the loop, which then re-reads
/// <see cref="WebPushSubscriptionStore.Current"/> and follows the new set from its cursor. Followed
/// messages are written to <c>incoming</c> waiting when it is full (the server sends a follower more
/// only as it reads, so nothing is lost and the server holds the rest); subscribed ones only if there
/// is room, else counted by <c>dropped</c>.
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
    private static readonly TimeSpan _connectPoll = TimeSpan.FromMilliseconds(250); // until the subscription connection is up

    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<bool> _plainChanged = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // Written by the follow loop (RunAsync), whole; read by the SUBSCRIBE loop.
    private volatile bool _noFollowShared;
    private volatile IReadOnlySet<string> _plainShared = new HashSet<string>();
    private ConnectionMultiplexer? _multiplexer;

    // Owned by RunAsync.
    private string _cursor = "$"; // where the next NOTI.SUBSCRIBE starts: the last message handed on
    private PushPosition _position = new(null); // where a restart starts: what every message up to has been dealt with
    private readonly HashSet<string> _plain = new(StringComparer.Ordinal); // named channels the server keeps no history for
    private bool _noFollow; // the server does not know NOTI.SUBSCRIBE
    private string? _saved;
    private long _savedAt;

    // Several servers: the position belongs to a history (SharedHistoryFollow.Key): a node's own, in a file of
    // its own (CursorFile), or the one nodes of a cluster share (the same ids on each), in the single file.
    // _key is the history _cursor, _position and _saved belong to (null before the first node was reached),
    // _node the node followed now, _others the positions of the histories followed before in this run. All
    // written by the follow loop alone.
    private string _node = gateway.Servers.InUse;
    private string? _key = gateway.Servers.Count == 1 ? gateway.Servers.InUse : null;
    private readonly Dictionary<string, (string Cursor, PushPosition Position, string? Saved)> _others = new(StringComparer.Ordinal);
    private bool _followed; // a follow confirmed in this run: every move to another node is a gap then
    private long _lastFollowStart = long.MinValue / 2;

    /// <summary>
    /// The position file of the history <paramref name="key"/> (<see cref="SharedHistoryFollow.Key"/>): the one file
    /// with one server, and for a shared history; one per node with several, for a node's own.
    /// </summary>
    internal string CursorFile(string key) =>
        gateway.Servers.Count == 1 || SharedHistoryFollow.IsShared(key) ? cursorFile : $"{cursorFile}.{SafeName(key)}";

    private static string SafeName(string node) =>
        new([.. node.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '_')]);

    /// <summary>The position a restart would resume from (tests).</summary>
    internal PushPosition Position => _position;

    /// <summary>
    /// How the SUBSCRIBE loop subscribes one channel or pattern: StackExchange.Redis's own call; tests replace
    /// it (before the first registration) to make a subscribe fail after the client has taken it. Set before
    /// the SUBSCRIBE loop starts, read by that loop alone.
    /// </summary>
    internal Func<ISubscriber, RedisChannel, Task<ChannelMessageQueue>> Subscribe { get; set; } =
        (subscriber, channel) => subscriber.SubscribeAsync(channel);

    /// <summary>The registrations changed: follow what they name now.</summary>
    public void Wake() => _changed.Writer.TryWrite(true);

    public async Task RunAsync(CancellationToken stopping)
    {
        if (_key is not null)
        {
            // One server. With several, the first node reached says whose position to load (UseNode).
            try
            {
                _cursor = LoadCursor(_key, _node) ?? "$";
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                WebPushLog.CursorUnreadable(logger, CursorFile(_key));
                _cursor = "$";
            }

            _position = new PushPosition(_cursor == "$" ? null : _cursor);
            _saved = _cursor;
        }
        Task? plain = null;
        try
        {
            while (true)
            {
                _changed.Reader.TryRead(out _); // a change after this read wakes the session that follows
                var entries = store.Current.Values.SelectMany(r => r.Channels).ToHashSet(StringComparer.Ordinal);
                if (_noFollow || _plain.Count > 0)
                {
                    // Channels the server cannot follow: SUBSCRIBE, beside the follow, until the gateway restarts.
                    _noFollowShared = _noFollow;
                    _plainShared = new HashSet<string>(_plain, StringComparer.Ordinal);
                    plain ??= Task.Run(() => SubscribeAsync(stopping), CancellationToken.None);
                    _plainChanged.Writer.TryWrite(true);
                }

                entries.ExceptWith(_plain);
                if (_noFollow || entries.Count == 0)
                {
                    await _changed.Reader.WaitToReadAsync(stopping).ConfigureAwait(false);
                    continue;
                }

                try
                {
                    var refused = await FollowAsync(entries, stopping).ConfigureAwait(false);
                    if (refused is not null)
                    {
                        await OnRefusedAsync(refused, entries, stopping).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    throw;
                }
                catch (FollowLostException lost)
                {
                    // The connection to the node in use went away, and there are other nodes: follow on the node in
                    // use now (another, once the publisher has seen the loss), from that node's own position; but
                    // not in a tight loop when every node accepts and then drops at once.
                    WebPushLog.FollowMoved(logger, lost.Server, lost.Message);
                    SaveCursor(force: true);
                    if (Environment.TickCount64 - _lastFollowStart < _retryDelay.TotalMilliseconds)
                    {
                        await Task.Delay(_retryDelay, stopping).ConfigureAwait(false);
                    }
                }
                catch (Exception ex)
                {
                    // A lost connection, a bad frame, or anything else: never the end of Web Push.
                    WebPushLog.FollowInterrupted(logger, ex.Message, (int)_retryDelay.TotalSeconds);
                    SaveCursor(force: true);
                    await Task.Delay(_retryDelay, stopping).ConfigureAwait(false);
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
            if (plain is not null)
            {
                await plain.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>
    /// The server refused NOTI.SUBSCRIBE. Not knowing the command (Redis): SUBSCRIBE everything from now on,
    /// and forget the position (it would be stale when a later start follows again). A named channel without
    /// history: find which, one NOTI.SUBSCRIBE each, and SUBSCRIBE those alone. Anything else (a permission,
    /// a limit, a busy server): try again later, following.
    /// </summary>
    private async Task OnRefusedAsync(string refused, HashSet<string> entries, CancellationToken stopping)
    {
        if (refused.StartsWith("ERR unknown command", StringComparison.OrdinalIgnoreCase))
        {
            WebPushLog.FollowRefused(logger, refused);
            _noFollow = true;
            ForgetCursor();
            Wake();
            return;
        }

        if (refused.Contains("keeps no history", StringComparison.Ordinal))
        {
            var without = await ChannelsWithoutHistoryAsync(entries.Where(e => !WebPushRegistration.IsPattern(e)), stopping).ConfigureAwait(false);
            if (without.Count > 0)
            {
                WebPushLog.FollowRefused(logger, $"{refused}; subscribed instead: {string.Join(", ", without)}");
                _plain.UnionWith(without);
                Wake();
                return;
            }
        }

        WebPushLog.FollowInterrupted(logger, refused, (int)_retryDelay.TotalSeconds);
        await Task.Delay(_retryDelay, stopping).ConfigureAwait(false);
    }

    /// <summary>
    /// Which of <paramref name="channels"/> NOTI.SUBSCRIBE refuses for want of history: one try each. A refused
    /// try leaves the connection as it was, so the next try uses it; an accepted one leaves it following, so
    /// the next try opens another (RESET would end the follow, but also log the connection out).
    /// </summary>
    private async Task<List<string>> ChannelsWithoutHistoryAsync(IEnumerable<string> channels, CancellationToken stopping)
    {
        var without = new List<string>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(gateway.ConnectTimeoutMilliseconds * 4);
        FollowConnection? connection = null;
        try
        {
            foreach (var channel in channels)
            {
                connection ??= await FollowConnection.ConnectAsync(gateway, timeout.Token).ConfigureAwait(false);
                await connection.SendAsync(["NOTI.SUBSCRIBE", "$", "CHANNELS", "1", channel], timeout.Token).ConfigureAwait(false);
                var reply = await connection.ReadAsync(timeout.Token).ConfigureAwait(false);
                if (reply.IsError)
                {
                    if (reply.Text!.Contains("keeps no history", StringComparison.Ordinal))
                    {
                        without.Add(channel);
                    }

                    continue;
                }

                await connection.DisposeAsync().ConfigureAwait(false);
                connection = null;
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }

        return without;
    }

    /// <summary>
    /// Follows <paramref name="entries"/> until they change (null) or the server refuses NOTI.SUBSCRIBE
    /// (its error); throws when the connection fails.
    /// </summary>
    private async Task<string?> FollowAsync(HashSet<string> entries, CancellationToken stopping)
    {
        var moved = gateway.Servers.Moved; // before choosing: a move after this ends the follow below
        _lastFollowStart = Environment.TickCount64;
        var connection = await FollowConnection.ConnectAsync(gateway, stopping).ConfigureAwait(false);
        try
        {
            return await FollowOnAsync(connection, entries, moved, stopping).ConfigureAwait(false);
        }
        finally
        {
            await _follow.DisposeAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false); // disposed already when replaced
        }
    }

    private FollowConnection _follow = null!; // the follow connection in use now: FollowOnAsync's, replaced when it asks again

    /// <summary>Follows on <paramref name="connection"/>'s node: see <see cref="FollowAsync(HashSet{string}, CancellationToken)"/>.</summary>
    private async Task<string?> FollowOnAsync(FollowConnection connection, HashSet<string> entries, CancellationToken moved, CancellationToken stopping)
    {
        _follow = connection;
        string? history = null;
        if (gateway.Servers.Count > 1)
        {
            // Whose history this node has: a cursor of another node of the same shared history is valid here.
            history = await connection.SharedHistoryAsync(gateway.ConnectTimeoutMilliseconds, stopping).ConfigureAwait(false);
        }

        var gap = UseNode(connection.Server, history);
        moved = HttpSubscription.Current(gateway.Servers, connection.Server, moved);
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

        string? floor = null; // messages up to this id were handed on already
        (connection, var reply) = await SharedHistoryFollow.SubscribeAsync(gateway, connection, command, _cursor, history, stopping).ConfigureAwait(false);
        _follow = connection;
        if (reply.IsError)
        {
            return reply.Text!;
        }

        if (reply.Items is not { Length: 4 } confirmation || confirmation[0].Text != "noti.subscribe" || confirmation[1].Text is not { } from)
        {
            throw new InvalidDataException($"unexpected answer to NOTI.SUBSCRIBE: {reply}");
        }

        if (history is not null && SharedHistoryFollow.IsBehind(reply, _cursor))
        {
            // A node of the shared history still behind the cursor after the wait: it sends what was handed
            // on already again (dropped below), and its gap.
            floor = _cursor;
        }
        else
        {
            // From "$", or from a cursor this server never gave: where it starts is where a restart resumes.
            _cursor = from;
        }

        _position.Passed(from);
        _followed = true;

        if (gateway.Servers.Count > 1)
        {
            WebPushLog.Following(logger, connection.Server, _cursor);
        }

        if (gap)
        {
            // A move: what the old node may still have had, and (without a position here) what this one had
            // meanwhile, are not known, nor how much.
            foreach (var entry in entries)
            {
                await incoming.WriteAsync(new IncomingMessage(entry, [], entry, DateTimeOffset.UtcNow) { Gap = 1 }, stopping).ConfigureAwait(false);
            }
        }

        using var session = gateway.Servers.Count > 1
            ? CancellationTokenSource.CreateLinkedTokenSource(stopping, moved)
            : CancellationTokenSource.CreateLinkedTokenSource(stopping);
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

                if (items is [{ Text: "noti.caughtup" }, { Text: { } caughtUp }])
                {
                    // Nothing more up to that id: a channel that is quiet for a month does not keep the
                    // position a month back, for a restart or a new registration to replay.
                    if (PushPosition.Compare(caughtUp, _cursor) > 0)
                    {
                        _cursor = caughtUp;
                    }

                    _position.Passed(caughtUp);
                    SaveCursor(force: false);
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
                if (message is null || message.Id is { } seen && !SharedHistoryFollow.IsAfter(seen, floor))
                {
                    continue;
                }

                var receipt = message.Id is { } id ? _position.Read(id) : null;
                try
                {
                    await incoming.WriteAsync(message with { Receipt = receipt }, session.Token).ConfigureAwait(false);
                }
                catch
                {
                    receipt?.Abandon(); // read again by the next follow, from the cursor
                    throw;
                }

                if (receipt is not null)
                {
                    _cursor = receipt.Id;
                    SaveCursor(force: false);
                }
            }
        }
        catch (OperationCanceledException) when (session.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            return null; // the registrations changed, or the node in use did: follow again from that node's cursor
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException or System.Net.Sockets.SocketException)
        {
            if (gateway.Servers.Count > 1)
            {
                throw new FollowLostException(connection.Server, ex.Message, ex);
            }

            throw;
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

    /// <summary>
    /// Makes the position of <paramref name="node"/>'s history (its own, or the <paramref name="history"/> it shares)
    /// the one followed from, keeping the previous one for a move back. The same history (the same node, or
    /// another node of the same shared history): the position carries over, no gap. True when this is a move to
    /// another history after a follow in this run: a gap of unknown size (from now when that history has no
    /// position, else from its position).
    /// </summary>
    private bool UseNode(string node, string? history)
    {
        var key = gateway.Servers.Count == 1 ? node : SharedHistoryFollow.Key(node, history);
        _node = node;
        if (key == _key)
        {
            return false;
        }

        if (_key is not null)
        {
            SaveCursor(force: true);
            _others[_key] = (_cursor, _position, _saved);
        }

        _key = key;

        // Every move to another history after a follow in this run is a gap: what the old node still had unread
        // is not followed here, whether or not this history has a position.
        if (_others.Remove(key, out var kept))
        {
            (_cursor, _position, _saved) = kept;
            return _followed;
        }

        string? loaded;
        try
        {
            loaded = LoadCursor(key, node);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WebPushLog.CursorUnreadable(logger, CursorFile(key));
            loaded = null;
        }

        _cursor = loaded ?? "$";
        _position = new PushPosition(loaded);
        _saved = loaded;
        return _followed;
    }

    /// <summary>
    /// The position in the file of history <paramref name="key"/>. A shared history without that file takes the
    /// one of <paramref name="node"/>'s own file, if any: written when the nodes' sharing was not looked at, its
    /// ids are the shared history's as well.
    /// </summary>
    private string? LoadCursor(string key, string node)
    {
        var cursor = LoadCursor(CursorFile(key), out var found);
        return found || !SharedHistoryFollow.IsShared(key) ? cursor : LoadCursor(CursorFile(node), out _);
    }

    private string? LoadCursor(string cursorFile, out bool found)
    {
        found = true;
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
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            found = false;
            return null;
        }
    }

    /// <summary>Following is over for this run: the kept position would only replay old history at the next start.</summary>
    private void ForgetCursor()
    {
        if (_key is null)
        {
            return;
        }

        var cursorFile = CursorFile(_key);
        try
        {
            File.Delete(cursorFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            WebPushLog.CursorNotSaved(logger, cursorFile, ex.Message);
        }

        _position = new PushPosition(null);
        _saved = null;
    }

    /// <summary>
    /// Writes the committed position (<see cref="PushPosition.Committed"/>) when it moved, at most every
    /// <see cref="_saveInterval"/> unless <paramref name="force"/>: the node followed now's, and those of the
    /// nodes left in this run (<see cref="_others"/>), whose pushes still in flight commit after the move.
    /// </summary>
    private void SaveCursor(bool force)
    {
        if (!force && Environment.TickCount64 - _savedAt < _saveInterval.TotalMilliseconds)
        {
            return;
        }

        if (_key is not null)
        {
            _saved = SaveCursor(_key, _position.Committed, _saved);
        }

        foreach (var key in _others.Keys.ToList())
        {
            var (cursor, position, saved) = _others[key];
            var written = SaveCursor(key, position.Committed, saved);
            if (written != saved)
            {
                _others[key] = (cursor, position, written);
            }
        }
    }

    /// <summary>Writes <paramref name="committed"/> to the position file of history <paramref name="key"/> unless already saved; returns what is saved now.</summary>
    private string? SaveCursor(string key, string? committed, string? saved)
    {
        if (committed is null || committed == saved)
        {
            return saved;
        }

        var cursorFile = CursorFile(key);
        try
        {
            WebPushFiles.WriteAtomically(cursorFile, committed + "\n");
            _savedAt = Environment.TickCount64;
            return committed;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Pushes go on; a restart resumes from the last position written, pushing some again.
            WebPushLog.CursorNotSaved(logger, cursorFile, ex.Message);
            _savedAt = Environment.TickCount64;
            return saved;
        }
    }

    /// <summary>
    /// SUBSCRIBE and PSUBSCRIBE kept equal to what the registrations name that cannot be followed — all of it
    /// when the server does not know NOTI.SUBSCRIBE, else the named channels without history — until stopping.
    /// Its own loop, woken through <see cref="_plainChanged"/>; it reads the follow loop's decisions from
    /// <see cref="_noFollowShared"/> and <see cref="_plainShared"/>, which that loop replaces whole.
    /// </summary>
    private async Task SubscribeAsync(CancellationToken stopping)
    {
        // The node in use now: the one publishing goes to (histories and subscriptions are per node).
        var configuration = RedisPublisher.CreateConfiguration(gateway, gateway.Servers.InUse, loggerFactory);
        configuration.ClientName = "notistream-gateway-webpush";
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        _multiplexer = multiplexer;
        multiplexer.ConnectionRestored += (_, _) => _plainChanged.Writer.TryWrite(true);
        var subscriber = multiplexer.GetSubscriber();
        var current = new Dictionary<string, ChannelMessageQueue>(StringComparer.Ordinal);
        try
        {
            while (await _plainChanged.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                _plainChanged.Reader.TryRead(out _);
                var wanted = store.Current.Values.SelectMany(r => r.Channels).ToHashSet(StringComparer.Ordinal);
                if (!_noFollowShared)
                {
                    wanted.IntersectWith(_plainShared);
                }

                var failed = false;
                var notConnected = false;
                foreach (var (entry, queue) in current.Where(pair => !wanted.Contains(pair.Key)).ToList())
                {
                    try
                    {
                        await queue.UnsubscribeAsync().ConfigureAwait(false);
                        current.Remove(entry);
                    }
                    catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
                    {
                        WebPushLog.SubscribeFailed(logger, "unsubscribe from", entry, ex.Message);
                        failed = true;
                    }
                }

                foreach (var entry in wanted.Where(entry => !current.ContainsKey(entry)))
                {
                    var channel = WebPushRegistration.IsPattern(entry) ? RedisChannel.Pattern(entry) : RedisChannel.Literal(entry);
                    if (!subscriber.IsConnected(channel))
                    {
                        // The subscription connection is not up yet (just started, or reconnecting): a SUBSCRIBE
                        // now fails, and may still reach the server once it is, then be undone by ForgetAsync.
                        // Tried again soon instead.
                        notConnected = true;
                        continue;
                    }

                    try
                    {
                        var queue = await Subscribe(subscriber, channel).ConfigureAwait(false);
                        // In order, one message at a time; OnMessage only queues it.
                        queue.OnMessage(message => OnMessage(message, entry));
                        current[entry] = queue;
                    }
                    catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
                    {
                        // A timeout too (not a RedisException): the answer may still come, and the server subscribe.
                        await ForgetAsync(subscriber, channel).ConfigureAwait(false);
                        WebPushLog.SubscribeFailed(logger, "subscribe to", entry, ex.Message);
                        failed = true;
                    }
                }

                if (failed || notConnected)
                {
                    _ = WakeLaterAsync(failed ? _retryDelay : _connectPoll, stopping);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <summary>
    /// After a failed subscribe: StackExchange.Redis registers the queue it returns before it sends SUBSCRIBE,
    /// and keeps it when the call fails (a timeout, or no subscription connection yet), subscribing it again
    /// by itself once connected. Nothing reads that queue, so the server would count a subscriber while every
    /// message went there until the retry; nothing reads it then either, and it grows. Every queue of
    /// <paramref name="channel"/> is dropped here, and the server unsubscribed; the retry subscribes afresh.
    /// </summary>
    private static async Task ForgetAsync(ISubscriber subscriber, RedisChannel channel)
    {
        try
        {
            // Without a handler or a queue: all of the channel's, the client's record of it first, then the server's.
            await subscriber.UnsubscribeAsync(channel).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            // The client's record is gone already; a server still subscribed sends what the client drops.
        }
    }

    private async Task WakeLaterAsync(TimeSpan delay, CancellationToken stopping)
    {
        await Task.Delay(delay, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _plainChanged.Writer.TryWrite(true);
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

/// <summary>The follow connection to <see cref="Server"/> ended, and the gateway has other servers to follow on.</summary>
internal sealed class FollowLostException(string server, string message, Exception inner) : Exception(message, inner)
{
    public string Server { get; } = server;
}
