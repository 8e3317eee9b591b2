using System.Net;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Acl;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Output;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Connections;

internal enum ReplyMode
{
    On,
    Off,

    /// <summary>This command's reply is dropped.</summary>
    Skip,

    /// <summary>Set by CLIENT REPLY SKIP: the next command's reply is dropped.</summary>
    SkipNext,
}

/// <summary>
/// One client. Its read loop (RespConnection.Read.cs) is the only code that changes its state
/// below; other threads read the counters for CLIENT LIST and INFO, and publishers call
/// <see cref="Deliver"/>, which only stages or queues on <see cref="Output"/>.
/// </summary>
internal sealed partial class RespConnection : ISubscriber
{
    private readonly ClientTransport _transport;
    private readonly ReplyBuffer _replies = new();
    private readonly RequestScanner _scanner = new();
    private readonly DeliveryBatch _batch;
    private volatile int _protocol = 2;
    private int _closeState;
    private int _closeRequested;
    private int _executing;
    private long _commandsInBatch;
    private long _publishedInBatch;
    private long _deliveredInBatch;
    private uint _publishSample;
    private long _latencySampleStart;

    public RespConnection(ServerContext server, ClientTransport transport, long id)
    {
        Server = server;
        _transport = transport;
        Id = id;
        Address = Format(transport.RemoteEndPoint);
        LocalAddress = Format(transport.LocalEndPoint);
        CreatedAt = Environment.TickCount64;
        LastInteraction = CreatedAt;
        User = server.Acl.Default;
        Authenticated = !server.RequiresPassword;
        History = new HistoryBatch(server.Keys, () => server.Options.HistoryMaxMemory);
        _batch = new DeliveryBatch(server.FanOuts, BeforeDeliveriesQueued, () => HoldingForLog);
        Output = new ConnectionOutput(CurrentOutputLimit, Abort);
    }

    public ServerContext Server { get; }

    /// <summary>This connection's PUBLISHes kept as history, appended together (read loop only).</summary>
    public HistoryBatch History { get; }

    public long Id { get; }

    public string Address { get; }

    public string LocalAddress { get; }

    public long CreatedAt { get; }

    public long LastInteraction { get; private set; }

    public string Name { get; set; } = "";

    public string LibName { get; set; } = "";

    public string LibVersion { get; set; } = "";

    public int Database { get; set; }

    public bool Authenticated { get; set; }

    /// <summary>Redis's authRequired: not authenticated while the default user needs a password (or is off).</summary>
    public bool AuthRequired => !Authenticated && Server.RequiresPassword;

    /// <summary>The ACL user whose rules apply to this client's commands (default until AUTH).</summary>
    public AclUser User { get; set; }

    public ReplyMode ReplyMode { get; set; }

    /// <summary>Lower-case full name of the last command run ("client|list"), for CLIENT LIST.</summary>
    public string LastCommand { get; set; } = "NULL";

    public ClientSubscriptions Subscriptions { get; } = new();

    /// <summary>Redis's CLIENT_PUBSUB: subscribed to anything (the RESP2 command restriction and the pubsub output class).</summary>
    public bool IsPubSub => Subscriptions.Total > 0;

    /// <summary>Whether the client came in on the TLS port (the metrics' transport label).</summary>
    public bool IsTls => _transport is TlsTransport;

    public int Protocol
    {
        get => _protocol;
        set => _protocol = value;
    }

    public ConnectionOutput Output { get; }

    /// <summary>The read loop's batch: where this connection's PUBLISHes stage their deliveries.</summary>
    public DeliveryBatch Batch => _batch;

    /// <summary>The accepted socket (its options, for diagnostics).</summary>
    public System.Net.Sockets.Socket Socket => _transport.Socket;

    /// <summary>Where this command's replies go, in the connection's current protocol.</summary>
    public RespWriter Writer => new(_replies, _protocol);

    /// <summary>Unprocessed input bytes (CLIENT LIST qbuf).</summary>
    public long QueryBufferLength { get; private set; }

    /// <summary>Stop reading after the replies of the current batch are written (QUIT, protocol error).</summary>
    public bool CloseAfterReply { get; set; }

    public bool IsClosing => Volatile.Read(ref _closeState) != 0;

    /// <summary>Between a read returning input and the end of its batch of commands.</summary>
    public bool IsExecuting => Volatile.Read(ref _executing) != 0;

    /// <summary>Inside a publisher's batch the delivery is staged and queued with the batch's others
    /// (<see cref="DeliveryBatch.Stage"/>); elsewhere it is queued at once.</summary>
    public void Deliver(MessageFrame frame, DeliveryBatch? batch)
    {
        if (batch is { InBatch: true })
        {
            batch.Stage(Output, frame);
        }
        else
        {
            Output.Enqueue(frame);
        }
    }

    /// <summary>
    /// After leaving subscriber lists (UNSUBSCRIBE, PUNSUBSCRIBE, SUNSUBSCRIBE, RESET) and before the
    /// confirmation is queued: what this connection queues next is sent only after every message
    /// that a batch on another thread read from those lists before is queued, so that, as in Redis,
    /// no message of a channel follows its unsubscribe confirmation. Nothing waits here: the read loop
    /// pauses, asynchronously, before its next command while the barrier is up; see
    /// <see cref="ConnectionOutput"/>, "the unsubscribe barrier".
    /// </summary>
    public void AwaitFanOuts() => Server.FanOuts.AwaitFanOuts(Output, _batch);

    /// <summary>Moves the replies written so far to the output queue, so a push queued next comes after
    /// them; the messages this batch has delivered are queued first, as each was delivered before the
    /// replies after it were written. Both wait until this connection's records are in the append-only file
    /// as appendfsync requires (I12); if the log cannot take them, neither is ever queued.</summary>
    public void FlushReplies()
    {
        History.Flush();
        var logged = EnsureLogged();
        _batch.FlushStaged();
        if (!logged)
        {
            _replies.Truncate(0);
            return;
        }

        if (_replies.Length == 0)
        {
            return;
        }

        var (array, length) = _replies.Detach();
        if (CloseAfterReply)
        {
            // The last replies (QUIT's OK, a protocol error): nothing may be queued after them.
            Output.EnqueueLast(array, length, pooled: true);
        }
        else
        {
            _batch.Track(Output, Output.Enqueue(array, length, pooled: true, _batch));
        }
    }

    /// <summary>
    /// The append-only file's position after the records of this connection's last write command (read loop
    /// only); <see cref="HistoryBatch.LoggedTo"/> has its PUBLISHes'. Nothing it queues may get ahead of them.
    /// </summary>
    private long _loggedTo;

    /// <summary>Set once the log failed to take this connection's records: nothing more of it is queued.</summary>
    private bool _unacknowledged;

    /// <summary>After a write command: its records, if any, lie before <paramref name="position"/>.</summary>
    public void NoteLogged(long position)
    {
        if (position > _loggedTo)
        {
            _loggedTo = position;
        }
    }

    private long LogTarget => Math.Max(_loggedTo, History.LoggedTo);

    /// <summary>
    /// A cluster's history (Cluster/SharedHistory.cs): the ticket of this connection's last PUBLISH sent to
    /// JetStream, and the last one waited for. Read loop only. Its replies and later commands wait until
    /// JetStream has kept it and this node applied it, as they wait for the log under appendfsync always.
    /// </summary>
    private long _historyTicket;

    private long _historyWaited;

    /// <summary>Told by the cluster's history when one of this connection's PUBLISHes failed in JetStream.</summary>
    public Cluster.HistoryPublishOwner HistoryOwner { get; } = new();

    /// <summary>A PUBLISH of this batch went to JetStream with <paramref name="ticket"/>: what follows it waits for it.</summary>
    public void NoteHistoryTicket(long ticket) => _historyTicket = ticket;

    /// <summary>
    /// appendfsync always, and this connection has records not yet on the disk (or PUBLISHes not yet appended):
    /// nothing of it may be queued until the log's thread has synced them, so its read loop stops before any
    /// command that would queue, and waits (<see cref="WaitForLogAsync"/>) without holding its thread.
    /// </summary>
    private bool HoldingForLog => (Server.Aof.SyncsEachWrite && (!History.IsEmpty || LogTarget > Server.Aof.SyncedPosition))
        || _historyTicket > _historyWaited || _cursorWait is not null;

    /// <summary>A NOTI.SUBSCRIBE waiting for this node to apply the shared history up to its cursor (MustWaitForCursor); read loop only.</summary>
    private Task? _cursorWait;

    /// <summary>The NOTI.SUBSCRIBE read again after that wait runs without waiting again; read loop only.</summary>
    private bool _cursorWaited;

    /// <summary>What a batch runs before it queues staged deliveries: the history appends, then the log.</summary>
    private bool BeforeDeliveriesQueued()
    {
        History.Flush();
        return EnsureLogged();
    }

    /// <summary>
    /// Before anything of this connection is queued (replies, deliveries): its records are written to the log
    /// (everysec, no: write(2), so a kill -9 loses nothing acknowledged), or written and synced (always), in one
    /// write for everything buffered so far. False, and the connection is closed without its pending replies,
    /// when the log failed.
    /// </summary>
    private bool EnsureLogged()
    {
        if (_unacknowledged)
        {
            return false;
        }

        var aof = Server.Aof;
        var target = LogTarget;
        if (target <= aof.WrittenPosition && (target <= aof.SyncedPosition || !aof.SyncsEachWrite))
        {
            return true;
        }

        if (!aof.IsOn)
        {
            // Turned off meanwhile (CONFIG SET appendonly no): nothing to wait for.
            return true;
        }

        // A connection under always has waited already; this runs only when appendfsync became always meanwhile.
        if (aof.SyncsEachWrite ? aof.CommitSync(target) : aof.CommitWrite(target))
        {
            return true;
        }

        FailUnacknowledged();
        return false;
    }

    /// <summary>
    /// appendfsync always: appends what is pending and waits, without holding a thread, until the log's thread
    /// has written and synced this connection's records; false (and the connection closed) if that failed.
    /// </summary>
    private async ValueTask<bool> WaitForLogAsync()
    {
        History.Flush();
        if (!await Server.Aof.WaitDurableAsync(LogTarget).ConfigureAwait(false))
        {
            FailUnacknowledged();
            return false;
        }

        if (_cursorWait is { } cursorWait)
        {
            await cursorWait.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _cursorWait = null;
            _cursorWaited = true;
        }

        if (_historyTicket > _historyWaited && Server.Cluster?.History is { } shared)
        {
            var ticket = _historyTicket;
            await shared.WaitResolvedAsync(ticket).ConfigureAwait(false);
            _historyWaited = ticket;
            if (HistoryOwner.Failed is { } failed)
            {
                FailUnacknowledged(failed);
                return false;
            }
        }

        return true;
    }

    /// <summary>The log failed to take this connection's records: its pending replies and deliveries are dropped and it is closed.</summary>
    private void FailUnacknowledged(string? why = null)
    {
        if (_unacknowledged)
        {
            return;
        }

        _unacknowledged = true;
        _replies.Truncate(0);
        var reason = why ?? Server.Aof.WriteRefusal ?? "-MISCONF Errors writing to the AOF file";
        Log.Unacknowledged(Server.Logger, Id, Address, reason[1..]);
        Abort(ConnectionEnd.PersistenceFailure, "its writes could not be kept: " + reason[1..]);
    }

    /// <summary>The AOF loader's client: the error its last record's replies hold, if any; the replies are dropped.</summary>
    internal string? TakeLoaderError()
    {
        var written = _replies.Written;
        string? error = null;
        if (written.Length > 0 && written[0] == (byte)'-')
        {
            var end = written.IndexOf("\r\n"u8);
            error = System.Text.Encoding.UTF8.GetString(written[1..(end < 0 ? written.Length : end)]);
        }

        _replies.Truncate(0);
        return error;
    }

    /// <summary>The AOF loader's client is done: its buffers go back.</summary>
    internal void EndLoading()
    {
        _replies.Release();
        History.Release();
    }

    /// <summary>
    /// Counts a PUBLISH or SPUBLISH for INFO and its receivers for the metrics; added to the shared counters
    /// with the batch. One publish in <see cref="ServerMetrics.LatencySampleEvery"/> that reaches someone is
    /// timed to the batch's end, when its deliveries are queued or sent, while the latency histogram has a listener.
    /// </summary>
    public void CountPublished(long receivers)
    {
        _publishedInBatch++;
        _deliveredInBatch += receivers;
        if ((++_publishSample & (ServerMetrics.LatencySampleEvery - 1)) == 0 && receivers > 0 && _latencySampleStart == 0
            && Server.Metrics.DeliveryLatency.Enabled)
        {
            _latencySampleStart = System.Diagnostics.Stopwatch.GetTimestamp();
        }
    }

    /// <summary>After the batch's end: records the sampled publish's time from its execution to its deliveries queued or sent.</summary>
    private void RecordLatencySample()
    {
        var start = _latencySampleStart;
        _latencySampleStart = 0;
        Server.Metrics.DeliveryLatency.Record(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    /// <summary>
    /// Adds this batch's commands and publishes to the server-wide counters: one shared write per
    /// batch of pipelined commands rather than one per command, so connections on different cores
    /// do not fight over the counters' cache line.
    /// </summary>
    private void FlushStats()
    {
        if (_commandsInBatch > 0)
        {
            Interlocked.Add(ref Server.Stats.TotalCommandsProcessed, _commandsInBatch);
            _commandsInBatch = 0;
        }

        if (_publishedInBatch > 0)
        {
            Interlocked.Add(ref Server.Stats.PubSubMessagesPublished, _publishedInBatch);
            _publishedInBatch = 0;
        }

        if (_deliveredInBatch > 0)
        {
            Interlocked.Add(ref Server.Stats.PubSubMessagesDelivered, _deliveredInBatch);
            _deliveredInBatch = 0;
        }
    }

    /// <summary>Closes now, dropping queued output (CLIENT KILL, output-buffer limit, a failed send, idle timeout).</summary>
    public void Abort(ConnectionEnd end, string reason)
    {
        // From open or from a graceful close that did not finish in time (shutdown).
        if (Interlocked.Exchange(ref _closeState, 2) == 2)
        {
            return;
        }

        EndWith(end, reason);
        if (end == ConnectionEnd.OutputBufferLimit)
        {
            Interlocked.Increment(ref Server.Stats.ClientsClosedForOutputLimit);
            Log.OutputBufferLimit(Server.Logger, Id, Address, reason);
        }
        else
        {
            Log.ClientClosed(Server.Logger, Id, Address, end, reason);
        }

        Output.Abort();
        CancelPendingRead();
        _transport.Abort();
    }

    /// <summary>
    /// Graceful close at shutdown, first step: no further command of this connection runs; one
    /// running now finishes (<see cref="IsExecuting"/>). The server takes this step for every
    /// connection, and waits for running commands, before any connection is closed, so no PUBLISH
    /// is answered after one of its subscribers was torn down.
    /// </summary>
    public void StopCommands() => Interlocked.CompareExchange(ref _closeState, 1, 0);

    /// <summary>Graceful close at shutdown: stop reading, write what is queued, then close.</summary>
    public void RequestClose()
    {
        StopCommands();
        if (Volatile.Read(ref _closeState) != 1 || Interlocked.Exchange(ref _closeRequested, 1) != 0)
        {
            return;
        }

        CancelPendingRead();
        Output.WakeReader();
    }

    /// <summary>
    /// Wakes the read loop to see the close, on the thread pool: the loop runs inline with whoever
    /// completes its read, and must not end (unsubscribe, complete its output) on the thread of the
    /// caller, which may be the shutdown or another connection's command (CLIENT KILL, ACL SETUSER).
    /// </summary>
    private void CancelPendingRead()
        => ThreadPool.UnsafeQueueUserWorkItem(static input => input.CancelPendingRead(), _transport.Input, preferLocal: false);

    /// <summary>Back to a fresh connection's state (RESET, and the end of a connection).</summary>
    public void ClearState()
    {
        StopFollowing();
        UnsubscribeAll();
        Database = 0;
        Protocol = 2;
        Name = "";
        ReplyMode = ReplyMode.On;
        User = Server.Acl.Default;
        Authenticated = !Server.RequiresPassword;
    }

    /// <summary>Drops every subscription without confirmations.</summary>
    public void UnsubscribeAll() => Subscriptions.RemoveAll(this, Server.Registry);

    /// <summary>The limit of this client's class now: pubsub while subscribed, normal otherwise.</summary>
    private OutputBufferLimit CurrentOutputLimit()
        => IsPubSub ? Server.Options.PubSubOutputLimit : Server.Options.NormalOutputLimit;

    private static string Format(EndPoint? endPoint) => endPoint switch
    {
        IPEndPoint ip when ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !ip.Address.IsIPv4MappedToIPv6
            => $"{ip.Address}:{ip.Port}",
        IPEndPoint ip => $"{(ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address)}:{ip.Port}",
        null => "?:0",
        _ => endPoint.ToString() ?? "?:0",
    };

    /// <summary>CLIENT LIST / CLIENT INFO line, in Redis 7.0's field order.</summary>
    public string Describe()
    {
        var now = Environment.TickCount64;
        var flags = (IsPubSub ? "P" : "") + (IsBlocked ? "b" : "") is { Length: > 0 } set ? set : "N";
        var omem = Output.BufferedBytes;
        return $"id={Id} addr={Address} laddr={LocalAddress} fd=8 name={Name} age={(now - CreatedAt) / 1000} idle={(now - LastInteraction) / 1000} " +
               $"flags={flags} db={Database} sub={Subscriptions.Channels} psub={Subscriptions.Patterns} ssub={Subscriptions.ShardChannels} " +
               $"multi=-1 qbuf={QueryBufferLength} qbuf-free=0 argv-mem=0 multi-mem=0 rbs={_replies.Length} rbp=0 " +
               $"obl=0 oll={Output.QueuedItems} omem={omem} tot-mem={omem + QueryBufferLength} events=r cmd={LastCommand} user={User.Name} redir=-1 resp={Protocol}" +
               (LibName.Length > 0 || LibVersion.Length > 0 ? $" lib-name={LibName} lib-ver={LibVersion}" : "");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning,
            Message = "Client id={Id} addr={Address} closed for overcoming of output buffer limits: {Reason}")]
        public static partial void OutputBufferLimit(ILogger logger, long id, string address, string reason);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Client id={Id} addr={Address} closed ({End}): {Reason}")]
        public static partial void ClientClosed(ILogger logger, long id, string address, ConnectionEnd end, string reason);

        [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "Client id={Id} addr={Address} protocol error: {Error}")]
        public static partial void ProtocolError(ILogger logger, long id, string address, string error);

        [LoggerMessage(EventId = 1104, Level = LogLevel.Warning,
            Message = "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection from {Address} aborted.")]
        public static partial void SecurityWarning(ILogger logger, string address);

        [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Closing client id={Id} addr={Address} that reached max query buffer length ({Length} bytes)")]
        public static partial void QueryBufferLimit(ILogger logger, long id, string address, long length);

        [LoggerMessage(EventId = 1106, Level = LogLevel.Debug, Message = "Client id={Id} addr={Address} connection error: {Error}")]
        public static partial void ConnectionError(ILogger logger, long id, string address, string error);

        [LoggerMessage(EventId = 1108, Level = LogLevel.Debug, Message = "Client id={Id} addr={Address} connection ended ({End}): {Reason}")]
        public static partial void ConnectionEnded(ILogger logger, long id, string address, ConnectionEnd end, string reason);

        [LoggerMessage(EventId = 1109, Level = LogLevel.Warning,
            Message = "Client id={Id} addr={Address} closed without its pending replies: its writes could not be kept ({Reason})")]
        public static partial void Unacknowledged(ILogger logger, long id, string address, string reason);

        [LoggerMessage(EventId = 1107, Level = LogLevel.Error, Message = "Client id={Id} addr={Address}: its writer failed")]
        public static partial void WriterFailed(ILogger logger, long id, string address, Exception exception);
    }
}
