using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Output;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// A cluster's channel history, kept in one JetStream stream (docs/cluster.md#history): a PUBLISH to a
/// channel with history on any node is published to the stream, and every node applies the stream, in its
/// order, to its own copy of the histories — the streams of the channels' names, with the ids the stream's
/// order gives (<c>ms-seq</c>, seq the JetStream sequence) — and then delivers the message to its own
/// subscribers. So the ids, and a follower's cursor, are the same on every node, and a client that moves to
/// another node resumes there exactly.
/// <para>
/// Who does what. Any read loop calls <see cref="Publish"/>, which numbers the message (its ticket) and
/// queues it, in ticket order, under <see cref="_lock"/>. The send task alone publishes the queue to NATS,
/// each with a reply subject of its own ticket. NATS.Net's reader hands the acknowledgements (the stream's
/// sequence, or an error) to the ack task. The apply task alone reads the stream (an ordered consumer from the
/// last sequence this node applied) and applies each message under <see cref="KeyStore.Gate"/>, then delivers
/// it through its own <see cref="DeliveryBatch"/>. A ticket is resolved once it failed, or once it was
/// acknowledged and this node applied its sequence; tickets resolve in order (<see cref="_resolved"/>), and
/// the connection that published it goes on only then (its replies wait: RespConnection.HoldingForLog).
/// </para>
/// <para>
/// <see cref="_lock"/> protects the tickets: <see cref="_issued"/> and the order of the send queue,
/// <see cref="_inFlight"/>, <see cref="_unacked"/>, <see cref="_applied"/>, <see cref="_recent"/>,
/// <see cref="_resolved"/> and <see cref="_waits"/>. It is never held across I/O, nor with the gate.
/// </para>
/// </summary>
internal sealed partial class SharedHistory
{
    /// <summary>Messages waiting to be sent to JetStream; past it (or <see cref="OutgoingMaxBytes"/>) a PUBLISH is refused.</summary>
    public const int OutgoingCapacity = 65_536;

    public const long OutgoingMaxBytes = 64L * 1024 * 1024;

    /// <summary>A message JetStream has not acknowledged after this long fails (its publisher is told so; it may still have been kept).</summary>
    public static readonly TimeSpan AckLimit = TimeSpan.FromSeconds(10);

    /// <summary>An acknowledged message this node has not applied after this long fails too (the stream is not readable from here).</summary>
    public static readonly TimeSpan ApplyLimit = TimeSpan.FromSeconds(30);

    /// <summary>The stream keeps this many times history-max-memory (on the NATS servers' disks): a node's copy never holds more than that.</summary>
    public const long StreamBytesPerHistoryByte = 4;

    /// <summary>An unanswered message this old stops new sends (see SendLoopAsync).</summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromMilliseconds(500);

    /// <summary>An unanswered message is sent again (same Nats-Msg-Id) this long after its last send.</summary>
    public static readonly TimeSpan ResendAfter = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan StallPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>How long setting up the stream may take before it is tried again.</summary>
    private static readonly TimeSpan SetupLimit = TimeSpan.FromSeconds(2);

    /// <summary>Messages delivered in one batch at most: their sends wait for the batch's end.</summary>
    private const int DeliveriesPerBatch = 256;

    /// <summary>Ids of the last messages applied, for acknowledgements that come after their message was applied.</summary>
    private const int RecentCapacity = 65_536;

    private readonly ServerContext _server;
    private readonly NatsConnection _connection;
    private readonly NatsJSContext _js;
    private readonly ClusterOptions _options;
    private readonly ILogger _logger;
    private readonly string _subjectRoot;
    private readonly string _inboxRoot;
    private readonly string _msgIdRoot;
    private readonly Channel<HistoryPublish> _outgoing = Channel.CreateBounded<HistoryPublish>(
        new BoundedChannelOptions(OutgoingCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Lock _lock = new();
    private long _issued;
    private long _outgoingBytes;
    private readonly Queue<HistoryPublish> _inFlight = new();
    private readonly Dictionary<long, HistoryPublish> _unacked = [];
    private readonly Dictionary<ulong, HistoryPublish> _awaitingApply = [];
    private ulong _knownLast; // the greatest stream sequence known to exist (the stream's last at a session's start, acks, applies)
    private readonly (ulong Seq, StreamId Id)[] _recent = new (ulong, StreamId)[RecentCapacity];
    private ulong _applied;
    private long _resolved;
    private readonly PriorityQueue<TaskCompletionSource, long> _waits = new();
    private readonly PriorityQueue<TaskCompletionSource, ulong> _appliedWaits = new();

    // The apply task's own. _started: the first catch-up after the node's start is over.
    private ulong _lastMs;
    private bool _started;

    /// <summary>The apply task's current read of the stream; cancelled by <see cref="Reconnected"/> (NATS.Net's event).</summary>
    private CancellationTokenSource? _session;

    /// <summary>Heartbeats every second, so a consumer lost with its NATS server is noticed within a few seconds.</summary>
    private static readonly NatsJSConsumeOpts ConsumeOptions = new() { MaxMsgs = 1_000, Expires = TimeSpan.FromSeconds(5), IdleHeartbeat = TimeSpan.FromSeconds(1) };
    private int _missedAtStart;
    private readonly DeliveryBatch _batch; // the apply task's: open over the messages at hand, at most DeliveriesPerBatch
    private int _batched; // messages delivered in the open batch

    private volatile bool _streamReady;
    private long _published;
    private long _applies;
    private long _failed;
    private long _missed;
    private long _resent;
    private long _lastFailureLog;

    public SharedHistory(ServerContext server, NatsConnection connection, ClusterOptions options, ILogger logger)
    {
        _server = server;
        _connection = connection;
        _options = options;
        _logger = logger;
        _js = new NatsJSContext(connection);
        StreamName = StreamNameFor(options.SubjectPrefix);
        _subjectRoot = options.SubjectPrefix + ".s.";
        _inboxRoot = "_INBOX." + server.RunId[..16] + ".h.";
        _msgIdRoot = server.RunId + ":";
        _batch = new DeliveryBatch(server.FanOuts);
    }

    /// <summary>The JetStream stream: <c>NOTISTREAM_</c> and the subject prefix, its characters that a stream name cannot hold as <c>_</c>.</summary>
    public string StreamName { get; }

    /// <summary>The stream exists and this node reads it: PUBLISH to a channel with history is taken.</summary>
    public bool Ready => _streamReady && _connection.ConnectionState == NatsConnectionState.Open;

    /// <summary>The last stream sequence this node applied.</summary>
    public ulong Applied
    {
        get
        {
            lock (_lock)
            {
                return _applied;
            }
        }
    }

    public static string StreamNameFor(string prefix)
        => "NOTISTREAM_" + new string([.. prefix.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')]);

    public void Start(List<Task> tasks, CancellationToken token)
    {
        tasks.Add(Task.Run(() => SendLoopAsync(token), CancellationToken.None));
        tasks.Add(Task.Run(() => AckLoopAsync(token), CancellationToken.None));
        tasks.Add(Task.Run(() => ApplyLoopAsync(token), CancellationToken.None));
    }

    /// <summary>NATS.Net reconnected: the consumer's session ends, and the apply task reads on from what it applied.</summary>
    public void Reconnected()
    {
        if (Volatile.Read(ref _session) is { } session)
        {
            try
            {
                session.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>
    /// A PUBLISH (or NOTI.PUBLISH) to a channel with history: queued for JetStream without waiting. Returns the
    /// message's ticket, or null with <paramref name="error"/> when it cannot be taken now (NATS or the stream not
    /// reachable, the queue full). <paramref name="owner"/> is told if it fails later; <paramref name="block"/>
    /// (NOTI.PUBLISH) is woken when it resolves. Any read loop.
    /// </summary>
    public HistoryPublish? Publish(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, HistoryPublishOwner owner, BlockedCommand? block, out string? error)
    {
        if (!Ready)
        {
            error = "-CLUSTERDOWN the channel's history is kept in NATS JetStream, which this node cannot reach now";
            return null;
        }

        var payload = new byte[4 + channel.Length + message.Length];
        BinaryPrimitives.WriteInt32BigEndian(payload, channel.Length);
        channel.CopyTo(payload.AsSpan(4));
        message.CopyTo(payload.AsSpan(4 + channel.Length));
        var subject = _subjectRoot + SubjectTail(channel);
        var publish = new HistoryPublish(subject, payload, owner, block) { QueuedAt = Environment.TickCount64 };
        lock (_lock)
        {
            if (_outgoingBytes + payload.Length > OutgoingMaxBytes)
            {
                error = "-CLUSTERDOWN too many messages are waiting for NATS JetStream; try again";
                return null;
            }

            publish.Ticket = _issued + 1;
            if (!_outgoing.Writer.TryWrite(publish))
            {
                error = "-CLUSTERDOWN too many messages are waiting for NATS JetStream; try again";
                return null;
            }

            _issued++;
            _outgoingBytes += payload.Length;
            _inFlight.Enqueue(publish);
        }

        error = null;
        return publish;
    }

    /// <summary>
    /// The link stops: every ticket not resolved fails, so that no connection waits for an answer that will not
    /// come (shutdown closes them right after).
    /// </summary>
    public void Stop()
    {
        List<HistoryPublish>? woken;
        lock (_lock)
        {
            foreach (var publish in _inFlight)
            {
                if (publish.Error is null && !(publish.Seq > 0 && publish.Seq <= _applied))
                {
                    publish.Error = "-CLUSTERDOWN the server is shutting down; the message may have been kept";
                    publish.FailOwner();
                }
            }

            _unacked.Clear();
            _awaitingApply.Clear();
            woken = ResolveLocked();
        }

        _outgoing.Writer.TryComplete();
        Wake(woken);
    }

    /// <summary>How long a NOTI.SUBSCRIBE with a cursor this node has not applied yet waits for it.</summary>
    public static readonly TimeSpan CursorWaitLimit = TimeSpan.FromSeconds(2);

    /// <summary>Completes once this node has applied the stream up to <paramref name="seq"/>, or after <see cref="CursorWaitLimit"/>.</summary>
    public Task WaitAppliedAsync(ulong seq)
    {
        lock (_lock)
        {
            // A sequence the stream never had (another stream's, a made-up one) is not waited for.
            if (_applied >= seq || seq > _knownLast)
            {
                return Task.CompletedTask;
            }

            var wait = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _appliedWaits.Enqueue(wait, seq);
            return wait.Task.WaitAsync(CursorWaitLimit).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>Completes once every ticket up to <paramref name="ticket"/> is resolved (acknowledged and applied here, or failed).</summary>
    public Task WaitResolvedAsync(long ticket)
    {
        lock (_lock)
        {
            if (_resolved >= ticket)
            {
                return Task.CompletedTask;
            }

            var wait = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waits.Enqueue(wait, ticket);
            return wait.Task;
        }
    }

    public void AppendInfo(Action<string, object> line)
    {
        line("nats_history", "jetstream");
        line("nats_history_stream", StreamName);
        line("nats_history_ready", Ready ? 1 : 0);
        line("nats_history_applied_seq", Applied);
        line("nats_history_published", Interlocked.Read(ref _published));
        line("nats_history_applied", Interlocked.Read(ref _applies));
        line("nats_history_failed", Interlocked.Read(ref _failed));
        line("nats_history_missed", Interlocked.Read(ref _missed));
        line("nats_history_resent", Interlocked.Read(ref _resent));
    }

    /// <summary>The subject's tokens after the prefix, as the live subjects have them (<c>c.…</c>, or <c>h.&lt;hash&gt;</c> for a long channel).</summary>
    private string SubjectTail(ReadOnlySpan<byte> channel)
    {
        var live = new SubjectMapping(_options.SubjectPrefix).SubjectFor(channel, out _);
        return live[(_options.SubjectPrefix.Length + 1)..];
    }

    /// <summary>
    /// The send task: one publish at a time, in ticket order, each asking for its acknowledgement on its own subject
    /// and carrying its own <c>Nats-Msg-Id</c>, so that sending it again cannot store it twice (JetStream answers a
    /// repeat within its duplicate window with the first one's sequence). While the oldest unanswered message is
    /// older than <see cref="StallLimit"/> (JetStream lost its stream leader, say) nothing new is sent; what is
    /// unanswered after <see cref="ResendAfter"/> is sent again, in ticket order, and then the queue goes on. So the
    /// messages in flight when a leader died are not overtaken by the ones after them, beyond those sent within
    /// <see cref="StallLimit"/> of the failure.
    /// </summary>
    private async Task SendLoopAsync(CancellationToken token)
    {
        Task<bool>? idle = null;
        try
        {
            while (true)
            {
                await ResendAsync(token).ConfigureAwait(false);
                if (Stalled())
                {
                    await Task.Delay(StallPoll, token).ConfigureAwait(false);
                    continue;
                }

                if (!_outgoing.Reader.TryRead(out var publish))
                {
                    // Nothing queued: wake for the next message, or to look at what is unanswered.
                    // One wait at a time, kept across the polls (a new one each poll would pile up in the channel).
                    idle ??= _outgoing.Reader.WaitToReadAsync(token).AsTask();
                    if (await Task.WhenAny(idle, Task.Delay(StallPoll, token)).ConfigureAwait(false) == idle)
                    {
                        var more = await idle.ConfigureAwait(false);
                        idle = null;
                        if (!more)
                        {
                            return;
                        }
                    }

                    continue;
                }

                lock (_lock)
                {
                    _outgoingBytes -= publish.Payload!.Length;
                    if (publish.Error is not null)
                    {
                        continue; // failed while queued (AckLimit, shutdown): never sent
                    }

                    publish.SentAt = publish.LastSentAt = Environment.TickCount64;
                    _unacked[publish.Ticket] = publish;
                }

                await SendAsync(publish, publish.Payload, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(HistoryPublish publish, byte[] payload, CancellationToken token)
    {
        try
        {
            var ticket = publish.Ticket.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var headers = new NatsHeaders { ["Nats-Msg-Id"] = _msgIdRoot + ticket };
            await _connection.PublishAsync(publish.Subject, payload, headers, replyTo: _inboxRoot + ticket, cancellationToken: token).ConfigureAwait(false);
            Interlocked.Increment(ref _published);
        }
        catch (Exception ex) when (!token.IsCancellationRequested)
        {
            // NATS.Net could not send it (not connected, its own timeout): sent again after ResendAfter, until AckLimit.
            LogFailure("NATS did not take a message, it is sent again: " + ex.Message);
        }
    }

    /// <summary>Whether the oldest unanswered message waits longer than <see cref="StallLimit"/>.</summary>
    private bool Stalled()
    {
        var now = Environment.TickCount64;
        lock (_lock)
        {
            return OldestUnanswered() is { } oldest && now - oldest.SentAt > StallLimit.TotalMilliseconds;
        }
    }

    /// <summary>
    /// Under <see cref="_lock"/>: the first message in ticket order that was sent and is not answered. Messages are sent
    /// (and sent again) in ticket order, so it is the one that has waited longest; the walk stops at the first one
    /// not sent yet, and what lies before it is answered (waiting only to be applied here), so it is short.
    /// </summary>
    private HistoryPublish? OldestUnanswered()
    {
        foreach (var publish in _inFlight)
        {
            if (publish.Error is not null || publish.Seq > 0)
            {
                continue;
            }

            return publish.SentAt == 0 ? null : publish;
        }

        return null;
    }

    /// <summary>Sends again, in ticket order, what is unanswered since <see cref="ResendAfter"/>.</summary>
    private async Task ResendAsync(CancellationToken token)
    {
        List<HistoryPublish>? due = null;
        var now = Environment.TickCount64;
        lock (_lock)
        {
            // Once one is due, every one unanswered goes again, oldest first: a later one never overtakes an earlier.
            if (OldestUnanswered() is { } oldest && now - oldest.LastSentAt >= ResendAfter.TotalMilliseconds)
            {
                due = [.. _unacked.Values];
            }
        }

        if (due is null)
        {
            return;
        }

        due.Sort((a, b) => a.Ticket.CompareTo(b.Ticket));
        foreach (var publish in due)
        {
            byte[] payload;
            lock (_lock)
            {
                if (!_unacked.ContainsKey(publish.Ticket) || publish.Payload is null)
                {
                    continue; // answered or expired meanwhile
                }

                publish.LastSentAt = Environment.TickCount64;
                payload = publish.Payload;
            }

            Interlocked.Increment(ref _resent);
            await SendAsync(publish, payload, token).ConfigureAwait(false);
        }
    }

    /// <summary>The ack task: JetStream's answers on this node's reply subjects, and the expiry of those that do not come.</summary>
    private async Task AckLoopAsync(CancellationToken token)
    {
        using var timer = new Timer(_ => ExpireUnanswered(), null, 1000, 1000);
        while (!token.IsCancellationRequested)
        {
            try
            {
                await foreach (var reply in _connection.SubscribeAsync<byte[]>(_inboxRoot + "*", cancellationToken: token).ConfigureAwait(false))
                {
                    OnAck(reply);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogFailure(ex.Message);
                await Task.Delay(1000, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private void OnAck(NatsMsg<byte[]> reply)
    {
        if (!long.TryParse(reply.Subject.AsSpan(_inboxRoot.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ticket))
        {
            return;
        }

        string? error = null;
        ulong seq = 0;
        if (reply.Headers?.Code == 503 || reply.HasNoResponders)
        {
            // No stream leader now (an election, or no stream at all): sent again, failed after AckLimit.
            MarkForResend(ticket);
            return;
        }
        else
        {
            try
            {
                using var json = JsonDocument.Parse(reply.Data ?? []);
                if (json.RootElement.TryGetProperty("error", out var problem)
                    && problem.TryGetProperty("code", out var code) && code.TryGetInt32(out var status) && status == 503)
                {
                    // "JetStream system temporarily unavailable": as above.
                    MarkForResend(ticket);
                    return;
                }

                if (json.RootElement.TryGetProperty("error", out problem))
                {
                    error = "-CLUSTERDOWN NATS JetStream refused the message: "
                        + (problem.TryGetProperty("description", out var text) ? text.GetString() : problem.ToString());
                }
                else if (json.RootElement.TryGetProperty("seq", out var number) && number.TryGetUInt64(out seq) && seq > 0)
                {
                }
                else
                {
                    error = "-CLUSTERDOWN NATS JetStream gave an unreadable answer";
                }
            }
            catch (JsonException)
            {
                error = "-CLUSTERDOWN NATS JetStream gave an unreadable answer";
            }
        }

        List<HistoryPublish>? woken;
        lock (_lock)
        {
            if (!_unacked.Remove(ticket, out var publish))
            {
                return; // expired meanwhile: its publisher was told it failed
            }

            if (error is not null)
            {
                publish.Error = error;
                Interlocked.Increment(ref _failed);
                publish.FailOwner();
            }
            else
            {
                publish.Seq = seq;
                publish.AckedAt = Environment.TickCount64;
                _knownLast = Math.Max(_knownLast, seq);
                publish.Payload = null; // never sent again: only its id is still to come
                if (seq <= _applied)
                {
                    var slot = _recent[seq % RecentCapacity];
                    publish.Id = slot.Seq == seq ? slot.Id : null;
                }
                else
                {
                    _awaitingApply[seq] = publish;
                }
            }

            woken = ResolveLocked();
        }

        Wake(woken);
    }

    /// <summary>A transient refusal: the send task sends it again at its next look.</summary>
    private void MarkForResend(long ticket)
    {
        lock (_lock)
        {
            if (_unacked.TryGetValue(ticket, out var publish))
            {
                // Not at once: after ResendAfter, with every message unanswered, in order.
                publish.LastSentAt = Math.Min(publish.LastSentAt, Environment.TickCount64);
            }
        }
    }

    private void Fail(HistoryPublish publish, string error)
    {
        List<HistoryPublish>? woken;
        lock (_lock)
        {
            _unacked.Remove(publish.Ticket);
            publish.Error = error;
            publish.FailOwner();
            woken = ResolveLocked();
        }

        Interlocked.Increment(ref _failed);
        LogFailure(error);
        Wake(woken);
    }

    /// <summary>Once a second: messages JetStream has not answered within <see cref="AckLimit"/>, or this node not applied within <see cref="ApplyLimit"/>, fail.</summary>
    private void ExpireUnanswered()
    {
        var now = Environment.TickCount64;
        List<HistoryPublish>? woken;
        var expired = 0;
        lock (_lock)
        {
            foreach (var publish in _inFlight)
            {
                if (publish.Error is not null || publish.Seq > 0 && publish.Seq <= _applied)
                {
                    continue;
                }

                if (publish.Seq == 0 && now - publish.QueuedAt >= AckLimit.TotalMilliseconds)
                {
                    _unacked.Remove(publish.Ticket);
                    // Sent or still queued (the send task holds back while JetStream does not answer).
                    publish.Error = "-CLUSTERDOWN NATS JetStream did not confirm the message within "
                        + AckLimit.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s; it may have been kept";
                }
                else if (publish.Seq > 0 && now - publish.AckedAt >= ApplyLimit.TotalMilliseconds)
                {
                    _awaitingApply.Remove(publish.Seq);
                    publish.Error = "-CLUSTERDOWN NATS JetStream kept the message, but this node has not read it back within "
                        + ApplyLimit.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " s";
                }
                else
                {
                    continue;
                }

                publish.FailOwner();
                expired++;
            }

            woken = expired > 0 ? ResolveLocked() : null;
        }

        if (expired > 0)
        {
            Interlocked.Add(ref _failed, expired);
            LogFailure($"{expired} message(s) not confirmed by NATS JetStream in time");
        }

        Wake(woken);
    }

    /// <summary>Under <see cref="_lock"/>: resolves the tickets at the head of <see cref="_inFlight"/> that are done; returns those to wake.</summary>
    private List<HistoryPublish>? ResolveLocked()
    {
        List<HistoryPublish>? woken = null;
        while (_inFlight.TryPeek(out var head))
        {
            if (head.Error is null)
            {
                if (head.Seq == 0 || head.Seq > _applied)
                {
                    break;
                }

                if (head.Id is null)
                {
                    _awaitingApply.Remove(head.Seq);
                    head.Error = "-ERR the message was kept, but its id is no longer known here";
                }
            }

            _inFlight.Dequeue();
            head.Done = true;
            _resolved = head.Ticket;
            if (head.Block is not null)
            {
                (woken ??= []).Add(head);
            }
        }

        while (_waits.TryPeek(out var wait, out var ticket) && ticket <= _resolved)
        {
            _waits.Dequeue();
            wait.TrySetResult();
        }

        while (_appliedWaits.TryPeek(out var wait, out var seq) && seq <= _applied)
        {
            _appliedWaits.Dequeue();
            wait.TrySetResult();
        }

        return woken;
    }

    private static void Wake(List<HistoryPublish>? woken)
    {
        foreach (var publish in woken ?? [])
        {
            publish.Block!.Wake();
        }
    }

    /// <summary>
    /// The apply task: sets up the stream, then reads it from the message after the last one this node applied
    /// (an ordered consumer, which NATS.Net sets up again after a reconnect or a lost message), and applies
    /// each in order; after a failure it starts over a second later.
    /// </summary>
    private async Task ApplyLoopAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (_connection.ConnectionState != NatsConnectionState.Open)
                {
                    _streamReady = false;
                    await Task.Delay(200, token).ConfigureAwait(false);
                    continue;
                }

                INatsJSStream stream;
                using (var setup = CancellationTokenSource.CreateLinkedTokenSource(token))
                {
                    // Unanswered (the stream being set up by another node at the same moment): tried again soon.
                    setup.CancelAfter(SetupLimit);
                    stream = await EnsureStreamAsync(setup.Token).ConfigureAwait(false);
                }

                // At start, from this node's copy; after that, from what this task applied (a history's ids may
                // be from before a renewal of the stream, below).
                var (from, lastMs) = _started ? (Applied, _lastMs) : LocalPosition();
                _lastMs = Math.Max(_lastMs, lastMs);
                var state = stream.Info.State;
                var catchUpTo = state.LastSeq;
                lock (_lock)
                {
                    _knownLast = Math.Max(_knownLast, catchUpTo);
                }

                var fresh = from == 0 && !_started; // this node's first read, with no copy of its own
                if (catchUpTo < from)
                {
                    // The stream holds less than this node applied: it was deleted and made again (or its storage
                    // lost). Read the new one from its start; what the old one held and this node had not read is
                    // lost without a record, so a cursor from before now hears of a gap of unknown size.
                    Log.StreamRenewed(_logger, StreamName, from, catchUpTo);
                    List<HistoryPublish>? woken;
                    lock (_lock)
                    {
                        _applied = 0;
                        _knownLast = catchUpTo;
                        Array.Clear(_recent);
                        _awaitingApply.Clear();
                        foreach (var publish in _inFlight)
                        {
                            if (publish.Error is null && publish.Seq > 0)
                            {
                                // Acknowledged by the old stream, or by the new one as a number this node cannot place.
                                publish.Error = "-CLUSTERDOWN the history's JetStream stream was made again; the message may not be kept";
                                publish.FailOwner();
                            }
                        }

                        woken = ResolveLocked();
                    }

                    Wake(woken);
                    fresh = false;

                    LostBefore(new StreamId(_lastMs, from + 1));
                    from = 0;
                }

                var consumer = await _js.CreateOrderedConsumerAsync(StreamName, new NatsJSOrderedConsumerOpts
                {
                    DeliverPolicy = from == 0 ? ConsumerConfigDeliverPolicy.All : ConsumerConfigDeliverPolicy.ByStartSequence,
                    OptStartSeq = from == 0 ? 0 : from + 1,
                }, token).ConfigureAwait(false);
                lock (_lock)
                {
                    _applied = Math.Max(_applied, from);
                }

                Log.Reading(_logger, StreamName, from + 1, catchUpTo);

                // At the node's start, what the stream held then is history only (its subscribers were not
                // there); after a reconnect, everything read is new to them and delivered.
                var silentTo = _started ? 0 : catchUpTo;
                var next = from + 1;

                // Nothing left to read (caught up, or what the stream still counts has aged out of it).
                var caughtUp = catchUpTo <= from || state.Messages == 0;
                if (caughtUp)
                {
                    if (from < catchUpTo && (from > 0 || _started))
                    {
                        // What this node had not read aged out of the stream meanwhile.
                        LostBefore(new StreamId(_lastMs, from + 1));
                    }

                    CaughtUp(catchUpTo == from || from == 0, null);
                    fresh = false; // complete as it is: a message published from now on is no start of a copy
                }

                // A session per connection: a reconnect (Reconnected) ends it, and the loop reads on from what
                // this node applied, at once rather than when the consumer's heartbeats say it is gone.
                using var session = CancellationTokenSource.CreateLinkedTokenSource(token);
                Volatile.Write(ref _session, session);
                if (_connection.ConnectionState != NatsConnectionState.Open)
                {
                    continue;
                }

                // Enumerated by hand so that the deliveries of the messages already at hand go out in one batch:
                // the batch ends (its sends) when the next message is not there yet, or after DeliveriesPerBatch.
                var messages = consumer.ConsumeAsync<byte[]>(opts: ConsumeOptions, cancellationToken: session.Token).GetAsyncEnumerator(session.Token);
                try
                {
                    while (true)
                    {
                        var moving = messages.MoveNextAsync();
                        if (!moving.IsCompleted)
                        {
                            EndDeliveries();
                        }

                        if (!await moving.ConfigureAwait(false))
                        {
                            break;
                        }

                        var message = messages.Current;
                        if (message.Metadata is not { } metadata)
                        {
                            continue;
                        }

                        var seq = metadata.Sequence.Stream;
                        var hole = !fresh && seq > next;
                        if (hole)
                        {
                            // Removed from the stream (its age or size bound) before this node read them: which channels
                            // lost what is not known, so every follower and every NOTI.SUBSCRIBE from a cursor before
                            // this message hears of a gap of unknown size. Said before the message is applied.
                            LostBefore(IdFor(seq, metadata.Timestamp));
                        }

                        var id = Apply(message.Data ?? [], seq, metadata.Timestamp, live: seq > silentTo);
                        if (fresh)
                        {
                            // A copy built from the stream alone: complete from its first message on, whatever a start
                            // without the log marked; before it, what the stream's bounds removed is not known here.
                            SetIncompleteBefore(seq > 1 ? id ?? new StreamId(_lastMs, seq) : StreamId.Min);
                            fresh = false;
                        }
                        else if (hole)
                        {
                            Interlocked.Add(ref _missed, (long)(seq - next));
                            Log.Missed(_logger, StreamName, seq - next, next, seq - 1);
                        }

                        next = seq + 1;
                        if (!caughtUp && seq >= catchUpTo)
                        {
                            caughtUp = true;
                            CaughtUp(from == 0 ? true : _missedAtStart == 0, id);
                        }
                    }
                }
                finally
                {
                    EndDeliveries();
                    await messages.DisposeAsync().ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                // The session ended (a reconnect): read on from what was applied.
            }
            catch (Exception ex)
            {
                _streamReady = false;
                LogFailure(ex.Message);
                await Task.Delay(1000, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>The stream as it is; made with this node's bounds when no node has made it yet.</summary>
    private async Task<INatsJSStream> EnsureStreamAsync(CancellationToken token)
    {
        var rules = _server.Options.ChannelHistory;
        // No rule here (channel-history none): the stream is still read, for what other nodes keep and deliver.
        var longest = rules.Count == 0 || rules.Any(r => r.MaxAge <= TimeSpan.Zero) ? TimeSpan.Zero : rules.Max(r => r.MaxAge);
        var config = new StreamConfig(StreamName, [_subjectRoot + ">"])
        {
            Storage = StreamConfigStorage.File,
            NumReplicas = _options.HistoryReplicas > 0 ? _options.HistoryReplicas : 3,

            // Age and size only, never a count per channel: a burst on one channel must not remove what a slower
            // node has not read yet. Each node trims its copy to its own rules.
            MaxAge = longest,
            MaxBytes = _server.Options.HistoryMaxMemory > 0 ? StreamBytesPerHistoryByte * _server.Options.HistoryMaxMemory : -1,
            Discard = StreamConfigDiscard.Old,
        };
        // Made by the first node that finds it missing, and never changed by a node after: the nodes' rules may
        // differ, and the last one to start must not shrink what the others have not read yet.
        if (await FindStreamAsync(token).ConfigureAwait(false) is { } made)
        {
            return made;
        }

        try
        {
            return await _js.CreateStreamAsync(config, token).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (!token.IsCancellationRequested)
        {
            if (await FindStreamAsync(token).ConfigureAwait(false) is { } existing)
            {
                // Another node made it at the same moment: used as it is.
                Log.StreamKept(_logger, StreamName, ex.Error.Description ?? ex.Message);
                return existing;
            }

            if (_options.HistoryReplicas > 0)
            {
                throw;
            }

            // Fewer than three JetStream servers (one server alone, say): one replica, said in the log.
            Log.OneReplica(_logger, StreamName, ex.Error.Description ?? ex.Message);
            return await _js.CreateStreamAsync(config with { NumReplicas = 1 }, token).ConfigureAwait(false);
        }
    }

    private async Task<INatsJSStream?> FindStreamAsync(CancellationToken token)
    {
        try
        {
            return await _js.GetStreamAsync(StreamName, cancellationToken: token).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return null;
        }
    }

    /// <summary>Where this node's copy stands: the greatest stream sequence among the histories' last ids, and its millisecond.</summary>
    private (ulong Seq, ulong Ms) LocalPosition()
    {
        var keys = _server.Keys;
        ulong seq = 0, ms = 0;
        lock (keys.Gate)
        {
            foreach (var (_, value) in keys.Find(ChannelHistory.Database)?.Entries ?? [])
            {
                if (value is StreamValue { IsChannelHistory: true } stream && stream.LastId.Seq > seq)
                {
                    (seq, ms) = (stream.LastId.Seq, stream.LastId.Ms);
                }
            }
        }

        lock (_lock)
        {
            if (_applied > seq)
            {
                (seq, ms) = (_applied, _lastMs);
            }
        }

        return (seq, ms);
    }

    /// <summary>Applies one message of the stream: kept in its channel's history (under this node's rule), then delivered when <paramref name="live"/>.</summary>
    private StreamId? Apply(byte[] payload, ulong seq, DateTimeOffset stored, bool live)
    {
        if (!SubjectMapping.TryReadPayload(payload, out var channelBytes, out var messageBytes))
        {
            Advance(seq, null);
            return null;
        }

        var channel = channelBytes.Span;
        var message = messageBytes.Span;

        var id = IdFor(seq, stored);
        _lastMs = id.Ms;
        var keys = _server.Keys;
        var options = _server.Options;
        if (HistoryRule.For(options.ChannelHistory, channel) is { } rule)
        {
            var now = ChannelHistory.NowMs();
            lock (keys.Gate)
            {
                ChannelHistory.AppendLocked(keys, channel, message, rule, options.HistoryMaxMemory, now, id);
            }
        }

        if (live)
        {
            // In the batch the apply loop keeps open over the messages at hand (EndDeliveries sends). Queued on
            // the subscribers' outputs before the publisher's reply is woken (Advance), as a read loop's
            // fan-out is queued before its replies.
            if (!_batch.InBatch)
            {
                _batch.Begin();
            }

            var delivered = _server.Registry.Publish(channel, message, _batch);
            _batch.AfterCommand();
            _batch.FlushStaged();
            Interlocked.Add(ref _server.Stats.PubSubMessagesDelivered, delivered);
            if (++_batched >= DeliveriesPerBatch)
            {
                EndDeliveries();
            }
        }

        Interlocked.Increment(ref _applies);
        Advance(seq, id);
        return id;
    }

    /// <summary>Ends the apply loop's delivery batch, if open: what it queued is sent.</summary>
    private void EndDeliveries()
    {
        if (_batch.InBatch)
        {
            _batched = 0;
            _batch.End();
        }
    }

    /// <summary>The stream's order decides the ids: its timestamp, never going back, and its sequence.</summary>
    private StreamId IdFor(ulong seq, DateTimeOffset stored) => new(Math.Max((ulong)Math.Max(0, stored.ToUnixTimeMilliseconds()), _lastMs), seq);

    private void Advance(ulong seq, StreamId? id)
    {
        List<HistoryPublish>? woken;
        lock (_lock)
        {
            _applied = Math.Max(_applied, seq);
            _knownLast = Math.Max(_knownLast, seq);
            if (id is { } given)
            {
                _recent[seq % RecentCapacity] = (seq, given);
            }

            if (_awaitingApply.Remove(seq, out var acknowledged))
            {
                acknowledged.Id = id;
            }

            woken = ResolveLocked();
        }

        Wake(woken);
    }

    private StreamId LastGivenId()
    {
        lock (_server.Keys.Gate)
        {
            return _server.Keys.LastGivenId;
        }
    }

    private void SetIncompleteBefore(StreamId id)
    {
        var keys = _server.Keys;
        lock (keys.Gate)
        {
            keys.HistoryIncompleteBefore = id;
        }
    }

    /// <summary>
    /// Messages this node has not applied, before <paramref name="firstAfter"/> (the id of the next message it
    /// applies, or a bound below it), may have been lost without a record: a NOTI.SUBSCRIBE from a cursor
    /// before it hears of a gap of unknown size, and so does every follower following now, before any message
    /// from there on. One hold of the gate, before the next message is applied.
    /// </summary>
    private void LostBefore(StreamId firstAfter)
    {
        var keys = _server.Keys;
        lock (keys.Gate)
        {
            if (firstAfter > keys.HistoryIncompleteBefore)
            {
                keys.HistoryIncompleteBefore = firstAfter;
            }

            keys.Followers.LostBefore(firstAfter);
        }

        if (!_started)
        {
            _missedAtStart++;
        }
    }

    /// <summary>
    /// A catch-up is over: this node holds what the stream holds. At the node's start, when nothing was missing
    /// (<paramref name="complete"/>: read on from its own copy, or from the stream's first message, without a
    /// hole), what a start without the log (or a crash) may have lost is back: the history is complete again.
    /// </summary>
    private void CaughtUp(bool complete, StreamId? last)
    {
        if (!_started && complete && _missedAtStart == 0)
        {
            var keys = _server.Keys;
            lock (keys.Gate)
            {
                keys.HistoryIncompleteBefore = StreamId.Min;
            }
        }

        _started = true;
        _streamReady = true;
        Log.CaughtUp(_logger, StreamName, last?.ToString() ?? "(nothing new)");
    }

    private void LogFailure(string message)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFailureLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastFailureLog, now, last) == last)
        {
            Log.Failed(_logger, message.TrimStart('-'));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1330, Level = LogLevel.Information, Message = "Cluster history: reading JetStream stream {Stream} from sequence {From} (it holds up to {Last})")]
        public static partial void Reading(ILogger logger, string stream, ulong from, ulong last);

        [LoggerMessage(EventId = 1331, Level = LogLevel.Information, Message = "Cluster history: caught up with JetStream stream {Stream}; last id {Last}")]
        public static partial void CaughtUp(ILogger logger, string stream, string last);

        [LoggerMessage(EventId = 1332, Level = LogLevel.Warning, Message = "Cluster history: JetStream stream {Stream} kept as another node set it up: {Reason}")]
        public static partial void StreamKept(ILogger logger, string stream, string reason);

        [LoggerMessage(EventId = 1334, Level = LogLevel.Warning, Message = "Cluster history: {Count} message(s) of JetStream stream {Stream} (sequences {First} to {Last}) were removed by its bounds before this node read them; a cursor from before them hears of a gap of unknown size")]
        public static partial void Missed(ILogger logger, string stream, ulong count, ulong first, ulong last);

        [LoggerMessage(EventId = 1335, Level = LogLevel.Warning, Message = "Cluster history: JetStream stream {Stream} set up with one replica, as three were refused ({Reason}); it is lost with the NATS server that holds it")]
        public static partial void OneReplica(ILogger logger, string stream, string reason);

        [LoggerMessage(EventId = 1336, Level = LogLevel.Warning, Message = "Cluster history: JetStream stream {Stream} holds up to sequence {Last}, below the {Applied} this node applied: it was made again; reading it from its start")]
        public static partial void StreamRenewed(ILogger logger, string stream, ulong applied, ulong last);

        [LoggerMessage(EventId = 1333, Level = LogLevel.Warning, Message = "Cluster history: {Message}")]
        public static partial void Failed(ILogger logger, string message);
    }
}

/// <summary>
/// A connection's side of its history publishes: set (by the ack or expiry path) when one of them failed, read
/// by the connection's read loop after the wait, which then closes the connection without its replies.
/// </summary>
internal sealed class HistoryPublishOwner
{
    private volatile string? _failed;

    public string? Failed
    {
        get => _failed;
        set => _failed ??= value;
    }
}

/// <summary>One message on its way through JetStream. Its mutable fields are under <see cref="SharedHistory"/>'s lock.</summary>
internal sealed class HistoryPublish(string subject, byte[] payload, HistoryPublishOwner owner, BlockedCommand? block)
{
    public string Subject { get; } = subject;

    /// <summary>The bytes sent; dropped once JetStream acknowledged it.</summary>
    public byte[]? Payload { get; set; } = payload;

    public HistoryPublishOwner Owner { get; } = owner;

    public BlockedCommand? Block { get; } = block;

    /// <summary>
    /// A PUBLISH's failure closes its connection (its reply was written already); a NOTI.PUBLISH's is its reply
    /// (the <see cref="Block"/> writes it), and the connection goes on.
    /// </summary>
    public void FailOwner()
    {
        if (Block is null)
        {
            Owner.Failed = Error;
        }
    }

    public long Ticket { get; set; }

    /// <summary>When it was queued (the ack limit counts from it), first sent, and last sent (a resend counts from it).</summary>
    public long QueuedAt { get; init; }

    public long SentAt { get; set; }

    public long LastSentAt { get; set; }

    public long AckedAt { get; set; }

    public ulong Seq { get; set; }

    public StreamId? Id { get; set; }

    public string? Error { get; set; }

    private volatile bool _done;

    /// <summary>Resolved: <see cref="Id"/> or <see cref="Error"/> is final. Set under the lock; read by the blocked command without it.</summary>
    public bool Done
    {
        get => _done;
        set => _done = value;
    }
}
