using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// NOTI.PUBLISH in a cluster with shared history (<see cref="SharedHistory"/>): its reply carries the message's
/// id, which JetStream's order decides, so the connection waits in it as in a blocking command until the message
/// is resolved — kept by JetStream and applied here (the reply: the receivers and the id), or failed (the error).
/// <see cref="SharedHistory"/> wakes it when it resolves; the blocked connection's read loop writes the reply.
/// </summary>
internal sealed class HistoryPublishWait(byte[] channel, long receivers) : BlockedCommand(ChannelHistory.Database, [channel], timeoutMilliseconds: 0)
{
    /// <summary>Set by NOTI.PUBLISH right after it queued the message, before the connection waits.</summary>
    public HistoryPublish? Publish { get; set; }

    public override bool TryServe(RespWriter writer)
    {
        if (Publish is not { Done: true } publish)
        {
            return false;
        }

        if (publish.Error is { } error)
        {
            writer.WriteError(error);
            return true;
        }

        writer.WriteArrayHeader(2);
        writer.WriteInteger(receivers);
        StreamValue.WriteId(writer, publish.Id!.Value);
        return true;
    }

    /// <summary>Never called: the wait has no timeout (SharedHistory resolves every message within its limits).</summary>
    public override void WriteTimeout(RespWriter writer)
        => writer.WriteError("-CLUSTERDOWN the wait for NATS JetStream was interrupted; the message may still be kept");
}
