using System.Text;
using Notistream.RespServer.Acl;
using Notistream.RespServer.Cluster;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

/// <summary>
/// Notistream's own commands, namespaced as Redis modules name theirs, so that the Redis commands keep
/// Redis's behaviour byte for byte: NOTI.PUBLISH (PUBLISH that answers with the message's id) and
/// NOTI.SUBSCRIBE (follow channels and patterns from an id, with no loss and no duplicate across the
/// hand-off from history to live messages). docs/resume.md describes the protocol.
/// </summary>
internal static class NotiCommands
{
    /// <summary>
    /// Channels one NOTI.SUBSCRIBE may name. Each costs a look-up per append to it; registering them is one
    /// hold of the keyspace lock.
    /// </summary>
    public const int MaxChannels = 10_000;

    /// <summary>
    /// Patterns one NOTI.SUBSCRIBE may name: every append to any channel history matches it, under the
    /// keyspace lock (as every PUBLISH in Redis walks every pattern subscription).
    /// </summary>
    public const int MaxPatterns = 128;

    public static void Register(CommandTable table)
    {
        table.Add("noti.publish", 3, Publish);
        table.Add("noti.subscribe", -4, Subscribe);
    }

    /// <summary>The Redis command whose ACL bit governs ours: a user who may PUBLISH may NOTI.PUBLISH, one who may SUBSCRIBE may follow.</summary>
    public static string AclNameOf(string fullName) => fullName switch
    {
        "noti.publish" => "publish",
        "noti.subscribe" => "subscribe",
        _ => fullName,
    };

    /// <summary>NOTI.PUBLISH channel message: [receivers, id or null].</summary>
    private static void Publish(RespConnection client, in RespRequest request)
    {
        if (client.IsPubSub)
        {
            client.FlushReplies();
        }

        var server = client.Server;
        if (server.Cluster is { } cluster && cluster.RefuseSize(request[1], request[2]) is { } tooLarge)
        {
            // Checked before anything is kept or delivered: NATS could not carry it to the other nodes.
            client.Writer.WriteError(tooLarge);
            return;
        }
        StreamId? id = null;
        if (HistoryRule.For(server.Options.ChannelHistory, request[1]) is { } rule)
        {
            if (server.Aof.WriteRefusal is { } refusal)
            {
                // As PUBLISH: what the append-only file cannot record is neither kept nor delivered (MISCONF).
                client.Writer.WriteError(refusal);
                return;
            }

            if (server.Cluster?.History is { } shared)
            {
                // A cluster's history: the id is the one JetStream's order gives, known once this node applied
                // the message; the connection waits for it as for a blocking command.
                var counted = server.Registry.CountReceivers(request[1]) + server.Cluster.Remote.Receivers(request[1]);
                var wait = new HistoryPublishWait(request[1].ToArray(), counted);
                if (shared.Publish(request[1], request[2], client.HistoryOwner, wait, out var error) is not { } sent)
                {
                    client.Writer.WriteError(error!);
                    return;
                }

                wait.Publish = sent;
                client.CountPublished(counted);
                lock (server.Keys.Gate)
                {
                    client.Block(wait);
                }

                return;
            }

            // The connection's pending appends went in before this command ran (it does not defer them); the
            // reply (and the deliveries) wait until the record is in the log as appendfsync requires.
            id = ChannelHistory.Append(server.Keys, request[1], request[2], rule, server.Options.HistoryMaxMemory);
            client.NoteLogged(server.Aof.AppendedPosition);
        }

        var receivers = server.Registry.Publish(request[1], request[2], client.Batch);
        client.CountPublished(receivers);
        if (server.Cluster is { } link)
        {
            receivers += link.Forward(request[1], request[2]);
        }

        var writer = client.Writer;
        writer.WriteArrayHeader(2);
        writer.WriteInteger(receivers);
        if (id is { } kept)
        {
            StreamValue.WriteId(writer, kept);
        }
        else
        {
            writer.WriteNull();
        }
    }

    /// <summary>NOTI.SUBSCRIBE from [CHANNELS numchannels channel ...] [PATTERNS numpatterns pattern ...].</summary>
    private static void Subscribe(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        if (client.IsFollowing)
        {
            writer.WriteError("this connection already follows (NOTI.SUBSCRIBE); RESET it or open another");
            return;
        }

        if (!TryParse(request, out var fromNow, out var from, out var channels, out var patterns, out var error))
        {
            writer.WriteError(error);
            return;
        }

        var server = client.Server;
        var rules = client.User.Rules;
        for (var i = 0; i < channels.Length + patterns.Length; i++)
        {
            var isPattern = i >= channels.Length;
            var name = isPattern ? patterns[i - channels.Length] : channels[i];
            if (!rules.AllChannels && !AclCheck.ChannelAllowed(rules.Channels, name, literal: isPattern))
            {
                server.Acl.Log.Add("channel", Encoding.Latin1.GetString(name), client.User.Name, client.Describe());
                writer.WriteErrorRaw("-NOPERM this user has no permissions to access one of the channels used as arguments"u8);
                return;
            }

            if (!isPattern && HistoryRule.For(server.Options.ChannelHistory, name) is null)
            {
                writer.WriteErrorRaw([.. "-ERR channel '"u8, .. CommandTable.CString(name, 128), .. "' keeps no history (see channel-history)"u8]);
                return;
            }
        }

        // Replies before this one go first: the follow loop queues its pushes on its own, after the confirmation.
        client.FlushReplies();
        var keys = server.Keys;
        Follower follower;
        lock (keys.Gate)
        {
            var cursor = fromNow ? keys.LastGivenId : from;

            // An id this server never gave (another server's, or one from before a reset clock): what lies
            // between its last id and that cursor cannot be told apart from what the client saw, so the
            // client is told of an unknown gap and follows from the server's last id.
            var ahead = cursor > keys.LastGivenId;
            if (ahead)
            {
                cursor = keys.LastGivenId;
            }

            follower = new Follower(cursor, keys.LastGivenId, channels, patterns);
            keys.Followers.Register(follower, keys.Find(ChannelHistory.Database));
            writer.WritePushHeader(4);
            writer.WriteBulk("noti.subscribe"u8);
            StreamValue.WriteId(writer, cursor);
            writer.WriteInteger(follower.Channels.Count + patterns.Length);
            StreamValue.WriteId(writer, keys.LastGivenId);

            // History that may have been lost without a record (a start without the log): said once per name.
            var incompleteBefore = keys.HistoryIncompleteBefore > keys.Followers.ForgottenUpTo ? keys.HistoryIncompleteBefore : keys.Followers.ForgottenUpTo;
            if (ahead || (!fromNow && !cursor.IsZero && cursor < incompleteBefore))
            {
                foreach (var name in channels.Concat(patterns))
                {
                    Follower.WriteUnknownGap(writer, name);
                }
            }

        }

        // Outside the gate: the registry's subscriber lists take locks of their own. Appends meanwhile are
        // already in the follower's active streams; its loop's first pull reads them.
        client.FlushReplies();
        client.Follow(follower);

        // An ACL SETUSER between the check above and Follow (which made this connection a follower that ACL
        // SETUSER closes) took effect unseen: look again with the user's rules now.
        var now = client.User.Rules;
        if (!now.AllChannels && (channels.Any(c => !AclCheck.ChannelAllowed(now.Channels, c, literal: false))
            || patterns.Any(p => !AclCheck.ChannelAllowed(now.Channels, p, literal: true))))
        {
            client.Abort(Output.ConnectionEnd.AclChanged, "its channel permissions changed");
        }
    }

    private static bool TryParse(in RespRequest request, out bool fromNow, out StreamId from, out byte[][] channels, out byte[][] patterns, out string error)
    {
        fromNow = false;
        from = StreamId.Min;
        channels = [];
        patterns = [];
        error = "syntax error";
        if (request[1].SequenceEqual("$"u8))
        {
            fromNow = true;
        }
        else if (!StreamArguments.TryParseId(request[1], 0, strict: true, out from))
        {
            error = "Invalid stream ID specified as stream command argument";
            return false;
        }

        var i = 2;
        while (i < request.Count)
        {
            var isChannels = request.Is(i, "CHANNELS"u8);
            if ((!isChannels && !request.Is(i, "PATTERNS"u8)) || i + 1 >= request.Count
                || !RespNumber.TryParseInt64(request[i + 1], out var count) || count < 1 || count > request.Count - i - 2
                || (isChannels ? channels.Length : patterns.Length) > 0)
            {
                return false;
            }

            if (count > (isChannels ? MaxChannels : MaxPatterns))
            {
                error = $"NOTI.SUBSCRIBE follows at most {MaxChannels} channels and {MaxPatterns} patterns";
                return false;
            }

            var names = new byte[count][];
            for (var j = 0; j < count; j++)
            {
                names[j] = request[i + 2 + j].ToArray();
            }

            if (isChannels)
            {
                channels = names;
            }
            else
            {
                patterns = names;
            }

            i += 2 + (int)count;
        }

        return channels.Length + patterns.Length > 0;
    }
}
