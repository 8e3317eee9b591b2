using System.Diagnostics.Metrics;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Connections;

/// <summary>
/// The server's instruments on System.Diagnostics.Metrics (meter <see cref="MeterName"/>), read by
/// dotnet-counters and, with metrics-port, served in Prometheus's text format (MetricsListener).
/// Nearly all are observable: their callbacks read, at collection time, the counters the server keeps
/// for INFO anyway, so a message costs nothing more. The one new count (deliveries) is added once per
/// batch with the INFO counters, and the latency histogram times one publish in
/// <see cref="LatencySampleEvery"/>. No instrument has a per-channel label. docs/metrics.md lists them.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "Notistream.Server";

    /// <summary>One publish in this many (a power of two) is timed for the delivery latency histogram.</summary>
    public const int LatencySampleEvery = 64;

    private readonly ServerContext _server;

    public ServerMetrics(ServerContext server)
    {
        _server = server;
        Meter = new Meter(MeterName, typeof(ServerMetrics).Assembly.GetName().Version?.ToString());
        var stats = server.Stats;
        Meter.CreateObservableUpDownCounter("notistream.connections", Connections, "{connection}",
            "Clients connected now, by transport (tcp, tls).");
        Meter.CreateObservableCounter("notistream.connections.accepted",
            () => Interlocked.Read(ref stats.TotalConnectionsReceived) + Interlocked.Read(ref stats.ConnectionsBeforeReset), "{connection}",
            "Connections accepted (INFO total_connections_received, including those refused for maxclients or protected mode).");
        Meter.CreateObservableUpDownCounter("notistream.subscriptions", Subscriptions, "{subscription}",
            "Subscriptions now, by kind: channel, pattern, shard channel, and NOTI.SUBSCRIBE followers.");
        Meter.CreateObservableUpDownCounter("notistream.channels", () => (long)server.Registry.ChannelCount, "{channel}",
            "Channels with at least one subscriber (INFO pubsub_channels).");
        Meter.CreateObservableCounter("notistream.messages.published",
            () => Interlocked.Read(ref stats.PubSubMessagesPublished) + Interlocked.Read(ref stats.PublishedBeforeReset), "{message}",
            "PUBLISH, SPUBLISH and NOTI.PUBLISH commands run (INFO pubsub_messages_published).");
        Meter.CreateObservableCounter("notistream.messages.delivered", () => Interlocked.Read(ref stats.PubSubMessagesDelivered), "{message}",
            "Messages handed to subscribers: the sum of the publishes' receiver counts.");
        Meter.CreateObservableCounter("notistream.output_limit.disconnects",
            () => Interlocked.Read(ref stats.ClientsClosedForOutputLimit) + Interlocked.Read(ref stats.OutputLimitBeforeReset), "{connection}",
            "Clients cut off by client-output-buffer-limit (INFO client_output_buffer_limit_disconnections).");
        Meter.CreateObservableCounter("notistream.commands.processed",
            () => Interlocked.Read(ref stats.TotalCommandsProcessed) + Interlocked.Read(ref stats.CommandsBeforeReset), "{command}",
            "Commands run (INFO total_commands_processed).");
        Meter.CreateObservableUpDownCounter("notistream.history.entries", () => server.Keys.HistoryEntries, "{message}",
            "Messages kept in channel history (INFO history_entries): kept by each PUBLISH, recounted by the once-a-second sweep.");
        Meter.CreateObservableUpDownCounter("notistream.history.size", HistoryBytes, "By",
            "Memory held by channel history now (INFO history_memory).");
        Meter.CreateObservableCounter("notistream.history.evicted", HistoryEvicted, "{message}",
            "History entries dropped for history-max-memory (INFO history_evicted_entries).");
        Meter.CreateObservableCounter("notistream.cluster.forwarded", () => server.Cluster?.Forwarded ?? 0, "{message}",
            "Messages published here and handed to NATS for the other nodes (INFO nats_forwarded; 0 when standalone).");
        Meter.CreateObservableCounter("notistream.cluster.received", () => server.Cluster?.Received ?? 0, "{message}",
            "Messages received from other nodes through NATS (INFO nats_received).");
        Meter.CreateObservableCounter("notistream.cluster.dropped", () => server.Cluster?.Dropped ?? 0, "{message}",
            "Messages published here and not forwarded: NATS down, the outbound queue full, or refused (INFO nats_dropped).");
        Meter.CreateObservableCounter("notistream.cluster.lost", () => server.Cluster?.Lost ?? 0, "{message}",
            "Messages other nodes published that this node should have received through NATS and did not: numbers missing in their sequence (INFO nats_lost).");
        DeliveryLatency = Meter.CreateHistogram<double>("notistream.delivery.duration", "s",
            $"Time from a sampled PUBLISH's execution (1 in {LatencySampleEvery}) to the end of its batch, when its deliveries are in every subscriber's output queue or sent.");
    }

    public Meter Meter { get; }

    public Histogram<double> DeliveryLatency { get; }

    public void Dispose() => Meter.Dispose();

    private IEnumerable<Measurement<long>> Connections()
    {
        var tls = _server.Clients.TlsCount;
        var all = _server.Clients.Count;
        return
        [
            new(Math.Max(0, all - tls), new KeyValuePair<string, object?>("transport", "tcp")),
            new(tls, new KeyValuePair<string, object?>("transport", "tls")),
        ];
    }

    /// <summary>A pass over the clients' own counts, as CLIENT LIST reads them: per scrape, never per message.</summary>
    private IEnumerable<Measurement<long>> Subscriptions()
    {
        long channels = 0, patterns = 0, shard = 0;
        foreach (var client in _server.Clients.Snapshot())
        {
            var own = client.Subscriptions;
            channels += own.Channels;
            patterns += own.Patterns;
            shard += own.ShardChannels;
        }

        long followers;
        lock (_server.Keys.Gate)
        {
            followers = _server.Keys.Followers.Count;
        }

        return
        [
            new(channels, new KeyValuePair<string, object?>("kind", "channel")),
            new(patterns, new KeyValuePair<string, object?>("kind", "pattern")),
            new(shard, new KeyValuePair<string, object?>("kind", "shard_channel")),
            new(followers, new KeyValuePair<string, object?>("kind", "follower")),
        ];
    }

    /// <summary>The kept counts (see <see cref="Keyspace.KeyStore.HistoryEntries"/>), read without the gate: a scrape never walks the keys.</summary>
    private long HistoryBytes() => _server.Keys.HistoryBytes;

    private long HistoryEvicted() => _server.Keys.HistoryEvicted;
}
