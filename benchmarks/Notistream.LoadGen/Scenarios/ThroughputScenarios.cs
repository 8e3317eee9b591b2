using System.Globalization;
using System.Net;
using Notistream.LoadGen.Reporting;

namespace Notistream.LoadGen.Scenarios;

/// <summary>The fan-out, many-channels and patterns scenarios: set-ups of <see cref="ThroughputCase"/>.</summary>
internal static class ThroughputScenarios
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>
    /// One channel, N subscribers: every PUBLISH answers N. Across nodes (<paramref name="topology"/>) the
    /// subscribers spread over their nodes once the channel's interest has reached the publishers' node.
    /// </summary>
    public static async Task<ScenarioResult> FanoutAsync(LoadGenOptions options, Topology topology, int subscribers)
    {
        var channel = CasePrefix() + "fanout";
        using var run = new ThroughputCase(options, topology.Publish, [channel], subscribers, topology: topology);
        using (await topology.AwaitInterestAsync(channel).ConfigureAwait(false))
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, subscribers), Limited(), async (_, _) =>
                await run.AddSubscriberAsync([channel], [], [0]).ConfigureAwait(false)).ConfigureAwait(false);
        }

        var (delivery, metrics, problems) = await run.RunAsync().ConfigureAwait(false);
        return new ScenarioResult("fanout", $"fanout N={subscribers}", delivery, metrics, problems);
    }

    /// <summary>C channels, each subscribed once, spread over connections holding <c>ChannelsPerConnection</c> each.</summary>
    public static async Task<ScenarioResult> ChannelsAsync(LoadGenOptions options, EndPoint endPoint)
    {
        var prefix = CasePrefix();
        var count = options.Channels;
        var width = (count - 1).ToString(Invariant).Length;
        var channels = Enumerable.Range(0, count).Select(i => prefix + "ch:" + i.ToString("D" + width.ToString(Invariant), Invariant)).ToList();
        var connections = Math.Max(1, (count + options.ChannelsPerConnection - 1) / options.ChannelsPerConnection);
        using var run = new ThroughputCase(options, endPoint, channels, 1);

        // Connection j holds channels j, j + connections, ...: round-robin publishing spreads evenly over connections.
        await Parallel.ForEachAsync(Enumerable.Range(0, connections), Limited(), async (j, _) =>
        {
            var mine = Enumerable.Range(0, count).Where(i => i % connections == j).ToList();
            await run.AddSubscriberAsync(mine.Select(i => channels[i]).ToList(), [], mine).ConfigureAwait(false);
        }).ConfigureAwait(false);
        var (delivery, metrics, problems) = await run.RunAsync().ConfigureAwait(false);
        return new ScenarioResult("channels", $"channels C={count}, {options.ChannelsPerConnection}/conn", delivery, metrics, problems);
    }

    /// <summary>
    /// K pattern subscriptions of which exactly one matches the published channel; the others look like an
    /// application's (<c>user.{i}.*</c>, <c>other:{i}:*</c>, <c>device/{i}/[ab]*</c>) and are spread over up to
    /// ten more connections. With K=0 an exact subscription receives instead, so every case delivers each
    /// message once and the K=0 case is the cost of a PUBLISH without patterns.
    /// </summary>
    public static async Task<ScenarioResult> PatternsAsync(LoadGenOptions options, EndPoint endPoint, int patterns)
    {
        var prefix = CasePrefix();
        var channel = prefix + "user.0.inbox";
        using var run = new ThroughputCase(options, endPoint, [channel], 1);
        if (patterns == 0)
        {
            await run.AddSubscriberAsync([channel], [], [0]).ConfigureAwait(false);
        }
        else
        {
            await run.AddSubscriberAsync([], [prefix + "user.0.*"], [0]).ConfigureAwait(false);
            var others = Enumerable.Range(1, patterns - 1).Select(i => (i % 3) switch
            {
                0 => $"{prefix}user.{i}.*",
                1 => $"{prefix}other:{i}:*",
                _ => $"{prefix}device/{i}/[ab]*",
            }).ToList();
            var holders = Math.Min(10, others.Count);
            await Parallel.ForEachAsync(Enumerable.Range(0, holders), Limited(), async (j, _) =>
                await run.AddSubscriberAsync([], others.Where((_, i) => i % holders == j).ToList(), []).ConfigureAwait(false)).ConfigureAwait(false);
        }

        var (delivery, metrics, problems) = await run.RunAsync().ConfigureAwait(false);
        return new ScenarioResult("patterns", $"patterns K={patterns}", delivery, metrics, problems);
    }

    /// <summary>The K=largest against K=0 publishes/s ratio, as an extra row (1.0 = patterns cost nothing).</summary>
    public static ScenarioResult? PatternRatio(IReadOnlyList<ScenarioResult> results)
    {
        var cases = results.Where(r => r.Scenario == "patterns").ToList();
        if (cases.Count < 2)
        {
            return null;
        }

        double? Rate(ScenarioResult r) => r.Metrics.FirstOrDefault(m => m.Name == "publishes/s")?.Value;
        var first = cases[0];
        var last = cases[^1];
        var ratio = Rate(first) is > 0 && Rate(last) is { } l ? l / Rate(first) : null;
        var problems = cases.Any(c => !c.Valid) ? new[] { "a patterns case was not valid" } : [];
        return new ScenarioResult(
            "patterns",
            $"patterns {last.Case["patterns ".Length..]} / {first.Case["patterns ".Length..]}",
            Verification.DeliveryReport.Empty,
            [Metric.Higher("publishes/s ratio", ratio, "x")],
            problems);
    }

    private static ParallelOptions Limited() => new() { MaxDegreeOfParallelism = 32 };

    /// <summary>Each case uses fresh channel names, so nothing left from an earlier case can interfere.</summary>
    private static string CasePrefix() => "lg" + Guid.NewGuid().ToString("N")[..8] + ":";
}
