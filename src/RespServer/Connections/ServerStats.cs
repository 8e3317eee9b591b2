namespace Notistream.RespServer.Connections;

/// <summary>
/// Counters for INFO stats, added to with Interlocked from any connection. Commands and publishes
/// are added once per batch of pipelined commands (RespConnection.FlushStats), so INFO run in the
/// middle of a batch does not yet count the commands before it in the same batch.
/// </summary>
internal sealed class ServerStats
{
    public long TotalConnectionsReceived;
    public long TotalCommandsProcessed;
    public long RejectedConnections;
    public long TotalNetInputBytes;
    public long TotalNetOutputBytes;
    public long TotalErrorReplies;
    public long PubSubMessagesPublished;
    public long ClientsClosedForOutputLimit;

    /// <summary>Messages handed to subscribers (each PUBLISH's receiver count); added once per batch, for the metrics only.</summary>
    public long PubSubMessagesDelivered;

    /// <summary>
    /// What CONFIG RESETSTAT took off the INFO counters above, so that the metrics (docs/metrics.md) stay
    /// monotonic as Prometheus counters must: each metric is its counter plus what was reset.
    /// </summary>
    public long CommandsBeforeReset, ConnectionsBeforeReset, PublishedBeforeReset, OutputLimitBeforeReset;

    /// <summary>Connections waiting in a blocking command now (INFO's blocked_clients).</summary>
    public long BlockedClients;
}
