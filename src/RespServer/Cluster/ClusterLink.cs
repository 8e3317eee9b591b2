using System.Buffers;
using System.Buffers.Binary;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// This node's link to the other nodes through NATS (docs/cluster.md): what local clients publish goes
/// out, what remote nodes publish to channels local clients want comes in. Three tasks own that, each
/// with one queue (two more run the interest gossip, ClusterLink.Gossip.cs):
/// <list type="bullet">
/// <item>the forwarder drains <see cref="_outbound"/> (bounded; any read loop adds with a non-blocking
/// <see cref="TryForward"/>, FIFO, so one publisher's messages leave in order) into NATS, one publish at a time,
/// numbering each channel's messages in its own <see cref="NumberingTable"/> and sending the gap and tail
/// messages (docs/cluster.md#ordering-and-loss);</item>
/// <item>the interest task follows the registry's first-subscriber and last-subscriber changes
/// (<see cref="_dirtyChannels"/>, shard channels among them, <see cref="_dirtyPatterns"/>, posted under the registry's lock, deduplicated)
/// and adds or removes the NATS subscriptions; it alone does subscription I/O, and after new ones it
/// flushes (PING) and probes the other nodes before it lets the SUBSCRIBEs waiting for them go on;</item>
/// <item>the delivery task reads <see cref="_inbound"/> (bounded, filled by NATS's reader, which waits
/// when it is full) and delivers to local subscribers through its own <see cref="DeliveryBatch"/>, as a
/// connection's read loop does, so the unsubscribe-confirmation ordering (I4) holds for remote messages too.</item>
/// <item>NATS's reader checks each message's number against <see cref="_tracker"/> before it queues it.</item>
/// </list>
/// </summary>
internal sealed partial class ClusterLink : IInterestListener, IAsyncDisposable
{
    /// <summary>Messages waiting to go to NATS; past it (or past <see cref="OutboundMaxBytes"/>) a message is not forwarded, and counted.</summary>
    public const int OutboundCapacity = 65_536;

    public const long OutboundMaxBytes = 64L * 1024 * 1024;

    /// <summary>Messages received from NATS waiting for delivery; NATS's reader waits when it is full.</summary>
    public const int InboundCapacity = 8_192;

    /// <summary>A PING unanswered for this long fails the interest round, which is then tried again.</summary>
    private static readonly TimeSpan PingLimit = TimeSpan.FromSeconds(5);

    /// <summary>Least time between two interest rounds (ms): changes made meanwhile share one PING and probe.</summary>
    private const int MinRoundInterval = 10;

    /// <summary>Most remote messages delivered in one batch before its deliveries are sent.</summary>
    private const int DeliveriesPerBatch = 1_024;

    /// <summary>Channels the forwarder numbers at once; past it (or past <see cref="NumberedMaxBytes"/>) it starts a new epoch.</summary>
    public const int NumberedCapacity = 65_536;

    public const long NumberedMaxBytes = 32L * 1024 * 1024;

    /// <summary>Distinct channels whose unforwarded messages are remembered for a gap message; past it they are only counted here.</summary>
    public const int DropRecordCapacity = 65_536;

    public const long DropRecordMaxBytes = 16L * 1024 * 1024;

    /// <summary>Most tail messages (a channel's last number, after it went quiet) the forwarder sends a second.</summary>
    public const int TailsPerSecond = 1_000;

    /// <summary>NATS's default max_payload, used until a server has said its own.</summary>
    private const int DefaultMaxPayload = 1024 * 1024;

    private readonly ServerContext _server;
    private readonly ClusterOptions _options;
    private readonly ILogger _logger;
    private readonly NatsConnection _connection;
    private readonly Channel<Outgoing> _outbound = Channel.CreateBounded<Outgoing>(
        new BoundedChannelOptions(OutboundCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Channel<Incoming> _inbound = Channel.CreateBounded<Incoming>(
        new BoundedChannelOptions(InboundCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly object _dirtyLock = new();
    private HashSet<ChannelKey> _dirtyChannels = new(ChannelKey.Comparer);
    private HashSet<byte[]> _dirtyPatterns = new(ByteArrayComparer.Instance);
    // Capacity 1, DropWrite, as the gossip's signal: TryWrite never throws nor waits (it runs under the
    // registry's write lock, once for every name a SUBSCRIBE adds). Written by subscribe/unsubscribe and
    // reconnects; read by the interest task alone.
    private readonly Channel<bool> _interestSignal = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Stops the gossip send task alone, before the goodbye is sent.</summary>
    private readonly CancellationTokenSource _gossipSendStop = new();
    private Task _gossipSender = Task.CompletedTask;
    private readonly List<Task> _tasks = [];
    private Task _forwarder = Task.CompletedTask;

    // The interest task's own state.
    private readonly Dictionary<ChannelKey, ClusterSubscription> _exact = new(ChannelKey.Comparer);
    private readonly Dictionary<byte[], byte[]> _patternScopes = new(ByteArrayComparer.Instance);
    private readonly Dictionary<string, (int Patterns, ClusterSubscription Subscription)> _wildcards = new(StringComparer.Ordinal);
    private ClusterSubscription? _hashedWildcard;
    private bool _roundSubscribed;
    private long _lastRound = long.MinValue / 2;

    // Loss accounting (docs/cluster.md#ordering-and-loss). _origin is this node's key in every forwarded
    // message's header; _tracker counts what other nodes' numbers say this node missed. Under _dropLock:
    // per channel, the messages not forwarded since the forwarder last sent their gap (written by Drop on
    // any read loop and by the forwarder, taken whole by the forwarder); _gapsPending says it is not empty.
    private readonly ulong _origin;
    private readonly SequenceTracker _tracker = new();
    private readonly Lock _dropLock = new();
    private Dictionary<ChannelKey, long> _droppedChannels = new(ChannelKey.Comparer);
    private long _droppedChannelBytes;
    private volatile bool _gapsPending;

    // Set by the forwarder while it has channels to send tails for; the gossip timer then wakes it once a second.
    private volatile bool _tailsPending;
    private long _lastTailWake;

    private long _outboundBytes;
    private long _forwarded;
    private long _received;
    private long _dropped;
    private long _lastDropLog;
    private long _lastInterestFailureLog;
    private volatile int _maxPayload = DefaultMaxPayload;
    private volatile string _connectedUrl = "";
    private int _subscriptions;

    public ClusterLink(ServerContext server, ClusterOptions options)
    {
        _server = server;
        _options = options;
        _logger = server.LoggerFactory.CreateLogger("Notistream.RespServer.Cluster");
        Mapping = new SubjectMapping(options.SubjectPrefix);
        _nodeId = server.RunId;
        _origin = ForwardHeader.OriginOf(_nodeId);
        _interestRoot = options.SubjectPrefix + ".sys.i.";
        _interestSubject = _interestRoot + _nodeId;
        _requestSubject = options.SubjectPrefix + ".sys.r";
        _probeSubject = options.SubjectPrefix + ".sys.p";
        _answerRoot = options.SubjectPrefix + ".sys.a.";
        _answerSubject = _answerRoot + _nodeId;
        var opts = NatsOpts.Default with
        {
            Url = options.Servers,
            Name = $"notistream {server.RunId[..8]}",
            // Local delivery already happened: a node never gets its own messages back.
            Echo = false,
            RetryOnInitialConnect = true,
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
            // The default (DropNewest) would drop without a word; our own subscriptions wait instead.
            SubPendingChannelFullMode = BoundedChannelFullMode.Wait,
            LoggerFactory = server.LoggerFactory,
            AuthOpts = NatsAuthOpts.Default with
            {
                Username = options.User.Length > 0 ? options.User : null,
                Password = options.Password.Length > 0 ? options.Password : null,
                Token = options.Token.Length > 0 ? options.Token : null,
            },
            TlsOpts = options.TlsCaFile.Length > 0 ? NatsTlsOpts.Default with { CaFile = options.TlsCaFile } : NatsTlsOpts.Default,
        };
        _connection = new NatsConnection(opts);
        History = options.SharedHistory ? new SharedHistory(server, _connection, options, _logger) : null;
        _connection.ConnectionOpened += OnOpenedAsync;
        _connection.ConnectionDisconnected += OnDisconnectedAsync;
        _connection.ReconnectFailed += OnReconnectFailedAsync;
    }

    public SubjectMapping Mapping { get; }

    /// <summary>The cluster's channel history in JetStream (nats-history jetstream), or null when each node keeps its own.</summary>
    public SharedHistory? History { get; }

    public bool Connected => _connection.ConnectionState == NatsConnectionState.Open;

    /// <summary>Messages handed to NATS.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Messages received from NATS (from other nodes).</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Messages not forwarded: NATS was down, the outbound queue was full, or the publish failed.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Messages other nodes published that this node's NATS subscriptions should have received and did not (their numbers say so).</summary>
    public long Lost => _tracker.Lost;

    /// <summary>NATS subscriptions this node holds now (exact channels and shard channels, pattern wildcards, the hashed wildcard).</summary>
    public int Subscriptions => Volatile.Read(ref _subscriptions);

    public int OutboundQueued => _outbound.Reader.Count;

    public void Start()
    {
        var token = _stopping.Token;
        _tasks.Add(Task.Run(() => ConnectAsync(token), CancellationToken.None));
        _forwarder = Task.Run(() => ForwardLoopAsync(token), CancellationToken.None);
        _tasks.Add(_forwarder);
        _tasks.Add(Task.Run(() => InterestLoopAsync(token), CancellationToken.None));
        _tasks.Add(Task.Run(() => DeliveryLoopAsync(token), CancellationToken.None));
        var sendStop = _gossipSendStop.Token;
        _gossipSender = Task.Run(() => GossipSendLoopAsync(sendStop), CancellationToken.None);
        _tasks.Add(Task.Run(() => GossipReceiveLoopAsync(token), CancellationToken.None));
        _gossipTimer = new Timer(OnGossipTimer, null, WaitTick, WaitTick);
        History?.Start(_tasks, token);
        Log.Starting(_logger, _options.Servers, Mapping.Prefix);
    }

    /// <summary>
    /// The error a PUBLISH (<paramref name="shard"/>: an SPUBLISH) of this size gets, or null when NATS can
    /// carry it: the last max_payload a NATS server announced (1 MiB until one has), less what the message's
    /// framing takes.
    /// </summary>
    public string? RefuseSize(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, bool shard = false)
    {
        var max = _maxPayload;
        if ((long)message.Length + ForwardHeader.Length + 4 + channel.Length <= max)
        {
            return null;
        }

        _ = Mapping.SubjectFor(channel, out var hashed, shard);
        var size = (long)message.Length + SubjectMapping.Framing(channel.Length, hashed);
        return size <= max
            ? null
            : $"ERR message too large for the cluster: {size} bytes with its framing, NATS max_payload is {max}";
    }

    /// <summary>
    /// A local PUBLISH (<paramref name="shard"/>: SPUBLISH, to a shard channel), after its local delivery:
    /// queued for NATS without waiting. When NATS is not connected or the queue is full the message is not
    /// forwarded (counted, logged at most once a second) and false is returned. Called by any read loop;
    /// FIFO, so one publisher's messages leave in the order published.
    /// </summary>
    public bool TryForward(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, bool shard = false)
    {
        if (_connection.ConnectionState != NatsConnectionState.Open)
        {
            Drop("NATS is not connected", channel, numbered: false, shard);
            return false;
        }

        var size = channel.Length + message.Length;
        if (Interlocked.Add(ref _outboundBytes, size) > OutboundMaxBytes)
        {
            Interlocked.Add(ref _outboundBytes, -size);
            Drop("the outbound queue is full", channel, numbered: false, shard);
            return false;
        }

        // Room for the header (the forwarder writes it): one copy of the message, as before.
        var payload = GC.AllocateUninitializedArray<byte>(ForwardHeader.Length + message.Length);
        message.CopyTo(payload.AsSpan(ForwardHeader.Length));
        if (!_outbound.Writer.TryWrite(new Outgoing(new ChannelKey(channel.ToArray(), shard), payload)))
        {
            Interlocked.Add(ref _outboundBytes, -size);
            Drop("the outbound queue is full", channel, numbered: false, shard);
            return false;
        }

        return true;
    }

    /// <summary>The registry's hook, under its write lock: a channel's (or shard channel's) subscriber count changed (<paramref name="edge"/>: its first subscriber the other nodes count came, or its last left).</summary>
    public void ChannelInterestChanged(byte[] channel, bool edge, bool shard) => MarkDirty(new ChannelKey(channel, shard), null, edge);

    /// <summary>
    /// The registry's hook, under its write lock: a pattern's subscriber count changed (<paramref name="edge"/>:
    /// its first subscriber the other nodes count came or its last left; <paramref name="presenceChanged"/>: the
    /// pattern came or went).
    /// </summary>
    public void PatternInterestChanged(byte[] pattern, bool presenceChanged, bool edge)
    {
        if (presenceChanged)
        {
            // Under the registry's write lock (re-entered): whether the pattern is there now.
            _remote.LocalPatternChanged(pattern, _server.Registry.HasPattern(pattern));
        }

        MarkDirty(default, pattern, edge);
    }

    public async ValueTask DisposeAsync()
    {
        _outbound.Writer.TryComplete();
        ReleaseSubscribeWaits();

        // The send task ends first, so the goodbye is the last message on this node's interest stream: a
        // heartbeat after it would make the others hold this node again until it expires.
        await _gossipSendStop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _gossipSender.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }

        if (Connected && _gossipReady && _gossipSender.IsCompleted)
        {
            try
            {
                // The others forget this node's subscribers now rather than after NodeTimeout.
                await _connection.PublishAsync(_interestSubject, InterestGossip.Message(InterestGossip.Bye, 0))
                    .AsTask().WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
            }
        }

        try
        {
            // What is queued goes out while NATS is connected, for two seconds at most.
            await _forwarder.WaitAsync(TimeSpan.FromSeconds(Connected ? 2 : 0)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        History?.Stop();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_tasks).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }

        await _connection.DisposeAsync().ConfigureAwait(false);
        if (_gossipTimer is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }

        ReleaseSubscribeWaits();
        _stopping.Dispose();
        _gossipSendStop.Dispose();
        Log.Stopped(_logger, Forwarded, Received, Dropped);
    }

    /// <summary>INFO's # Cluster lines.</summary>
    public void AppendInfo(Action<string, object> line)
    {
        line("nats_connected", Connected ? 1 : 0);
        line("nats_url", Connected ? _connectedUrl : "");
        line("nats_subject_prefix", Mapping.Prefix);
        line("nats_max_payload", _maxPayload);
        line("nats_subscriptions", Subscriptions);
        line("nats_outbound_queued", OutboundQueued);
        line("nats_forwarded", Forwarded);
        line("nats_received", Received);
        line("nats_dropped", Dropped);
        line("nats_lost", Lost);
        AppendGossipInfo(line);
        if (History is { } history)
        {
            history.AppendInfo(line);
        }
        else
        {
            line("nats_history", "local");
        }
    }

    /// <summary>
    /// A message not forwarded. When <paramref name="channel"/> is given (it was never numbered), it is
    /// remembered so that the forwarder uses a number for it and tells the other nodes in a gap message;
    /// one the forwarder numbered and failed to publish is a hole in its channel's numbers already.
    /// </summary>
    private void Drop(string reason, ReadOnlySpan<byte> channel = default, bool numbered = true, bool shard = false)
    {
        Interlocked.Increment(ref _dropped);
        if (!numbered)
        {
            RecordDrop(channel, shard);
        }

        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastDropLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastDropLog, now, last) == last)
        {
            Log.NotForwarded(_logger, reason, Dropped);
        }
    }

    /// <summary>Any read loop, on the slow path only: one more message of <paramref name="channel"/> the others must hear was not forwarded.</summary>
    private void RecordDrop(ReadOnlySpan<byte> channel, bool shard)
    {
        lock (_dropLock)
        {
            var key = new ChannelKey(channel.ToArray(), shard);
            if (_droppedChannels.TryGetValue(key, out var count))
            {
                _droppedChannels[key] = count + 1;
            }
            else if (_droppedChannels.Count < DropRecordCapacity && _droppedChannelBytes + channel.Length + 64 <= DropRecordMaxBytes)
            {
                _droppedChannels[key] = 1;
                _droppedChannelBytes += channel.Length + 64;
            }
            else
            {
                // Past the bound: counted here (nats_dropped) only.
                return;
            }

            _gapsPending = true;
        }
    }

    /// <summary>A channel's count changed, or with <paramref name="pattern"/> set, that pattern's.</summary>
    private void MarkDirty(ChannelKey channel, byte[]? pattern, bool edge)
    {
        lock (_dirtyLock)
        {
            if (pattern is null)
            {
                MarkChangedLocked(channel, _countChannels, _dirtyChannels, _pendingChannels, edge);
            }
            else
            {
                MarkChangedLocked(pattern, _countPatterns, _dirtyPatterns, _pendingPatterns, edge);
            }
        }

        if (edge)
        {
            Signal();
        }

        SignalGossip();
    }

    /// <summary>Logged at most once a second: NATS.Net may fail every call while it reconnects.</summary>
    private void InterestFailed(Exception ex)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastInterestFailureLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastInterestFailureLog, now, last) == last)
        {
            Log.InterestFailed(_logger, ex.Message);
        }
    }

    /// <summary>Already signalled: the interest task takes every change when it wakes.</summary>
    private void Signal() => _interestSignal.Writer.TryWrite(true);

    private async Task ConnectAsync(CancellationToken token)
    {
        try
        {
            // Retries until a server answers (RetryOnInitialConnect); local clients are served meanwhile.
            await _connection.ConnectAsync().AsTask().WaitAsync(token).ConfigureAwait(false);
            await StartGossipAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Log.ConnectFailed(_logger, ex.Message);
        }
    }

    private ValueTask OnOpenedAsync(object? sender, NatsEventArgs args)
    {
        if (_connection.ServerInfo is { } info)
        {
            _maxPayload = info.MaxPayload > 0 ? info.MaxPayload : DefaultMaxPayload;
            _connectedUrl = $"nats://{info.Host}:{info.Port}";
        }

        Log.Connected(_logger, args.Message, _maxPayload);

        // The forwarder sends the gaps of what was not forwarded meanwhile, even if nothing is published now.
        _outbound.Writer.TryWrite(new Outgoing(new ChannelKey([], false), [], Wake: true));
        if (_gossipReady)
        {
            // Reconnected: what was said meanwhile may be lost both ways, and the other servers may not
            // have our interest yet.
            Resync();
            Reconnected();
            History?.Reconnected();
        }

        return ValueTask.CompletedTask;
    }

    private ValueTask OnDisconnectedAsync(object? sender, NatsEventArgs args)
    {
        Log.Disconnected(_logger, args.Message);
        ReleaseSubscribeWaits();
        return ValueTask.CompletedTask;
    }

    private ValueTask OnReconnectFailedAsync(object? sender, NatsEventArgs args)
    {
        Log.ReconnectFailed(_logger, args.Message);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The forwarder: one publish at a time, in queue order, so NATS keeps each publisher's order. It alone
    /// numbers: each channel's messages get 1, 2, 3… in its table (bounded; when full it is cleared and a
    /// new epoch begins), written into the header TryForward left room for. Before the next message, and
    /// when NATS reconnects, the messages recorded as not forwarded get their numbers in a gap message.
    /// </summary>
    private async Task ForwardLoopAsync(CancellationToken token)
    {
        var table = new NumberingTable(this);
        try
        {
            while (await _outbound.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (_outbound.Reader.TryRead(out var item))
                {
                    if (_gapsPending && Connected)
                    {
                        await SendGapsAsync(table, token).ConfigureAwait(false);
                    }

                    if (table.TailsDue(Environment.TickCount64) && Connected)
                    {
                        await SendTailsAsync(table, token).ConfigureAwait(false);
                    }

                    if (item.Wake)
                    {
                        continue;
                    }

                    Interlocked.Add(ref _outboundBytes, -(item.Channel.Name.Length + item.Payload.Length - ForwardHeader.Length));
                    var target = table.Next(item.Channel);
                    table.Forwarded(item.Channel);
                    _tailsPending = true;
                    var payload = item.Payload;
                    ForwardHeader.Write(payload, ForwardHeader.Message, _origin, table.Epoch, target.Sequence);
                    if (target.Hashed)
                    {
                        payload = HashedPayload(payload, item.Channel.Name);
                    }

                    try
                    {
                        await _connection.PublishAsync(target.Subject, payload, cancellationToken: token).ConfigureAwait(false);
                        Interlocked.Increment(ref _forwarded);
                    }
                    catch (Exception ex) when (!token.IsCancellationRequested)
                    {
                        // Also NATS.Net's own OperationCanceledException (a command timeout while it reconnects).
                        // Its number is used: the receivers see the hole at the channel's next message.
                        Drop("NATS refused it: " + ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    /// <summary>The forwarder: one gap message per channel with messages not forwarded, their numbers used.</summary>
    private async Task SendGapsAsync(NumberingTable table, CancellationToken token)
    {
        Dictionary<ChannelKey, long> dropped;
        lock (_dropLock)
        {
            dropped = _droppedChannels;
            _droppedChannels = new(ChannelKey.Comparer);
            _droppedChannelBytes = 0;
            _gapsPending = false;
        }

        foreach (var (channel, count) in dropped)
        {
            var target = table.Next(channel, (ulong)count);
            var payload = new byte[ForwardHeader.Length];
            ForwardHeader.Write(payload, ForwardHeader.Gap, _origin, table.Epoch, target.Sequence);
            if (target.Hashed)
            {
                payload = HashedPayload(payload, channel.Name);
            }

            try
            {
                await _connection.PublishAsync(target.Subject, payload, cancellationToken: token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                // The numbers are used all the same: the channel's next message shows the hole.
                _ = ex;
            }
        }
    }

    /// <summary>
    /// The forwarder, once a second: for each channel forwarded to in the second before last and not in
    /// the last one (it went quiet), a gap message with its last number, so that a receiver that missed
    /// the channel's last messages learns it now rather than at the channel's next message. At most
    /// <see cref="TailsPerSecond"/>; the others wait for their channel's next message.
    /// </summary>
    private async Task SendTailsAsync(NumberingTable table, CancellationToken token)
    {
        var quiet = table.TakeQuiet(TailsPerSecond);
        _tailsPending = table.HasRecent;
        foreach (var (channel, target) in quiet)
        {
            var payload = new byte[ForwardHeader.Length];
            ForwardHeader.Write(payload, ForwardHeader.Gap, _origin, table.Epoch, target.Sequence);
            if (target.Hashed)
            {
                payload = HashedPayload(payload, channel.Name);
            }

            try
            {
                await _connection.PublishAsync(target.Subject, payload, cancellationToken: token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                // A tail lost: the channel's next message shows the same.
                _ = ex;
                return;
            }
        }
    }

    /// <summary>The gossip timer: wakes the forwarder once a second while it has tails to send (no I/O here).</summary>
    private void WakeForTails(long now)
    {
        if (_tailsPending && now - _lastTailWake >= 1000)
        {
            _lastTailWake = now;
            _outbound.Writer.TryWrite(new Outgoing(new ChannelKey([], false), [], Wake: true));
        }
    }

    /// <summary>A hashed subject's payload: the header, the channel's length, the channel, the message.</summary>
    private static byte[] HashedPayload(byte[] headed, byte[] channel)
    {
        var payload = new byte[headed.Length + 4 + channel.Length];
        headed.AsSpan(0, ForwardHeader.Length).CopyTo(payload);
        BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(ForwardHeader.Length), channel.Length);
        channel.CopyTo(payload.AsSpan(ForwardHeader.Length + 4));
        headed.AsSpan(ForwardHeader.Length).CopyTo(payload.AsSpan(ForwardHeader.Length + 4 + channel.Length));
        return payload;
    }

    /// <summary>
    /// The forwarder's own: per channel (or shard channel) published to lately, its subject and the last number it used.
    /// Bounded by <see cref="NumberedCapacity"/> channels and <see cref="NumberedMaxBytes"/>; past them it
    /// is cleared and <see cref="Epoch"/> goes up, so receivers start counting each channel again.
    /// </summary>
    private sealed class NumberingTable(ClusterLink link)
    {
        private readonly Dictionary<ChannelKey, Numbered> _channels = new(ChannelKey.Comparer);
        private long _bytes;

        // Channels forwarded to in the current second and in the one before (for the tails).
        private HashSet<ChannelKey> _recent = new(ChannelKey.Comparer);
        private HashSet<ChannelKey> _previous = new(ChannelKey.Comparer);
        private long _secondStart = Environment.TickCount64;

        public bool HasRecent => _recent.Count + _previous.Count > 0;

        public void Forwarded(ChannelKey channel)
        {
            if (_recent.Count < NumberedCapacity)
            {
                _recent.Add(channel);
            }
        }

        public bool TailsDue(long now) => now - _secondStart >= 1000 && HasRecent;

        /// <summary>The channels of the second before that were quiet in the last one (at most <paramref name="limit"/>), with their last numbers; a new second begins.</summary>
        public List<(ChannelKey Channel, Numbered Target)> TakeQuiet(int limit)
        {
            var quiet = new List<(ChannelKey, Numbered)>();
            foreach (var channel in _previous)
            {
                if (quiet.Count >= limit)
                {
                    break;
                }

                if (!_recent.Contains(channel) && _channels.TryGetValue(channel, out var entry))
                {
                    quiet.Add((channel, entry));
                }
            }

            (_previous, _recent) = (_recent, _previous);
            _recent.Clear();
            _secondStart = Environment.TickCount64;
            return quiet;
        }

        public uint Epoch { get; private set; }

        /// <summary>Uses <paramref name="count"/> more numbers of the channel; its entry says the last.</summary>
        public Numbered Next(ChannelKey channel, ulong count = 1)
        {
            if (!_channels.TryGetValue(channel, out var entry))
            {
                var subject = link.Mapping.SubjectFor(channel.Name, out var hashed, channel.Shard);
                var cost = channel.Name.Length + (subject.Length * 2L) + 96;
                if (_channels.Count >= NumberedCapacity || _bytes + cost > NumberedMaxBytes)
                {
                    _channels.Clear();
                    _recent.Clear();
                    _previous.Clear();
                    _bytes = 0;
                    Epoch++;
                }

                entry = new Numbered(subject, hashed);
                _channels[channel] = entry;
                _bytes += cost;
            }

            entry.Sequence += count;
            return entry;
        }
    }

    private sealed class Numbered(string subject, bool hashed)
    {
        public string Subject { get; } = subject;

        public bool Hashed { get; } = hashed;

        public ulong Sequence { get; set; }
    }

    /// <summary>
    /// The interest task: takes the changed names and makes this node's NATS subscriptions follow what
    /// the registry holds now (a channel that gained and lost its subscribers meanwhile costs nothing).
    /// </summary>
    private async Task InterestLoopAsync(CancellationToken token)
    {
        try
        {
            while (true)
            {
                await _interestSignal.Reader.ReadAsync(token).ConfigureAwait(false);

                // Rounds at most every MinRoundInterval: the changes made meanwhile share one PING and probe.
                var wait = _lastRound + MinRoundInterval - Environment.TickCount64;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), token).ConfigureAwait(false);
                }

                var force = Interlocked.Exchange(ref _forceRound, 0) == 1;
                HashSet<ChannelKey> channels;
                HashSet<byte[]> patterns;
                long target;
                lock (_dirtyLock)
                {
                    channels = _dirtyChannels;
                    patterns = _dirtyPatterns;
                    target = _interestRequested;
                    _dirtyChannels = new(ChannelKey.Comparer);
                    _dirtyPatterns = new(ByteArrayComparer.Instance);
                }

                try
                {
                    foreach (var channel in channels)
                    {
                        await FollowChannelAsync(channel, token).ConfigureAwait(false);
                    }

                    foreach (var pattern in patterns)
                    {
                        await FollowPatternAsync(pattern, token).ConfigureAwait(false);
                    }

                    // The SUBs (and UNSUBs) went out before this PING on the one connection: its PONG says
                    // the NATS server we are connected to has them. Then a probe answered by every other node
                    // says each of their NATS servers has them too: the probe followed our new interest over
                    // the same route. The SUBSCRIBEs waiting for them go on. After a reconnect (force), NATS.Net
                    // resubscribed before it said the connection is open: the same PING and probe cover that.
                    if (channels.Count + patterns.Count > 0 || force)
                    {
                        await _connection.PingAsync(token).AsTask().WaitAsync(PingLimit, token).ConfigureAwait(false);
                        if (_roundSubscribed || force)
                        {
                            await ProbeNodesAsync(token).ConfigureAwait(false);
                        }

                        // Cleared only once a probe went out after them: a round that failed between its SUBs
                        // and its probe leaves it set, so the retry probes although it subscribes nothing new.
                        _roundSubscribed = false;
                    }

                    _lastRound = Environment.TickCount64;
                    InterestApplied(target);
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    // Tried again shortly: the names go back into the dirty sets. NATS.Net throws its own
                    // OperationCanceledException (a command timeout while it reconnects): tried again too.
                    InterestFailed(ex);
                    lock (_dirtyLock)
                    {
                        _dirtyChannels.UnionWith(channels);
                        _dirtyPatterns.UnionWith(patterns);
                    }

                    if (force)
                    {
                        Volatile.Write(ref _forceRound, 1);
                    }

                    await Task.Delay(500, token).ConfigureAwait(false);
                    Signal();
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task FollowChannelAsync(ChannelKey channel, CancellationToken token)
    {
        // NOTI.SUBSCRIBE followers read this node's history, which forwarded messages never enter: only
        // subscribers that receive them make the node want the channel's messages from other nodes.
        var wanted = _server.Registry.AdvertisedSubscriberCount(channel.Name, channel.Shard) > 0;
        if (wanted == _exact.ContainsKey(channel))
        {
            return;
        }

        if (wanted)
        {
            var subject = Mapping.SubjectFor(channel.Name, out _, channel.Shard);
            var kind = channel.Shard ? SubscriptionKind.ShardChannel : SubscriptionKind.Channel;
            _exact[channel] = await SubscribeAsync(subject, kind, channel.Name, token).ConfigureAwait(false);
        }
        else
        {
            _exact.Remove(channel, out var subscription);
            await UnsubscribeAsync(subscription!).ConfigureAwait(false);
        }
    }

    private async Task FollowPatternAsync(byte[] pattern, CancellationToken token)
    {
        var wanted = _server.Registry.AdvertisedPatternSubscriberCount(pattern) > 0;
        if (wanted == _patternScopes.ContainsKey(pattern))
        {
            return;
        }

        if (wanted)
        {
            var scope = pattern[..SubjectMapping.PatternScopeLength(pattern)];
            var wildcard = Mapping.WildcardFor(scope);
            if (_wildcards.TryGetValue(wildcard, out var entry))
            {
                _wildcards[wildcard] = (entry.Patterns + 1, entry.Subscription);
            }
            else
            {
                _wildcards[wildcard] = (1, await SubscribeAsync(wildcard, SubscriptionKind.Patterns, scope, token).ConfigureAwait(false));
            }

            _patternScopes[pattern] = scope;
            if (_hashedWildcard is null)
            {
                _hashedWildcard = await SubscribeAsync(Mapping.HashedWildcard, SubscriptionKind.HashedPatterns, null, token).ConfigureAwait(false);
            }
        }
        else
        {
            _patternScopes.Remove(pattern, out var scope);
            var wildcard = Mapping.WildcardFor(scope);
            var entry = _wildcards[wildcard];
            if (entry.Patterns > 1)
            {
                _wildcards[wildcard] = (entry.Patterns - 1, entry.Subscription);
            }
            else
            {
                _wildcards.Remove(wildcard);
                await UnsubscribeAsync(entry.Subscription).ConfigureAwait(false);
            }

            if (_patternScopes.Count == 0 && _hashedWildcard is { } hashed)
            {
                _hashedWildcard = null;
                await UnsubscribeAsync(hashed).ConfigureAwait(false);
            }
        }
    }

    private async Task<ClusterSubscription> SubscribeAsync(string subject, SubscriptionKind kind, byte[]? key, CancellationToken token)
    {
        var subscription = new ClusterSubscription(this, _connection, subject, kind, key, _tracker.NewStream());
        await _connection.AddSubAsync(subscription, token).ConfigureAwait(false);
        _roundSubscribed = true;
        Interlocked.Increment(ref _subscriptions);
        Log.Subscribed(_logger, subject);
        return subscription;
    }

    private async Task UnsubscribeAsync(ClusterSubscription subscription)
    {
        Interlocked.Decrement(ref _subscriptions);
        subscription.Stop();
        if (subscription.Sequences is { } sequences)
        {
            _tracker.Release(sequences);
        }

        await subscription.UnsubscribeAsync().ConfigureAwait(false);
        Log.Unsubscribed(_logger, subscription.Subject);
    }

    /// <summary>NATS's reader, for one of our subscriptions: a copy of the message into the inbound queue, waiting when it is full.</summary>
    internal ValueTask ReceivedAsync(ClusterSubscription subscription, string subject, ReadOnlySequence<byte> payload)
    {
        if (subscription.Kind == SubscriptionKind.Gossip)
        {
            ReceivedGossip(subject, payload);
            return ValueTask.CompletedTask;
        }

        // Every node's message starts with its header: a payload without one is not from a node of this
        // release, and is not delivered.
        Span<byte> head = stackalloc byte[ForwardHeader.Length];
        if (payload.Length < ForwardHeader.Length)
        {
            return ValueTask.CompletedTask;
        }

        payload.Slice(0, ForwardHeader.Length).CopyTo(head);
        if (!ForwardHeader.TryRead(head, out var kind, out var origin, out var epoch, out var sequence))
        {
            return ValueTask.CompletedTask;
        }

        payload = payload.Slice(ForwardHeader.Length);
        byte[]? channel;
        byte[] message;
        if (Mapping.IsHashed(subject))
        {
            var bytes = payload.ToArray();
            if (!SubjectMapping.TryReadPayload(bytes, out var name, out var body))
            {
                return ValueTask.CompletedTask;
            }

            channel = name.ToArray();
            message = body.ToArray();
        }
        else
        {
            channel = subscription.Kind is SubscriptionKind.Channel or SubscriptionKind.ShardChannel ? subscription.Key : Mapping.ChannelOf(subject);
            message = kind == ForwardHeader.Gap ? [] : payload.ToArray();
        }

        if (channel is null)
        {
            return ValueTask.CompletedTask;
        }

        if (subscription.Sequences is { } sequences
            && _tracker.Observe(sequences, kind, origin, epoch, channel, sequence, Environment.TickCount64, out var logNow) > 0
            && logNow > 0)
        {
            Log.Lost(_logger, logNow, ForwardHeader.Describe(origin), _tracker.Lost);
        }

        if (kind == ForwardHeader.Gap)
        {
            return ValueTask.CompletedTask;
        }

        Interlocked.Increment(ref _received);
        var item = new Incoming(subscription.Kind, channel, message, subscription.Key);
        return _inbound.Writer.TryWrite(item) ? ValueTask.CompletedTask : _inbound.Writer.WriteAsync(item, _stopping.Token);
    }

    /// <summary>
    /// The delivery task: remote messages go to local subscribers through one batch, bracketed as a read loop
    /// brackets a read's commands. A message that came through a channel's subscription goes to that
    /// channel's subscribers only; one that came through a pattern wildcard goes only to the patterns of that
    /// wildcard — so a node that holds both gets each message once per local subscription, as Redis gives it.
    /// </summary>
    private async Task DeliveryLoopAsync(CancellationToken token)
    {
        var batch = new DeliveryBatch(_server.FanOuts);
        var registry = _server.Registry;
        try
        {
            while (await _inbound.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                long delivered = 0;
                batch.Begin();
                try
                {
                    for (var n = 0; n < DeliveriesPerBatch && _inbound.Reader.TryRead(out var item); n++)
                    {
                        delivered += item.Kind switch
                        {
                            SubscriptionKind.Channel => registry.DeliverToChannel(item.Channel, item.Message, batch),
                            SubscriptionKind.ShardChannel => registry.DeliverToChannel(item.Channel, item.Message, batch, shard: true),
                            SubscriptionKind.Patterns => registry.DeliverToPatterns(item.Channel, item.Message, batch, item.Scope),
                            _ => registry.DeliverToPatterns(item.Channel, item.Message, batch, scope: null),
                        };
                        batch.AfterCommand();
                    }
                }
                finally
                {
                    batch.End();
                }

                Interlocked.Add(ref _server.Stats.PubSubMessagesDelivered, delivered);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Log.DeliveryFailed(_logger, ex);
        }
    }

    /// <summary>A message to forward: its payload has <see cref="ForwardHeader.Length"/> bytes of room first. <paramref name="Wake"/>: no message, the forwarder only looks at the gaps.</summary>
    private readonly record struct Outgoing(ChannelKey Channel, byte[] Payload, bool Wake = false);

    private readonly record struct Incoming(SubscriptionKind Kind, byte[] Channel, byte[] Message, byte[]? Scope);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Cluster: joining through NATS {Servers} with subject prefix '{Prefix}'")]
        public static partial void Starting(ILogger logger, string servers, string prefix);

        [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Cluster: connected to NATS ({Detail}); max_payload {MaxPayload}")]
        public static partial void Connected(ILogger logger, string detail, int maxPayload);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Cluster: NATS disconnected ({Detail}); messages are not forwarded until it is back")]
        public static partial void Disconnected(ILogger logger, string detail);

        [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Cluster: NATS reconnect failed ({Detail}); retrying")]
        public static partial void ReconnectFailed(ILogger logger, string detail);

        [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Cluster: a message was not forwarded: {Reason} ({Dropped} so far)")]
        public static partial void NotForwarded(ILogger logger, string reason, long dropped);

        [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "Cluster: changing NATS subscriptions failed: {Reason}; retrying")]
        public static partial void InterestFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1306, Level = LogLevel.Debug, Message = "Cluster: subscribed to {Subject}")]
        public static partial void Subscribed(ILogger logger, string subject);

        [LoggerMessage(EventId = 1307, Level = LogLevel.Debug, Message = "Cluster: unsubscribed from {Subject}")]
        public static partial void Unsubscribed(ILogger logger, string subject);

        [LoggerMessage(EventId = 1308, Level = LogLevel.Error, Message = "Cluster: delivering remote messages failed")]
        public static partial void DeliveryFailed(ILogger logger, Exception ex);

        [LoggerMessage(EventId = 1309, Level = LogLevel.Warning, Message = "Cluster: connecting to NATS failed: {Reason}")]
        public static partial void ConnectFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 1310, Level = LogLevel.Information, Message = "Cluster: left NATS; forwarded {Forwarded}, received {Received}, not forwarded {Dropped}")]
        public static partial void Stopped(ILogger logger, long forwarded, long received, long dropped);

        [LoggerMessage(EventId = 1311, Level = LogLevel.Warning, Message = "Cluster: interest gossip failed; the whole state is sent next")]
        public static partial void GossipFailed(ILogger logger, Exception ex);

        [LoggerMessage(EventId = 1313, Level = LogLevel.Warning, Message = "Cluster: {Count} messages from node {Origin}… were lost on the way here ({Lost} in all)")]
        public static partial void Lost(ILogger logger, long count, string origin, long lost);

        [LoggerMessage(EventId = 1312, Level = LogLevel.Information, Message = "Cluster: a node went silent and its subscribers are no longer counted; {Nodes} other nodes now")]
        public static partial void NodesExpired(ILogger logger, int nodes);
    }
}

/// <summary>Which local subscribers a NATS subscription's messages are for.</summary>
internal enum SubscriptionKind
{
    /// <summary>One channel's exact subject: that channel's subscribers.</summary>
    Channel,

    /// <summary>One shard channel's exact subject (<c>prefix.sc.…</c> or <c>prefix.sh.…</c>): that shard channel's subscribers.</summary>
    ShardChannel,

    /// <summary>A pattern wildcard: the patterns whose scope is its key.</summary>
    Patterns,

    /// <summary><c>prefix.h.&gt;</c>: every pattern (long channels are outside every pattern wildcard).</summary>
    HashedPatterns,

    /// <summary><c>prefix.sys.i.*</c> and <c>prefix.sys.r</c>: the nodes' interest gossip, not messages.</summary>
    Gossip,
}

/// <summary>One NATS subscription of the link; its messages go straight into the link's inbound queue, in NATS's order.</summary>
internal sealed class ClusterSubscription(ClusterLink link, INatsConnection connection, string subject, SubscriptionKind kind, byte[]? key,
    SequenceTracker.Stream? sequences = null)
    : NatsSubBase(connection, connection.SubscriptionManager, subject, queueGroup: null, opts: null)
{
    private volatile bool _stopped;

    public SubscriptionKind Kind { get; } = kind;

    /// <summary>The channel (<see cref="SubscriptionKind.Channel"/>, <see cref="SubscriptionKind.ShardChannel"/>) or the pattern scope (<see cref="SubscriptionKind.Patterns"/>).</summary>
    public byte[]? Key { get; } = key;

    /// <summary>The loss accounting of what comes through this subscription (none for the gossip's).</summary>
    public SequenceTracker.Stream? Sequences { get; } = sequences;

    /// <summary>No more deliveries from this subscription (what NATS still sends before the UNSUB lands is dropped).</summary>
    public void Stop() => _stopped = true;

    protected override ValueTask ReceiveInternalAsync(string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer, ReadOnlySequence<byte> payloadBuffer)
        => _stopped ? ValueTask.CompletedTask : link.ReceivedAsync(this, subject, payloadBuffer);

    protected override void TryComplete()
    {
    }
}
