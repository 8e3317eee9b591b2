using System.Diagnostics;
using System.Net;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>
/// Where a case's publishers and subscribers connect: one server for both (the default), or, across the
/// nodes of one cluster, publishers on one node and subscribers spread round robin over others.
/// </summary>
internal sealed record Topology(EndPoint Publish, IReadOnlyList<EndPoint> Subscribe)
{
    /// <summary>How long a probe waits for a message published on the publishers' node.</summary>
    public static readonly TimeSpan InterestTimeout = TimeSpan.FromSeconds(20);

    public static Topology Single(EndPoint endPoint) => new(endPoint, [endPoint]);

    /// <summary>Some subscribers are on another server than the publishers.</summary>
    public bool CrossNode => Subscribe.Any(e => !e.Equals(Publish));

    /// <summary>The server subscriber <paramref name="index"/> connects to (round robin).</summary>
    public EndPoint SubscriberAt(int index) => Subscribe[index % Subscribe.Count];

    /// <summary>How many of <paramref name="subscribers"/> (placed round robin) are on the publishers' server.</summary>
    public int OnPublishingNode(int subscribers) => Enumerable.Range(0, subscribers).Count(i => SubscriberAt(i).Equals(Publish));

    /// <summary>
    /// Across nodes, a subscription is confirmed at once and the node's interest reaches the other nodes
    /// moments later; what is published before is not delivered. So before a case, on every subscribers'
    /// node other than the publishers', a probe connection subscribes <paramref name="channel"/>, and probe
    /// messages are published on the publishers' node until each probe has received one; a last message
    /// then fences the probes, so none is still in flight when the real subscribers subscribe. The probes
    /// are returned, still subscribed: dispose them once the real subscribers hold the channel (each node
    /// keeps its interest while any local client subscribes). Nothing happens on a single server.
    /// </summary>
    public async Task<IDisposable> AwaitInterestAsync(string channel)
    {
        var probes = new Probes();
        if (!CrossNode)
        {
            return probes;
        }

        try
        {
            foreach (var endPoint in Subscribe.Distinct().Where(e => !e.Equals(Publish)))
            {
                var probe = await LoadConnection.ConnectAsync(endPoint, busy: false).ConfigureAwait(false);
                probes.Add(probe, endPoint);
                await probe.SubscribeAsync("SUBSCRIBE", [channel]).ConfigureAwait(false);
            }

            using var publisher = await LoadConnection.ConnectAsync(Publish, busy: false).ConfigureAwait(false);
            using var stop = new CancellationTokenSource(InterestTimeout);
            var reached = probes.All.Select(p => WaitForAsync(p.Connection, "probe", stop.Token)).ToList();
            var all = Task.WhenAll(reached);
            while (!all.IsCompleted)
            {
                await publisher.CallAsync("PUBLISH", channel, "probe").ConfigureAwait(false);
                await Task.WhenAny(all, Task.Delay(50, CancellationToken.None)).ConfigureAwait(false);
            }

            if (reached.Any(t => !t.IsCompletedSuccessfully))
            {
                var missing = probes.All.Where((_, i) => !reached[i].IsCompletedSuccessfully).Select(p => p.EndPoint);
                throw new LoadGenException(
                    $"a message published on {Publish} did not reach a subscriber on {string.Join(", ", missing)} within {InterestTimeout.TotalSeconds} s: are they nodes of one cluster?");
            }

            // One publisher's messages to one channel arrive in order: once the fence is in, no probe is left.
            await publisher.CallAsync("PUBLISH", channel, "fence").ConfigureAwait(false);
            using var fenceStop = new CancellationTokenSource(InterestTimeout);
            await Task.WhenAll(probes.All.Select(p => WaitForAsync(p.Connection, "fence", fenceStop.Token))).ConfigureAwait(false);
            return probes;
        }
        catch
        {
            probes.Dispose();
            throw;
        }
    }

    /// <summary>Reads pushes until a message whose payload is <paramref name="payload"/>.</summary>
    private static async Task WaitForAsync(LoadConnection connection, string payload, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            SetupReply reply;
            try
            {
                reply = await connection.ReadReplyAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new LoadGenException($"no '{payload}' message after {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
            }

            if (reply is { Kind: RespKind.Array, Items: [{ Text: "message" }, _, { Text: var text }] } && text == payload)
            {
                return;
            }
        }
    }

    private sealed class Probes : IDisposable
    {
        public List<(LoadConnection Connection, EndPoint EndPoint)> All { get; } = [];

        public void Add(LoadConnection connection, EndPoint endPoint) => All.Add((connection, endPoint));

        public void Dispose()
        {
            foreach (var (connection, _) in All)
            {
                connection.Dispose();
            }
        }
    }
}

/// <summary>
/// What a PUBLISH reply must say and how many deliveries each message is expected to make. On one server,
/// by default, every reply is the number of subscribers and the expected deliveries are what the replies
/// count (as before). Across nodes, or without the reply check, every subscriber is expected to receive
/// each message whatever the reply says. Across nodes a reply counts the publishing node's own
/// subscribers exactly and the other nodes' as the publishing node last heard of them (docs/cluster.md,
/// counting across the cluster: within a second of a change), so it may be anything from the local
/// count (the others not yet heard of) to the cluster-wide count plus one per other subscribers' node
/// (the interest probes, closed before the case, not yet forgotten); without the check any count.
/// </summary>
internal sealed record ReplyRule(bool FromReply, long Receivers, long? LocalReceivers, bool Check, long Slack = 0)
{
    public static ReplyRule For(LoadGenOptions options, Topology topology, int receivers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(topology);
        return topology.CrossNode
            ? new ReplyRule(FromReply: false, receivers, topology.OnPublishingNode(receivers), options.ReplyCheck,
                topology.Subscribe.Distinct().Count(e => !e.Equals(topology.Publish)))
            : new ReplyRule(FromReply: options.ReplyCheck, receivers, null, options.ReplyCheck);
    }

    /// <summary>Deliveries one PUBLISH answered with <paramref name="reply"/> is expected to make.</summary>
    public long Expected(long reply) => FromReply ? reply : Receivers;

    public bool Mismatch(long reply) => Check && (LocalReceivers is { } local
        ? reply < local || reply > Receivers + Slack
        : reply != Receivers);
}
