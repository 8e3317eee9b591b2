using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Commands;

/// <summary>SUBSCRIBE family, PUBLISH, SPUBLISH and PUBSUB, with Redis 7's replies (pubsub.c).</summary>
internal static class PubSubCommands
{
    private const CommandFlags Sub = CommandFlags.PubSubContext;

    public static void Register(CommandTable table)
    {
        table.Add("subscribe", -2, (c, in r) => Subscribe(c, r, SubscriptionKind.Channel, "subscribe"u8), Sub);
        table.Add("psubscribe", -2, (c, in r) => Subscribe(c, r, SubscriptionKind.Pattern, "psubscribe"u8), Sub);
        table.Add("ssubscribe", -2, (c, in r) => Subscribe(c, r, SubscriptionKind.Shard, "ssubscribe"u8), Sub);
        table.Add("unsubscribe", -1, (c, in r) => Unsubscribe(c, r, SubscriptionKind.Channel, "unsubscribe"u8), Sub);
        table.Add("punsubscribe", -1, (c, in r) => Unsubscribe(c, r, SubscriptionKind.Pattern, "punsubscribe"u8), Sub);
        table.Add("sunsubscribe", -1, (c, in r) => Unsubscribe(c, r, SubscriptionKind.Shard, "sunsubscribe"u8), Sub);
        table.Add("publish", 3, Publish, CommandFlags.DefersHistory);
        table.Add("spublish", 3, SPublish);
        table.Add("pubsub", -2, null)
            .Add("channels", -2, (c, in r) => Channels(c, r, shard: false))
            .Add("shardchannels", -2, (c, in r) => Channels(c, r, shard: true))
            .Add("numsub", -2, (c, in r) => NumSub(c, r, shard: false))
            .Add("shardnumsub", -2, (c, in r) => NumSub(c, r, shard: true))
            .Add("numpat", 2, NumPat)
            .Add("help", 2, Help);
    }

    private static void Subscribe(RespConnection client, in RespRequest request, SubscriptionKind kind, ReadOnlySpan<byte> verb)
    {
        var registry = client.Server.Registry;

        // As in Redis, a confirmation is never overtaken by a message, and once a client has read
        // it, every later PUBLISH reaches it: each confirmation is queued before its registration,
        // and nothing is sent until all are registered. With nats-servers, the confirmations also wait
        // until the node's NATS server has the node's interest (docs/cluster.md#subscribing).
        var cluster = client.Server.Cluster;
        var waits = cluster is not null && cluster.BeginSubscribe(client.Output);
        client.Output.Hold();
        try
        {
            for (var i = 1; i < request.Count; i++)
            {
                var name = request[i];
                var key = client.Subscriptions.TryAdd(kind, name);
                WriteConfirmation(client.Writer, verb, name, true, client.Subscriptions.ConfirmationCount(kind));
                if (key is not null)
                {
                    client.FlushReplies();
                    ClientSubscriptions.Register(kind, client, key, registry);
                }
            }

            FlushConfirmations(client);
        }
        finally
        {
            client.Output.Release();
            cluster?.EndSubscribe(client.Output, waits);
        }
    }

    /// <summary>Confirmations are pushes to Redis (CLIENT_PUSHING): CLIENT REPLY OFF/SKIP does not hold them back.</summary>
    private static void FlushConfirmations(RespConnection client)
    {
        if (client.ReplyMode != ReplyMode.On)
        {
            client.FlushReplies();
        }
    }

    private static void Unsubscribe(RespConnection client, in RespRequest request, SubscriptionKind kind, ReadOnlySpan<byte> verb)
    {
        var registry = client.Server.Registry;
        if (request.Count == 1)
        {
            var names = client.Subscriptions.Names(kind);
            if (names.Length == 0)
            {
                WriteConfirmation(client.Writer, verb, default, false, client.Subscriptions.ConfirmationCount(kind));
            }

            foreach (var name in names)
            {
                client.Subscriptions.Remove(kind, client, name, registry);
                WriteConfirmation(client.Writer, verb, name, true, client.Subscriptions.ConfirmationCount(kind));
            }

            if (names.Length > 0)
            {
                client.AwaitFanOuts();
            }

            FlushConfirmations(client);
            return;
        }

        var removed = false;
        for (var i = 1; i < request.Count; i++)
        {
            removed |= client.Subscriptions.Remove(kind, client, request[i], registry);
            WriteConfirmation(client.Writer, verb, request[i], true, client.Subscriptions.ConfirmationCount(kind));
        }

        // As in Redis, once the client reads a confirmation no message of that channel follows it: a
        // message a publisher's batch staged for us before we left the list is sent first.
        if (removed)
        {
            client.AwaitFanOuts();
        }
        FlushConfirmations(client);
    }

    private static void WriteConfirmation(RespWriter writer, ReadOnlySpan<byte> verb, ReadOnlySpan<byte> name, bool hasName, int count)
    {
        writer.WritePushHeader(3);
        writer.WriteBulk(verb);
        if (hasName)
        {
            writer.WriteBulk(name);
        }
        else
        {
            writer.WriteNull();
        }

        writer.WriteInteger(count);
    }

    private static void Publish(RespConnection client, in RespRequest request)
    {
        if (client.IsPubSub)
        {
            // A RESP3 client may receive its own message: it must come after the replies before it.
            client.FlushReplies();
        }

        var server = client.Server;
        if (server.Cluster is { } cluster && cluster.RefuseSize(request[1], request[2]) is { } tooLarge)
        {
            // Checked before anything is kept or delivered: NATS could not carry it to the other nodes.
            client.Writer.WriteError(tooLarge);
            return;
        }
        if (HistoryRule.For(server.Options.ChannelHistory, request[1]) is { } rule)
        {
            if (server.Aof.WriteRefusal is { } refusal)
            {
                // Keeping it would change the keyspace, which the append-only file cannot record now: refused
                // as Redis refuses a write command (MISCONF), and not delivered.
                client.Writer.WriteError(refusal);
                return;
            }

            if (server.Cluster?.History is { } shared)
            {
                // A cluster's history: JetStream keeps it, and every node (this one too) delivers it once applied.
                // The reply counts the receivers now; it and what follows wait until this node applied it.
                var counted = server.Registry.CountReceivers(request[1]) + server.Cluster.Remote.Receivers(request[1]);
                if (shared.Publish(request[1], request[2], client.HistoryOwner, block: null, out var error) is not { } sent)
                {
                    client.Writer.WriteError(error!);
                    return;
                }

                client.NoteHistoryTicket(sent.Ticket);
                client.CountPublished(counted);
                client.Writer.WriteInteger(counted);
                return;
            }

            // Kept before it is delivered: the connection's pending appends go in before any staged delivery
            // is queued and before its reply, in one hold of the keyspace lock for the batch's PUBLISHes.
            client.History.Add(request[1], request[2], rule);
        }

        var receivers = server.Registry.Publish(request[1], request[2], client.Batch);
        client.CountPublished(receivers);
        if (server.Cluster is { } link)
        {
            // The other nodes' receivers, as their interest gossip last said (docs/cluster.md#counting-across-the-cluster).
            receivers += link.Forward(request[1], request[2]);
        }

        client.Writer.WriteInteger(receivers);
    }

    /// <summary>
    /// As PUBLISH without history or patterns: shard channels are never kept, and with nats-servers they
    /// travel under their own subjects (docs/cluster.md#shard-channels).
    /// </summary>
    private static void SPublish(RespConnection client, in RespRequest request)
    {
        if (client.IsPubSub)
        {
            client.FlushReplies();
        }

        var server = client.Server;
        if (server.Cluster is { } cluster && cluster.RefuseSize(request[1], request[2], shard: true) is { } tooLarge)
        {
            client.Writer.WriteError(tooLarge);
            return;
        }

        var receivers = server.Registry.PublishShard(request[1], request[2], client.Batch);
        client.CountPublished(receivers);
        if (server.Cluster is { } link)
        {
            receivers += link.Forward(request[1], request[2], shard: true);
        }

        client.Writer.WriteInteger(receivers);
    }

    private static void Channels(RespConnection client, in RespRequest request, bool shard)
    {
        if (request.Count > 3)
        {
            WriteSubcommandSyntaxError(client.Writer, request[1], "PUBSUB");
            return;
        }

        var channels = client.Server.Registry.ActiveChannels(request.Count == 3 ? request[2] : default, request.Count == 3, shard);
        if (client.Server.Cluster is { } cluster)
        {
            // The union of every node's channels (or shard channels).
            var names = new HashSet<byte[]>(channels, ByteArrayComparer.Instance);
            foreach (var name in cluster.Remote.ChannelNames(shard))
            {
                if ((request.Count < 3 || GlobMatcher.IsMatch(request[2], name)) && names.Add(name))
                {
                    channels.Add(name);
                }
            }
        }

        var writer = client.Writer;
        writer.WriteArrayHeader(channels.Count);
        foreach (var channel in channels)
        {
            writer.WriteBulk(channel);
        }
    }

    private static void NumSub(RespConnection client, in RespRequest request, bool shard)
    {
        var writer = client.Writer;
        var registry = client.Server.Registry;
        var remote = client.Server.Cluster?.Remote;
        writer.WriteArrayHeader((request.Count - 2) * 2);
        for (var i = 2; i < request.Count; i++)
        {
            writer.WriteBulk(request[i]);
            writer.WriteInteger(registry.SubscriberCount(request[i], shard) + (remote?.ChannelSubscribers(request[i], shard) ?? 0));
        }
    }

    /// <summary>As Redis 7: the number of distinct patterns subscribed (with nats-servers, on any node).</summary>
    private static void NumPat(RespConnection client, in RespRequest request)
    {
        // With nats-servers, the distinct patterns of every node, kept as they change.
        var cluster = client.Server.Cluster;
        client.Writer.WriteInteger(cluster is null ? client.Server.Registry.PatternCount : cluster.Remote.DistinctPatterns);
    }

    private static void Help(RespConnection client, in RespRequest request) => HelpText.Write(client.Writer, "PUBSUB",
    [
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ]);

    /// <summary>Redis's addReplySubcommandSyntaxError.</summary>
    public static void WriteSubcommandSyntaxError(RespWriter writer, ReadOnlySpan<byte> subcommand, string container)
        => writer.WriteErrorRaw([.. "-ERR unknown subcommand or wrong number of arguments for '"u8,
            .. CommandTable.CString(subcommand, 128), .. System.Text.Encoding.UTF8.GetBytes($"'. Try {container} HELP.")]);
}
