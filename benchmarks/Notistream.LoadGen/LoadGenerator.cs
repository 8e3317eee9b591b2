using System.Net;
using System.Net.Sockets;
using Notistream.LoadGen.Reporting;
using Notistream.LoadGen.Scenarios;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen;

/// <summary>Runs the chosen scenarios against one server, one case after the other.</summary>
public static class LoadGenerator
{
    public static async Task<RunReport> RunAsync(LoadGenOptions options, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endPoint = await ResolveAsync(options.Host, options.Port).ConfigureAwait(false);
        var server = await IdentifyAsync(endPoint).ConfigureAwait(false);
        var subscribeAt = new List<EndPoint>();
        foreach (var port in options.SubscriberPorts)
        {
            subscribeAt.Add(port == options.Port ? endPoint : await ResolveAsync(options.Host, port).ConfigureAwait(false));
        }

        var topology = new Topology(
            options.PublishHost is null && options.PublishPort is null ? endPoint : await ResolveAsync(options.PublishHost ?? options.Host, options.PublishPort ?? options.Port).ConfigureAwait(false),
            subscribeAt);
        if (topology.CrossNode && options.Scenarios.Except(LoadGenOptions.CrossNodeScenarios).FirstOrDefault() is { } other)
        {
            throw new LoadGenException($"the {other} scenario does not run across nodes (only {string.Join(" and ", LoadGenOptions.CrossNodeScenarios)} do)");
        }

        var target = $"{options.Host}:{options.Port}";
        if (topology.CrossNode)
        {
            target = $"subscribers on {options.Host}:{string.Join(',', options.SubscriberPorts)}, publishers on {options.PublishHost ?? options.Host}:{options.PublishPort ?? options.Port}";
            server += " (cross-node)";
        }

        var started = DateTimeOffset.UtcNow;
        var results = new List<ScenarioResult>();

        async Task Case(string name, Func<Task<ScenarioResult>> run)
        {
            progress?.WriteLine($"{name} ...");
            var (collections, paused) = (GC.CollectionCount(0), GC.GetTotalPauseDuration());
            var result = await run().ConfigureAwait(false);

            // The generator's own pauses stop its readers and its pacer: shown with every case (set-up
            // included), so a figure taken while the generator collected garbage can be told from one the
            // server caused. The process's collections: the generator's alone when it runs on its own.
            result = result with
            {
                Metrics =
                [
                    .. result.Metrics,
                    Metric.Info("generator GCs", GC.CollectionCount(0) - collections, "count"),
                    Metric.Context("generator GC pause", (GC.GetTotalPauseDuration() - paused).TotalMilliseconds, "ms"),
                ],
            };
            progress?.WriteLine($"{result.Case}: {(result.Valid ? "ok" : "INVALID")} ({result.Delivery})");
            results.Add(result);
        }

        foreach (var scenario in options.Scenarios)
        {
            switch (scenario)
            {
                case "fanout":
                    foreach (var n in options.FanoutSubscribers)
                    {
                        await Case($"fanout N={n}", () => ThroughputScenarios.FanoutAsync(options, topology, n)).ConfigureAwait(false);
                    }

                    break;
                case "channels":
                    await Case($"channels C={options.Channels}", () => ThroughputScenarios.ChannelsAsync(options, endPoint)).ConfigureAwait(false);
                    break;
                case "patterns":
                    var before = results.Count;
                    foreach (var k in options.PatternCounts)
                    {
                        await Case($"patterns K={k}", () => ThroughputScenarios.PatternsAsync(options, endPoint, k)).ConfigureAwait(false);
                    }

                    if (ThroughputScenarios.PatternRatio(results.Skip(before).ToList()) is { } ratio)
                    {
                        results.Add(ratio);
                    }

                    break;
                case "latency":
                    await Case("latency", () => LatencyScenario.RunAsync(options, topology)).ConfigureAwait(false);
                    break;
                case "connections":
                    await Case($"connections {options.IdleConnections}", () => ConnectionsScenario.RunAsync(options, endPoint)).ConfigureAwait(false);
                    break;
                case "history":
                    // Our server stores a PUBLISH to a history channel; elsewhere the store is an XADD.
                    var ours = server.StartsWith("notistream ", StringComparison.Ordinal);
                    await Case(HistoryScenario.StoreCase, () => HistoryScenario.StoreAsync(options, endPoint, HistoryScenario.StoreCase, publish: ours)).ConfigureAwait(false);
                    await Case(HistoryScenario.XaddCase, () => HistoryScenario.StoreAsync(options, endPoint, HistoryScenario.XaddCase, publish: false)).ConfigureAwait(false);
                    await Case(HistoryScenario.MemoryCase(options), () => HistoryScenario.MemoryAsync(options, endPoint)).ConfigureAwait(false);
                    await Case(HistoryScenario.CatchUpCase(options), () => HistoryScenario.CatchUpAsync(options, endPoint, ours)).ConfigureAwait(false);
                    break;
                case "sse":
                    var gateway = await SseScenario.ResolveAsync(options.GatewayUrl).ConfigureAwait(false);
                    var sseSubscribers = options.SseSubscribers;
                    await Case(SseScenario.IdleCase(sseSubscribers), () => SseScenario.IdleAsync(options, gateway)).ConfigureAwait(false);
                    foreach (var rate in options.SseRates)
                    {
                        // Over HTTP, then the same over RESP, one after the other in the same run.
                        await Case(SseScenario.FanoutCase("sse", sseSubscribers, rate), () => SseScenario.FanoutAsync(options, endPoint, gateway, rate, http: true)).ConfigureAwait(false);
                        var sse = results[^1];
                        await Case(SseScenario.FanoutCase("resp", sseSubscribers, rate), () => SseScenario.FanoutAsync(options, endPoint, gateway, rate, http: false)).ConfigureAwait(false);
                        results.Add(SseScenario.Ratio(sse, results[^1]));
                    }

                    break;
                default:
                    throw new LoadGenException($"unknown scenario '{scenario}' (known: {string.Join(", ", LoadGenOptions.KnownScenarios)})");
            }
        }

        return new RunReport(target, server, started, options.Describe(), results);
    }

    private static async Task<IPEndPoint> ResolveAsync(string host, int port)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }

        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host).ConfigureAwait(false);
            var v4 = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
                ?? throw new LoadGenException($"{host} has no IPv4 address");
            return new IPEndPoint(v4, port);
        }
        catch (SocketException ex)
        {
            throw new LoadGenException($"cannot resolve {host}: {ex.Message}", ex);
        }
    }

    /// <summary>"notistream 1.0.0" or "redis 7.0.15", from INFO server.</summary>
    private static async Task<string> IdentifyAsync(IPEndPoint endPoint)
    {
        using var connection = await LoadConnection.ConnectAsync(endPoint, busy: false).ConfigureAwait(false);
        var info = (await connection.CallAsync("INFO", "server").ConfigureAwait(false)).Text ?? "";
        string? Field(string name) => info.Split('\n')
            .Select(l => l.TrimEnd('\r'))
            .FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal))?[(name.Length + 1)..];
        return Field("notistream_version") is { } ours ? $"notistream {ours}"
            : Field("redis_version") is { } redis ? $"redis {redis}"
            : "unknown server";
    }
}
