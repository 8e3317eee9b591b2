using System.Globalization;

namespace Notistream.LoadGen;

/// <summary>What to run and how big. <see cref="Smoke"/> gives tiny sizes for a seconds-long check.</summary>
public sealed record LoadGenOptions
{
    /// <summary>What runs when no scenario is named: every scenario that needs nothing but a Redis-protocol server.</summary>
    public static readonly IReadOnlyList<string> AllScenarios = ["fanout", "channels", "patterns", "latency", "connections", "history"];

    /// <summary>Every scenario: <see cref="AllScenarios"/> and <c>sse</c>, which needs the gateway too (<see cref="GatewayUrl"/>).</summary>
    public static readonly IReadOnlyList<string> KnownScenarios = [.. AllScenarios, "sse"];

    /// <summary>The scenarios that can run with publishers and subscribers on different nodes.</summary>
    public static readonly IReadOnlyList<string> CrossNodeScenarios = ["fanout", "latency"];

    public string Host { get; init; } = "127.0.0.1";

    public int Port { get; init; } = 6379;

    public IReadOnlyList<string> Scenarios { get; init; } = AllScenarios;

    /// <summary>Seconds each case runs (warm-up included: the first 20%, at most 1 s, is not measured).</summary>
    public double DurationSeconds { get; init; } = 5;

    /// <summary>The server's process; with <see cref="OtherServerPids"/>, the first of the nodes whose CPU time is summed.</summary>
    public int? ServerPid { get; init; }

    /// <summary>Further server processes (the other nodes of a cluster) whose CPU time counts with <see cref="ServerPid"/>'s.</summary>
    public IReadOnlyList<int> OtherServerPids { get; init; } = [];

    /// <summary>nats-server processes of a cluster: their CPU time is shown beside the nodes'.</summary>
    public IReadOnlyList<int> NatsPids { get; init; } = [];

    /// <summary>
    /// Where the publishers connect, when not to the subscribers' server (<see cref="Host"/>); null: the same
    /// host. With <see cref="PublishPort"/> or <see cref="SubscribePorts"/> the run is cross-node.
    /// </summary>
    public string? PublishHost { get; init; }

    /// <summary>The publishers' port, when not <see cref="Port"/>: another node of the same cluster.</summary>
    public int? PublishPort { get; init; }

    /// <summary>Ports on <see cref="Host"/> the subscribers spread over, round robin, instead of <see cref="Port"/> alone.</summary>
    public IReadOnlyList<int> SubscribePorts { get; init; } = [];

    /// <summary>
    /// False: a PUBLISH reply may be any count (each message is still expected by every subscriber). True,
    /// the default: on one server every reply must be the number of subscribers; across nodes, either that
    /// (a cluster-wide count) or the subscribers on the publishing node (a node-local count).
    /// </summary>
    public bool ReplyCheck { get; init; } = true;

    /// <summary>Ports the subscribers use: <see cref="SubscribePorts"/>, or <see cref="Port"/>.</summary>
    public IReadOnlyList<int> SubscriberPorts => SubscribePorts.Count > 0 ? SubscribePorts : [Port];

    /// <summary>Publishers on a different server than (some of) the subscribers.</summary>
    public bool CrossNode => (PublishHost is not null && PublishHost != Host)
        || SubscriberPorts.Any(p => p != (PublishPort ?? Port));

    /// <summary>The gateway the <c>sse</c> scenario subscribes through (<c>http://127.0.0.1:8080</c>), connected to the server.</summary>
    public string? GatewayUrl { get; init; }

    /// <summary>The gateway's process, for its memory and CPU time.</summary>
    public int? GatewayPid { get; init; }

    /// <summary>Subscribers of the <c>sse</c> scenario's one channel, over HTTP and then over RESP.</summary>
    public int SseSubscribers { get; init; } = 1_000;

    /// <summary>The <c>sse</c> scenario's publish rates, msg/s; 0 is as fast as the subscribers take them.</summary>
    public IReadOnlyList<int> SseRates { get; init; } = [100, 0];

    public int Publishers { get; init; } = 4;

    public int Pipeline { get; init; } = 64;

    public int PayloadSize { get; init; } = 64;

    public IReadOnlyList<int> FanoutSubscribers { get; init; } = [1, 50, 500];

    public int Channels { get; init; } = 10_000;

    public int ChannelsPerConnection { get; init; } = 100;

    public IReadOnlyList<int> PatternCounts { get; init; } = [0, 100, 1_000, 10_000];

    public int LatencyRate { get; init; } = 20_000;

    public int LatencySubscribers { get; init; } = 50;

    public int IdleConnections { get; init; } = 10_000;

    /// <summary>Entries the history scenario's memory case stores in one stream.</summary>
    public int HistoryEntries { get; init; } = 1_000_000;

    /// <summary>Entries the history scenario's catch-up case stores and then reads back from the start.</summary>
    public int CatchUpEntries { get; init; } = 100_000;

    /// <summary>Tiny sizes and about a second a case: proves every scenario works, measures nothing.</summary>
    public static LoadGenOptions Smoke(string host, int port) => new()
    {
        Host = host,
        Port = port,
        DurationSeconds = 1,
        Publishers = 2,
        Pipeline = 16,
        FanoutSubscribers = [1, 20],
        Channels = 200,
        ChannelsPerConnection = 20,
        PatternCounts = [0, 100],
        LatencyRate = 2_000,
        LatencySubscribers = 5,
        IdleConnections = 100,
        HistoryEntries = 10_000,
        CatchUpEntries = 5_000,
        SseSubscribers = 20,
        SseRates = [500, 0],
    };

    public string Describe() => string.Join(' ', new[]
    {
        $"--scenario {string.Join(',', Scenarios)}",
        $"--duration {DurationSeconds.ToString(CultureInfo.InvariantCulture)}",
        $"--publishers {Publishers}",
        $"--pipeline {Pipeline}",
        $"--payload {PayloadSize}",
        $"--subscribers {string.Join(',', FanoutSubscribers)}",
        $"--channels {Channels}",
        $"--channels-per-connection {ChannelsPerConnection}",
        $"--patterns {string.Join(',', PatternCounts)}",
        $"--rate {LatencyRate}",
        $"--latency-subscribers {LatencySubscribers}",
        $"--connections {IdleConnections}",
        $"--history-entries {HistoryEntries}",
        $"--catch-up {CatchUpEntries}",
        $"--sse-subscribers {SseSubscribers}",
        $"--sse-rate {string.Join(',', SseRates.Select(r => r == 0 ? "max" : r.ToString(CultureInfo.InvariantCulture)))}",
        PublishHost is null ? "" : $"--publish-host {PublishHost}",
        PublishPort is null ? "" : $"--publish-port {PublishPort.Value.ToString(CultureInfo.InvariantCulture)}",
        SubscribePorts.Count == 0 ? "" : $"--subscribe-ports {string.Join(',', SubscribePorts)}",
        ReplyCheck ? "" : "--no-reply-check",
    }.Where(o => o.Length > 0));
}
