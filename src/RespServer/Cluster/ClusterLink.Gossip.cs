using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// Counting across the cluster (docs/cluster.md#counting-across-the-cluster): each node tells the others
/// its channel, pattern and shard channel subscriber counts, and keeps theirs in <see cref="_remote"/>; and a SUBSCRIBE's
/// confirmation waits until the node's NATS server has the node's interest.
/// <para>
/// Two more tasks. The gossip send task alone publishes on the node's interest stream
/// (<see cref="_interestSubject"/>, one sequence): on a change, the absolute counts of the names changed
/// since its last round (<see cref="_countChannels"/>, <see cref="_countPatterns"/>, filled under the
/// registry's lock, taken whole under <see cref="_dirtyLock"/>) against what it told before
/// (<see cref="_advertisedChannels"/>, its own); its whole state when asked and at each connect; a
/// heartbeat every second; at most one whole state a second; it also expires silent nodes. It is woken
/// through <see cref="_gossipSignal"/> (never throws, never waits) and stopped on its own before the
/// goodbye. The gossip receive task alone applies what other nodes send (<see cref="_gossipInbound"/>,
/// bounded in bytes, filled by NATS's reader) to <see cref="_remote"/>. A timer
/// (<see cref="_gossipTimer"/>, every <see cref="WaitTick"/> ms, no I/O) lifts the SUBSCRIBE waits past
/// <see cref="SubscribeWaitLimit"/> and wakes the send task. Every task goes on after NATS.Net's failures,
/// its own OperationCanceledException included, and ends only when its token is cancelled.
/// </para>
/// </summary>
internal sealed partial class ClusterLink
{
    /// <summary>A node not heard from for this long (ms) is forgotten: three heartbeats missed.</summary>
    public const long NodeTimeout = 3_000;

    /// <summary>Heartbeat interval (ms).</summary>
    public const long HeartbeatInterval = 1_000;

    /// <summary>Longest a SUBSCRIBE's confirmation waits for NATS (ms); then it goes anyway, counted.</summary>
    public const long SubscribeWaitLimit = 2_000;

    /// <summary>Longest the interest task waits for the other nodes' answers to a probe (ms); then the SUBSCRIBEs go on, counted.</summary>
    public const int ProbeTimeout = 1_000;

    /// <summary>Gossip messages from other nodes waiting to be applied, in bytes; past it they are dropped (the gap is repaired by a snapshot).</summary>
    public const long GossipInboundMaxBytes = 16L * 1024 * 1024;

    /// <summary>Least time between two whole states sent (ms), whoever asks.</summary>
    public const long SnapshotInterval = 1_000;

    /// <summary>What a queued gossip message counts beyond its payload and subject.</summary>
    private const int GossipItemOverhead = 128;

    /// <summary>Entries are packed into messages of about this size.</summary>
    private const int GossipChunk = 64 * 1024;

    /// <summary>How often the timer lifts overdue SUBSCRIBE waits and wakes the send task (ms).</summary>
    public const int WaitTick = 100;

    private readonly RemoteInterest _remote = new();
    private readonly List<ClusterSubscription> _gossipSubscriptions = [];
    private readonly string _nodeId;
    private readonly string _interestRoot;
    private readonly string _interestSubject;
    private readonly string _requestSubject;
    private readonly string _probeSubject;
    private readonly string _answerRoot;
    private readonly string _answerSubject;

    // Under _probeLock: the probe the interest task waits on, who has not answered it yet, and the probes
    // each node missed in a row (with the whole state it had then: a new one makes it waited for again).
    private readonly Lock _probeLock = new();
    private ulong _probeId;
    private HashSet<string>? _probeWaiting;
    private TaskCompletionSource? _probeDone;
    private readonly Dictionary<string, (int Misses, long SyncedAt)> _probeMisses = new(StringComparer.Ordinal);
    private long _probeTimeouts;

    /// <summary>A node that missed this many probes in a row is not waited for until it answers one or sends a new whole state.</summary>
    public const int MaxProbeMisses = 3;

    // Under _dirtyLock: names whose count changed (every subscribe and unsubscribe), for the gossip.
    private HashSet<ChannelKey> _countChannels = new(ChannelKey.Comparer);
    private HashSet<byte[]> _countPatterns = new(ByteArrayComparer.Instance);

    // Under _dirtyLock: interest changes asked (edges, each numbered) and applied in NATS (flushed, probed),
    // the names whose change is not applied yet with its number, the change a reconnect asked (a PING and a
    // probe round after NATS.Net resubscribed), and the SUBSCRIBEs waiting for them.
    private long _interestRequested;
    private long _interestApplied;
    private long _reconnectChange;
    private readonly Dictionary<ChannelKey, long> _pendingChannels = new(ChannelKey.Comparer);
    private readonly Dictionary<byte[], long> _pendingPatterns = new(ByteArrayComparer.Instance);
    private readonly List<(long Target, ConnectionOutput Output, long Since)> _subscribeWaits = [];

    /// <summary>
    /// The read loop running a SUBSCRIBE or PSUBSCRIBE between <see cref="BeginSubscribe"/> and
    /// <see cref="EndSubscribe"/>: the highest change number of the names it registered (0: none pending).
    /// Written and read by that thread alone (the registrations run on it, synchronously).
    /// </summary>
    [ThreadStatic]
    private static long t_subscribeTarget;

    [ThreadStatic]
    private static bool t_subscribing;

    /// <summary>Set by a reconnect, taken by the interest task: a PING and a probe round even with no change.</summary>
    private int _forceRound;

    /// <summary>The token a waiting SUBSCRIBE's output barrier holds (<see cref="ConnectionOutput.Await"/>).</summary>
    private readonly object _subscribeToken = new();

    // Capacity 1, DropWrite: a signal while one is pending is dropped, and TryWrite never throws nor
    // waits (it is called under the registry's write lock). Written by subscribe/unsubscribe, the gossip
    // receive task, reconnects and the timer; read by the gossip send task alone.
    private readonly Channel<bool> _gossipSignal = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Lifts the SUBSCRIBE waits past their limit and wakes the send task for its timers; it does no I/O.</summary>
    private Timer? _gossipTimer;
    private long _lastGossipFailureLog;
    private volatile bool _gossipReady;
    private volatile bool _snapshotWanted;
    private int _requestAll;
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly Channel<(string Subject, byte[] Payload)> _gossipInbound = Channel.CreateUnbounded<(string, byte[])>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private long _gossipInboundBytes;

    // The send task's own state.
    private readonly Dictionary<ChannelKey, int> _advertisedChannels = new(ChannelKey.Comparer);
    private readonly Dictionary<byte[], int> _advertisedPatterns = new(ByteArrayComparer.Instance);
    private ulong _sequence;
    private long _lastSent;
    private long _lastSnapshot = long.MinValue / 2;

    private long _subscribeWaited;
    private long _subscribeWaitTimeouts;
    private long _gossipDropped;
    private long _unadvertised;

    /// <summary>The other nodes' interest.</summary>
    public RemoteInterest Remote => _remote;

    /// <summary>
    /// SUBSCRIBE, PSUBSCRIBE and SSUBSCRIBE, before their first confirmation is queued: raises the output's barrier, so
    /// the confirmations and what follows them wait, and the connection runs no further command, until
    /// <see cref="EndSubscribe"/> finds the node's NATS interest applied. Returns whether it was raised (not
    /// when NATS is disconnected: then nothing can be promised, and nothing waits).
    /// </summary>
    public bool BeginSubscribe(ConnectionOutput output)
    {
        if (!Connected || !output.Await(_subscribeToken))
        {
            return false;
        }

        t_subscribeTarget = 0;
        t_subscribing = true;
        return true;
    }

    /// <summary>
    /// After the registrations: lifts the barrier now if the NATS interest of every name this command
    /// registered is applied (its own first subscriptions, or another's not yet applied, and the round a
    /// reconnect asked), else when the interest task has applied them, NATS answered its PING and the other
    /// nodes its probe (at most <see cref="SubscribeWaitLimit"/> plus one <see cref="WaitTick"/>).
    /// </summary>
    public void EndSubscribe(ConnectionOutput output, bool raised)
    {
        if (!raised)
        {
            return;
        }

        var target = t_subscribeTarget;
        t_subscribing = false;
        lock (_dirtyLock)
        {
            target = Math.Max(target, _reconnectChange);
            if (Connected && _interestApplied < target)
            {
                _subscribeWaits.Add((target, output, Environment.TickCount64));
                _subscribeWaited++;
                return;
            }
        }

        output.BatchPassed(_subscribeToken);
    }

    /// <summary>
    /// PUBLISH and NOTI.PUBLISH (<paramref name="shard"/>: SPUBLISH), after local delivery: forwards, and
    /// returns the other nodes' receivers (0 when not forwarded).
    /// </summary>
    public long Forward(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, bool shard = false)
        => !TryForward(channel, message, shard) ? 0
            : shard ? _remote.ChannelSubscribers(channel, shard: true)
            : _remote.Receivers(channel);

    private void AppendGossipInfo(Action<string, object> line)
    {
        line("nats_node_id", _nodeId);
        line("nats_remote_nodes", _remote.NodeCount);
        line("nats_remote_channels", _remote.ChannelCount);
        line("nats_remote_patterns", _remote.PatternCount);
        line("nats_remote_shard_channels", _remote.ShardChannelCount);
        line("nats_remote_refused", _remote.Refused + Interlocked.Read(ref _gossipDropped));
        line("nats_unadvertised", Interlocked.Read(ref _unadvertised));
        lock (_dirtyLock)
        {
            line("nats_subscribe_waits", _subscribeWaited);
            line("nats_subscribe_wait_timeouts", _subscribeWaitTimeouts);
        }

        line("nats_probe_timeouts", Interlocked.Read(ref _probeTimeouts));
    }

    /// <summary>
    /// Under <see cref="_dirtyLock"/> (and the registry's write lock): one name's count changed, <paramref name="edge"/>
    /// when its NATS interest must change; the sets are the channels' (shard channels among them) or the patterns'.
    /// </summary>
    private void MarkChangedLocked<TName>(TName name, HashSet<TName> counted, HashSet<TName> dirty, Dictionary<TName, long> pending, bool edge)
        where TName : notnull
    {
        counted.Add(name);
        if (edge)
        {
            dirty.Add(name);
            pending[name] = ++_interestRequested;
        }

        // A SUBSCRIBE waits for its names' NATS interest only: the change it made, or the one another
        // connection made and the interest task has not applied yet.
        if (t_subscribing && pending.TryGetValue(name, out var change) && change > t_subscribeTarget)
        {
            t_subscribeTarget = change;
        }
    }

    private void SignalGossip() => _gossipSignal.Writer.TryWrite(true);

    /// <summary>
    /// Every <see cref="WaitTick"/> ms on the thread pool: lifts the SUBSCRIBE waits past
    /// <see cref="SubscribeWaitLimit"/> and wakes the send task (heartbeats, expiry). No I/O and no lock of
    /// NATS, so no wait lasts past the limit plus one tick whatever NATS does.
    /// </summary>
    private void OnGossipTimer(object? state)
    {
        var now = Environment.TickCount64;
        ExpireSubscribeWaits(now);
        WakeForTails(now);
        SignalGossip();
    }

    /// <summary>Logged at most once a second: NATS.Net may fail every call while it reconnects.</summary>
    private void GossipFailed(Exception ex)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastGossipFailureLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastGossipFailureLog, now, last) == last)
        {
            Log.GossipFailed(_logger, ex);
        }
    }

    /// <summary>The interest task applied every change up to <paramref name="target"/> and NATS answered the PING after them.</summary>
    private void InterestApplied(long target)
    {
        List<ConnectionOutput>? released = null;
        lock (_dirtyLock)
        {
            _interestApplied = Math.Max(_interestApplied, target);
            released = TakeWaitsLocked(w => w.Target <= _interestApplied);
            RemoveAppliedLocked(_pendingChannels);
            RemoveAppliedLocked(_pendingPatterns);
        }

        Lift(released);
    }

    private void RemoveAppliedLocked<TName>(Dictionary<TName, long> pending)
        where TName : notnull
    {
        if (pending.Count == 0)
        {
            return;
        }

        List<TName>? applied = null;
        foreach (var (name, change) in pending)
        {
            if (change <= _interestApplied)
            {
                (applied ??= []).Add(name);
            }
        }

        foreach (var name in applied ?? [])
        {
            pending.Remove(name);
        }
    }

    /// <summary>
    /// NATS.Net reconnected (and resubscribed): until a PING and a probe round say the servers have our
    /// interest again, SUBSCRIBEs wait, even to names already followed.
    /// </summary>
    private void Reconnected()
    {
        lock (_dirtyLock)
        {
            _reconnectChange = ++_interestRequested;
        }

        Volatile.Write(ref _forceRound, 1);
        Signal();
    }

    /// <summary>NATS went away, or the link stops: nothing more can be promised, so no SUBSCRIBE waits.</summary>
    private void ReleaseSubscribeWaits()
    {
        List<ConnectionOutput>? released;
        lock (_dirtyLock)
        {
            released = TakeWaitsLocked(_ => true);
        }

        Lift(released);
    }

    private void ExpireSubscribeWaits(long now)
    {
        List<ConnectionOutput>? released;
        lock (_dirtyLock)
        {
            released = TakeWaitsLocked(w => now - w.Since >= SubscribeWaitLimit);
            _subscribeWaitTimeouts += released?.Count ?? 0;
        }

        Lift(released);
    }

    private List<ConnectionOutput>? TakeWaitsLocked(Func<(long Target, ConnectionOutput Output, long Since), bool> done)
    {
        List<ConnectionOutput>? released = null;
        for (var i = _subscribeWaits.Count - 1; i >= 0; i--)
        {
            if (done(_subscribeWaits[i]))
            {
                (released ??= []).Add(_subscribeWaits[i].Output);
                _subscribeWaits.RemoveAt(i);
            }
        }

        return released;
    }

    /// <summary>Outside every lock of ours: the outputs' own locks are taken.</summary>
    private void Lift(List<ConnectionOutput>? outputs)
    {
        foreach (var output in outputs ?? [])
        {
            output.BatchPassed(_subscribeToken);
        }
    }

    /// <summary>
    /// After the first connect: the gossip subscriptions, then the others' states are asked for and ours
    /// sent. Tried again every second until it succeeds (NATS may fail or time out a call meanwhile): until
    /// then this node neither counts the others nor is counted.
    /// </summary>
    private async Task StartGossipAsync(CancellationToken token)
    {
        string[] subjects = [_interestRoot + "*", _requestSubject, _probeSubject, _answerSubject];
        while (true)
        {
            try
            {
                // The subscriptions made by a failed attempt are kept, not made twice.
                while (_gossipSubscriptions.Count < subjects.Length)
                {
                    // Kept referenced: NATS.Net unsubscribes a subscription object that the garbage collector took.
                    var subscription = new ClusterSubscription(this, _connection, subjects[_gossipSubscriptions.Count], SubscriptionKind.Gossip, null);
                    await _connection.AddSubAsync(subscription, token).ConfigureAwait(false);
                    _gossipSubscriptions.Add(subscription);
                }

                await _connection.PingAsync(token).AsTask().WaitAsync(PingLimit, token).ConfigureAwait(false);
                _gossipReady = true;
                Resync();
                return;
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                GossipFailed(ex);
                await Task.Delay(1_000, token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>On (re)connect: ask every node for its state and send ours.</summary>
    private void Resync()
    {
        Volatile.Write(ref _requestAll, 1);
        _snapshotWanted = true;
        SignalGossip();
    }

    /// <summary>NATS's reader, for a gossip subscription: queued for the receive task, or dropped past the byte bound.</summary>
    private void ReceivedGossip(string subject, ReadOnlySequence<byte> payload)
    {
        // Only what the receive task would look at is queued: a subject of ours, or another node's
        // interest stream under a well-formed id.
        if (subject != _requestSubject && subject != _probeSubject && subject != _answerSubject
            && !(subject.StartsWith(_interestRoot, StringComparison.Ordinal) && subject != _interestSubject
                 && InterestGossip.IsNodeId(subject.AsSpan(_interestRoot.Length))))
        {
            return;
        }

        // Counted with the subject and an overhead, so that empty messages cannot pile up either.
        var cost = GossipCost(subject, payload.Length);
        if (Interlocked.Add(ref _gossipInboundBytes, cost) > GossipInboundMaxBytes)
        {
            Interlocked.Add(ref _gossipInboundBytes, -cost);
            Interlocked.Increment(ref _gossipDropped);
            return;
        }

        _gossipInbound.Writer.TryWrite((subject, payload.ToArray()));
    }

    private static long GossipCost(string subject, long payloadLength) => payloadLength + (subject.Length * 2L) + GossipItemOverhead;

    /// <summary>The gossip receive task: the only writer of <see cref="_remote"/>'s node tables besides expiry.</summary>
    private async Task GossipReceiveLoopAsync(CancellationToken token)
    {
        try
        {
            while (await _gossipInbound.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (_gossipInbound.Reader.TryRead(out var item))
                {
                    Interlocked.Add(ref _gossipInboundBytes, -GossipCost(item.Subject, item.Payload.Length));
                    try
                    {
                        await ReceiveGossipAsync(item.Subject, item.Payload, token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!token.IsCancellationRequested)
                    {
                        // One message's trouble (a failed answer, NATS.Net's own OperationCanceledException
                        // while it reconnects) does not stop the gossip.
                        GossipFailed(ex);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task ReceiveGossipAsync(string subject, byte[] payload, CancellationToken token)
    {
        if (subject == _requestSubject)
        {
            if (InterestGossip.ReadRequest(payload) is { } target && (target.Length == 0 || target == _nodeId))
            {
                _snapshotWanted = true;
                SignalGossip();
            }
        }
        else if (subject == _probeSubject)
        {
            if (InterestGossip.TryReadProbe(payload, InterestGossip.Probe, out var id, out var asker) && asker != _nodeId
                && InterestGossip.IsNodeId(asker))
            {
                await _connection.PublishAsync(_answerRoot + asker, InterestGossip.ProbeMessage(InterestGossip.Answer, id, _nodeId),
                    cancellationToken: token).ConfigureAwait(false);
            }
        }
        else if (subject == _answerSubject)
        {
            if (InterestGossip.TryReadProbe(payload, InterestGossip.Answer, out var id, out var answerer))
            {
                Answered(id, answerer);
            }
        }
        else if (subject.StartsWith(_interestRoot, StringComparison.Ordinal))
        {
            var node = subject[_interestRoot.Length..];
            if (node != _nodeId && InterestGossip.IsNodeId(node) && _remote.Apply(node, payload, Environment.TickCount64))
            {
                _requests.Enqueue(node);
                SignalGossip();
            }

            if (InterestGossip.TryReadHeader(payload, out var kind, out _) && kind == InterestGossip.Bye)
            {
                ForgetProbedNodes();
            }
        }
    }

    /// <summary>
    /// The interest task, after new NATS subscriptions and a PING: one message to every other node, and
    /// their answers. Each node's NATS server got the probe over the route from ours after the route
    /// carried our new interest, so once a node answers, its NATS server has our interest. Waits at most
    /// <see cref="ProbeTimeout"/>, and only for the nodes that may answer: those whose whole state we hold
    /// (<see cref="RemoteInterest.SyncedNodes"/>) and that have not missed <see cref="MaxProbeMisses"/>
    /// probes in a row since they last answered one or sent a new whole state. A node that leaves or
    /// expires meanwhile is waited for no more.
    /// </summary>
    private async Task ProbeNodesAsync(CancellationToken token)
    {
        if (!_gossipReady)
        {
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ulong id;
        var candidates = _remote.SyncedNodes();
        var waiting = new HashSet<string>(StringComparer.Ordinal);
        int waitedFor;
        lock (_probeLock)
        {
            foreach (var (node, syncedAt) in candidates)
            {
                if (_probeMisses.TryGetValue(node, out var missed) && missed.SyncedAt == syncedAt && missed.Misses >= MaxProbeMisses)
                {
                    continue;
                }

                waiting.Add(node);
            }

            id = ++_probeId;
            _probeWaiting = waiting;
            _probeDone = done;
            waitedFor = waiting.Count;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        var sent = false;
        try
        {
            // Sent even when no node is waited for: a node set aside for missed probes answers this one
            // and is waited for again from the next round (Answered).
            await _connection.PublishAsync(_probeSubject, InterestGossip.ProbeMessage(InterestGossip.Probe, id, _nodeId), cancellationToken: token).ConfigureAwait(false);
            sent = true;
            if (waitedFor == 0)
            {
                return;
            }

            var delay = Task.Delay(ProbeTimeout, timeout.Token);
            if (await Task.WhenAny(done.Task, delay).ConfigureAwait(false) != done.Task)
            {
                token.ThrowIfCancellationRequested();
                Interlocked.Increment(ref _probeTimeouts);
            }
        }
        finally
        {
            // The delay's timer goes now, not a second later.
            await timeout.CancelAsync().ConfigureAwait(false);
            var synced = _remote.SyncedNodes().ToDictionary(n => n.Id, n => n.SyncedAt, StringComparer.Ordinal);
            lock (_probeLock)
            {
                // A probe that never went out (our own failure) is missed by no one.
                foreach (var node in sent ? _probeWaiting ?? [] : [])
                {
                    if (synced.TryGetValue(node, out var syncedAt))
                    {
                        var misses = _probeMisses.TryGetValue(node, out var missed) && missed.SyncedAt == syncedAt ? missed.Misses : 0;
                        _probeMisses[node] = (misses + 1, syncedAt);
                    }
                }

                // Nodes gone are forgotten here too.
                foreach (var node in _probeMisses.Keys.Where(n => !synced.ContainsKey(n)).ToList())
                {
                    _probeMisses.Remove(node);
                }

                _probeWaiting = null;
                _probeDone = null;
            }
        }
    }

    /// <summary>The receive task: a node answered a probe (this one or an earlier one); it is waited for again from now.</summary>
    private void Answered(ulong id, string node)
    {
        lock (_probeLock)
        {
            _probeMisses.Remove(node);
            if (id == _probeId && _probeWaiting is { } waiting && waiting.Remove(node) && waiting.Count == 0)
            {
                _probeDone?.TrySetResult();
            }
        }
    }

    /// <summary>Nodes that said goodbye or expired: the probe being waited on waits for them no more.</summary>
    private void ForgetProbedNodes()
    {
        var nodes = new HashSet<string>(_remote.NodeIds(), StringComparer.Ordinal);
        lock (_probeLock)
        {
            if (_probeWaiting is { } waiting && waiting.RemoveWhere(n => !nodes.Contains(n)) > 0 && waiting.Count == 0)
            {
                _probeDone?.TrySetResult();
            }
        }
    }

    /// <summary>The gossip send task: the only publisher on this node's interest stream.</summary>
    private async Task GossipSendLoopAsync(CancellationToken token)
    {
        try
        {
            while (true)
            {
                await _gossipSignal.Reader.ReadAsync(token).ConfigureAwait(false);
                var now = Environment.TickCount64;
                if (_remote.Expire(now, NodeTimeout) > 0)
                {
                    Log.NodesExpired(_logger, _remote.NodeCount);
                    ForgetProbedNodes();
                }

                // The loss accounting forgets the origins the gossip forgot (or never knew) once silent.
                if (_tracker.OriginCount > 0)
                {
                    _tracker.Expire(_remote.NodeIds().Select(ForwardHeader.OriginOf).ToHashSet(), now, NodeTimeout);
                }

                if (!_gossipReady || !Connected)
                {
                    continue;
                }

                try
                {
                    if (Interlocked.Exchange(ref _requestAll, 0) == 1)
                    {
                        await _connection.PublishAsync(_requestSubject, InterestGossip.RequestMessage(null), cancellationToken: token).ConfigureAwait(false);
                    }

                    HashSet<string>? asked = null;
                    while (_requests.TryDequeue(out var node))
                    {
                        if ((asked ??= new(StringComparer.Ordinal)).Add(node))
                        {
                            await _connection.PublishAsync(_requestSubject, InterestGossip.RequestMessage(node), cancellationToken: token).ConfigureAwait(false);
                        }
                    }

                    // At most one whole state a second, whoever asks: the others' requests cannot make this node
                    // do more (the timer wakes this task to send a deferred one).
                    if (_snapshotWanted && now - _lastSnapshot >= SnapshotInterval)
                    {
                        _snapshotWanted = false;
                        _lastSnapshot = now;
                        await SendSnapshotAsync(token).ConfigureAwait(false);
                    }
                    else
                    {
                        await SendChangesAsync(token).ConfigureAwait(false);
                    }

                    if (Environment.TickCount64 - _lastSent >= HeartbeatInterval)
                    {
                        await SendAsync(InterestGossip.Message(InterestGossip.Heartbeat, _sequence), token).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    // What the others hold of us may be off now: they get our whole state next. NATS.Net
                    // throws its own OperationCanceledException (a command timeout while it reconnects): the
                    // task goes on all the same.
                    GossipFailed(ex);
                    _snapshotWanted = true;
                    await Task.Delay(500, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    /// <summary>The absolute counts of the names changed since the last round, when they differ from what the others were told.</summary>
    private async Task SendChangesAsync(CancellationToken token)
    {
        HashSet<ChannelKey> channels;
        HashSet<byte[]> patterns;
        lock (_dirtyLock)
        {
            if (_countChannels.Count == 0 && _countPatterns.Count == 0)
            {
                return;
            }

            channels = _countChannels;
            patterns = _countPatterns;
            _countChannels = new(ChannelKey.Comparer);
            _countPatterns = new(ByteArrayComparer.Instance);
        }

        var registry = _server.Registry;
        var message = new GossipMessage(this, InterestGossip.Delta);
        foreach (var channel in channels)
        {
            var count = registry.AdvertisedSubscriberCount(channel.Name, channel.Shard);
            if (Advertise(_advertisedChannels, channel, channel.Name, count))
            {
                await message.AddAsync(EntryOf(channel), count, channel.Name, token).ConfigureAwait(false);
            }
        }

        foreach (var pattern in patterns)
        {
            var count = registry.AdvertisedPatternSubscriberCount(pattern);
            if (Advertise(_advertisedPatterns, pattern, pattern, count))
            {
                await message.AddAsync(InterestGossip.PatternEntry, count, pattern, token).ConfigureAwait(false);
            }
        }

        await message.FlushAsync(token).ConfigureAwait(false);
    }

    /// <summary>This node's whole state: S, the parts, E, one sequence.</summary>
    private async Task SendSnapshotAsync(CancellationToken token)
    {
        lock (_dirtyLock)
        {
            // The snapshot reads the registry after this: it covers every change marked so far.
            _countChannels.Clear();
            _countPatterns.Clear();
        }

        var (channels, patterns, shardChannels) = _server.Registry.InterestSnapshot();
        _advertisedChannels.Clear();
        _advertisedPatterns.Clear();
        await SendAsync(InterestGossip.Message(InterestGossip.SnapshotStart, ++_sequence), token).ConfigureAwait(false);
        var message = new GossipMessage(this, InterestGossip.SnapshotPart);
        foreach (var (shard, list) in new[] { (false, channels), (true, shardChannels) })
        {
            foreach (var (name, count) in list)
            {
                var key = new ChannelKey(name, shard);
                if (Advertise(_advertisedChannels, key, name, count))
                {
                    await message.AddAsync(EntryOf(key), count, name, token).ConfigureAwait(false);
                }
            }
        }

        foreach (var (name, count) in patterns)
        {
            if (Advertise(_advertisedPatterns, name, name, count))
            {
                await message.AddAsync(InterestGossip.PatternEntry, count, name, token).ConfigureAwait(false);
            }
        }

        await message.FlushAsync(token).ConfigureAwait(false);
        await SendAsync(InterestGossip.Message(InterestGossip.SnapshotEnd, ++_sequence), token).ConfigureAwait(false);
    }

    /// <summary>A channel's gossip entry type: a channel's or a shard channel's.</summary>
    private static byte EntryOf(ChannelKey channel) => channel.Shard ? InterestGossip.ShardChannelEntry : InterestGossip.ChannelEntry;

    /// <summary>Records what the others are told of a name (<paramref name="key"/>: it and its kind); false when it is what they hold already, or too long to tell.</summary>
    private bool Advertise<TKey>(Dictionary<TKey, int> advertised, TKey key, byte[] name, int count)
        where TKey : notnull
    {
        if (name.Length > MaxAdvertisedName)
        {
            Interlocked.Increment(ref _unadvertised);
            return false;
        }

        advertised.TryGetValue(key, out var old);
        if (old == count)
        {
            return false;
        }

        if (count == 0)
        {
            advertised.Remove(key);
        }
        else
        {
            advertised[key] = count;
        }

        return true;
    }

    /// <summary>The longest name told to the others: one entry must fit in one NATS message.</summary>
    private int MaxAdvertisedName => _maxPayload - InterestGossip.HeaderLength - InterestGossip.EntryOverhead;

    private async Task SendAsync(byte[] message, CancellationToken token)
    {
        await _connection.PublishAsync(_interestSubject, message, cancellationToken: token).ConfigureAwait(false);
        _lastSent = Environment.TickCount64;
    }

    /// <summary>Entries packed into messages of about <see cref="GossipChunk"/> bytes, each with the next sequence number.</summary>
    private sealed class GossipMessage(ClusterLink link, byte kind)
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(GossipChunk);

        public async Task AddAsync(byte type, int count, byte[] name, CancellationToken token)
        {
            var length = InterestGossip.EntryOverhead + name.Length;
            if (_buffer.WrittenCount > 0 && _buffer.WrittenCount + length > GossipChunk)
            {
                await FlushAsync(token).ConfigureAwait(false);
            }

            if (_buffer.WrittenCount == 0)
            {
                InterestGossip.WriteHeader(_buffer.GetSpan(InterestGossip.HeaderLength), kind, 0);
                _buffer.Advance(InterestGossip.HeaderLength);
            }

            _buffer.Advance(InterestGossip.WriteEntry(_buffer.GetSpan(length), type, count, name));
        }

        public async Task FlushAsync(CancellationToken token)
        {
            if (_buffer.WrittenCount == 0)
            {
                return;
            }

            var bytes = _buffer.WrittenSpan.ToArray();
            InterestGossip.WriteHeader(bytes, kind, ++link._sequence);
            _buffer.ResetWrittenCount();
            await link.SendAsync(bytes, token).ConfigureAwait(false);
        }
    }
}
