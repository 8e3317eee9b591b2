namespace Notistream.RespServer.Connections;

/// <summary>Counters for INFO stats; incremented with Interlocked from any connection.</summary>
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
}
