using System.Globalization;
using Notistream.LoadGen;
using Notistream.LoadGen.Reporting;

// Socket completions run on the socket event thread instead of hopping to the thread pool: every
// subscriber read is short and never blocks, and it halves what the generator costs per wake-up.
// Read once, before the first socket is used; DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 turns it off.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

return await Cli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);

namespace Notistream.LoadGen
{
    /// <summary>Command line: run scenarios against one server, or compare saved JSON reports. Exit 0 ok, 1 a run lost messages, 2 bad usage or failure.</summary>
    internal static class Cli
    {
        private const string Usage = """
            usage: notistream-loadgen [--host H] [--port P] [--scenario NAME[,NAME]]... [--duration SECONDS]
                                      [--smoke] [--json FILE|-] [--server-pid PID[,PID]...] [sizes]
                                      [--gateway-url URL] [--gateway-pid PID]
                                      [--publish-host H] [--publish-port P] [--subscribe-ports P[,P]...]
                                      [--no-reply-check] [--nats-pid PID[,PID]...]
                   notistream-loadgen --compare --baseline FILE... --candidate FILE... [--names B,C] [--out FILE]
                   notistream-loadgen --summarize FILE... [--out FILE]
                   notistream-loadgen --core-latency

            Runs pub/sub scenarios against a Redis-protocol server over raw pipelined RESP and prints one
            table; every message is numbered and checked, a case that lost one is INVALID (exit 1).
              --scenario        fanout, channels, patterns, latency, connections, history (default: all
                                of these), and sse (only when named: needs --gateway-url)
              --duration        seconds per case, the first 20% (at most 1 s) is warm-up (default 5)
              --smoke           tiny sizes, 1 s per case: proves it works, measures nothing
              --json FILE|-     also write the results as JSON (- : JSON on stdout, the table on stderr)
              --server-pid PID  server process, for its memory (VmRSS) per connection and per stored
                                history entry, and its CPU time (/proc/PID/stat) per delivery or entry in
                                the throughput, latency and history cases; else n/a
              --gateway-url URL the notistream-gateway connected to that server (http://127.0.0.1:8080),
                                for sse: HTTP subscribers (GET /<channel>/sse) beside RESP ones
              --gateway-pid PID the gateway's process, for its memory per idle subscriber and its CPU time
            across nodes (fanout and latency only), every node of one cluster (docs/cluster.md):
              --publish-host H  the publishers' server, when not --host
              --publish-port P  the publishers' port, when not --port
              --subscribe-ports P,P  ports on --host the subscribers spread over, round robin
                                (default: --port). Before a case, a probe subscriber on each subscribers'
                                node waits until a message published on the publishers' node reaches it
              --server-pid PID,PID  the CPU time of all these processes (every node) is summed
              --nats-pid PID,PID    nats-servers: their CPU time, and per 1M deliveries, beside the nodes'
              --no-reply-check  accept any PUBLISH reply count (every subscriber still has to receive
                                each message). Without it a reply must be the number of subscribers; across
                                nodes it may instead be the number on the publishing node (a node-local count)
            sizes:
              --publishers N (4) --pipeline N (64) --payload BYTES (64) --subscribers 1,50,500
              --channels N (10000) --channels-per-connection N (100) --patterns 0,100,1000,10000
              --rate MSG/S (20000) --latency-subscribers N (50) --connections N (10000)
              --history-entries N (1000000: entries stored for the history memory case)
              --catch-up N (100000: entries stored, then read back by the history catch-up case)
              --sse-subscribers N (1000) --sse-rate MSG/S[,max] (100,max: max is as fast as they take it)
            sse: the gateway's and server's RSS per idle SSE subscriber; then per rate N SSE subscribers
            of one channel, then N RESP subscribers, PUBLISH over RESP: deliveries/s, p50/p99/max
            PUBLISH-to-event, CPU per 1M deliveries, and the SSE/RESP ratios.
            --compare prints a markdown table of the medians of the candidate's and the baseline's reports
            and the ratio candidate/baseline per figure; exit 1 when a run in them was INVALID. --names
            heads the two columns (default: each side's server, e.g. redis and notistream).
            --summarize prints a markdown table of the medians, lowest and highest of every figure of
            repeated runs of one server (exit 1 when a run in them was INVALID).
            --core-latency prints how long a cache line takes to go from one core to another and back
            (ns, two threads passing a counter); on a virtual machine it can change from run to run.
            """;

        public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
        {
            try
            {
                if (args.Contains("--help") || args.Contains("-h"))
                {
                    await stdout.WriteLineAsync(Usage).ConfigureAwait(false);
                    return 0;
                }

                if (args.Contains("--core-latency"))
                {
                    var roundTrip = CoreLatency.Measure();
                    await stdout.WriteLineAsync(roundTrip is { } ns
                        ? string.Create(CultureInfo.InvariantCulture, $"core-to-core round trip: {ns:F0} ns")
                        : "core-to-core round trip: n/a (one core, or too busy for two threads to run at once)").ConfigureAwait(false);
                    return 0;
                }

                if (args.Contains("--summarize"))
                {
                    return await SummarizeAsync(args, stdout).ConfigureAwait(false);
                }

                return args.Contains("--compare")
                    ? await CompareAsync(args, stdout).ConfigureAwait(false)
                    : await RunScenariosAsync(args, stdout, stderr).ConfigureAwait(false);
            }
            catch (UsageException ex)
            {
                await stderr.WriteLineAsync($"notistream-loadgen: {ex.Message}\n\n{Usage}").ConfigureAwait(false);
                return 2;
            }
            catch (LoadGenException ex)
            {
                await stderr.WriteLineAsync($"notistream-loadgen: {ex.Message}").ConfigureAwait(false);
                return 2;
            }
        }

        private static async Task<int> RunScenariosAsync(string[] args, TextWriter stdout, TextWriter stderr)
        {
            var (options, json) = Parse(args);
            var jsonToStdout = json == "-";
            var table = jsonToStdout ? stderr : stdout;
            var report = await LoadGenerator.RunAsync(options, stderr).ConfigureAwait(false);
            await table.WriteAsync(TableWriter.Format(report)).ConfigureAwait(false);
            if (jsonToStdout)
            {
                await stdout.WriteLineAsync(report.ToJson()).ConfigureAwait(false);
            }
            else if (json is not null)
            {
                await File.WriteAllTextAsync(json, report.ToJson()).ConfigureAwait(false);
            }

            return report.Valid ? 0 : 1;
        }

        internal static (LoadGenOptions Options, string? Json) Parse(string[] args)
        {
            var smoke = args.Contains("--smoke");
            var options = smoke ? LoadGenOptions.Smoke("127.0.0.1", 6379) : new LoadGenOptions();
            string? json = null;
            var scenarios = new List<string>();
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                if (name == "--smoke")
                {
                    continue;
                }

                string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{name} needs a value");
                int Int(int min) => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min
                    ? v
                    : throw new UsageException($"{name} must be a whole number >= {min}");
                int[] Ints() => Value().Split(',').Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                    ? v
                    : throw new UsageException($"{name} takes whole numbers separated by commas")).ToArray();
                options = name switch
                {
                    "--host" => options with { Host = Value() },
                    "--port" => options with { Port = Int(1) },
                    "--duration" => options with
                    {
                        DurationSeconds = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0
                            ? d
                            : throw new UsageException("--duration must be a number of seconds > 0"),
                    },
                    "--server-pid" => Pids(options, Value(), name, nats: false),
                    "--nats-pid" => Pids(options, Value(), name, nats: true),
                    "--publish-host" => options with { PublishHost = Value() },
                    "--publish-port" => options with { PublishPort = Int(1) },
                    "--subscribe-ports" => options with
                    {
                        SubscribePorts = Ints() is { Length: > 0 } ports && ports.All(p => p is > 0 and < 65536) ? ports
                            : throw new UsageException("--subscribe-ports takes ports separated by commas"),
                    },
                    "--no-reply-check" => options with { ReplyCheck = false },
                    "--publishers" => options with { Publishers = Int(1) },
                    "--pipeline" => options with { Pipeline = Int(1) },
                    "--payload" => options with { PayloadSize = Int(Wire.Payload.HeaderSize) },
                    "--subscribers" => options with { FanoutSubscribers = Ints() },
                    "--channels" => options with { Channels = Int(1) },
                    "--channels-per-connection" => options with { ChannelsPerConnection = Int(1) },
                    "--patterns" => options with { PatternCounts = Ints() },
                    "--rate" => options with { LatencyRate = Int(1) },
                    "--latency-subscribers" => options with { LatencySubscribers = Int(1) },
                    "--connections" => options with { IdleConnections = Int(1) },
                    "--history-entries" => options with { HistoryEntries = Int(1) },
                    "--catch-up" => options with { CatchUpEntries = Int(1) },
                    "--gateway-url" => options with { GatewayUrl = Value() },
                    "--gateway-pid" => options with { GatewayPid = Int(1) },
                    "--sse-subscribers" => options with { SseSubscribers = Int(1) },
                    "--sse-rate" => options with
                    {
                        SseRates = Value().Split(',').Select(s => s == "max" ? 0
                            : int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v
                            : throw new UsageException("--sse-rate takes rates > 0 or max, separated by commas")).ToArray(),
                    },
                    "--scenario" => AddScenarios(options, scenarios, Value()),
                    "--json" => SetJson(options, ref json, Value()),
                    _ => throw new UsageException($"unknown option '{name}'"),
                };
            }

            if (scenarios.Count > 0)
            {
                options = options with { Scenarios = scenarios.Distinct().ToList() };
            }

            if (options.CrossNode && options.Scenarios.Except(LoadGenOptions.CrossNodeScenarios).ToList() is { Count: > 0 } others)
            {
                throw new UsageException($"across nodes only {string.Join(" and ", LoadGenOptions.CrossNodeScenarios)} run (add --scenario {string.Join(',', LoadGenOptions.CrossNodeScenarios)}), not {string.Join(", ", others)}");
            }

            return (options, json);
        }

        /// <summary>--server-pid or --nats-pid: one or more process ids separated by commas.</summary>
        private static LoadGenOptions Pids(LoadGenOptions options, string value, string name, bool nats)
        {
            var pids = value.Split(',').Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
                ? v
                : throw new UsageException($"{name} takes process ids separated by commas")).ToArray();
            return nats ? options with { NatsPids = pids } : options with { ServerPid = pids[0], OtherServerPids = pids[1..] };
        }

        private static LoadGenOptions AddScenarios(LoadGenOptions options, List<string> scenarios, string value)
        {
            foreach (var scenario in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!LoadGenOptions.KnownScenarios.Contains(scenario))
                {
                    throw new UsageException($"unknown scenario '{scenario}' (known: {string.Join(", ", LoadGenOptions.KnownScenarios)})");
                }

                scenarios.Add(scenario);
            }

            return options;
        }

        private static LoadGenOptions SetJson(LoadGenOptions options, ref string? json, string value)
        {
            json = value;
            return options;
        }

        private static async Task<int> CompareAsync(string[] args, TextWriter stdout)
        {
            var baseline = new List<RunReport>();
            var candidate = new List<RunReport>();
            string? output = null;
            (string, string)? names = null;
            List<RunReport>? current = null;
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--compare":
                        break;
                    case "--baseline":
                        current = baseline;
                        break;
                    case "--candidate":
                        current = candidate;
                        break;
                    case "--out":
                        output = i + 1 < args.Length ? args[++i] : throw new UsageException("--out needs a file");
                        break;
                    case "--names":
                        var pair = (i + 1 < args.Length ? args[++i] : "").Split(',');
                        names = pair.Length == 2 && pair.All(n => n.Length > 0) ? (pair[0], pair[1]) : throw new UsageException("--names takes two names: BASELINE,CANDIDATE");
                        break;
                    default:
                        if (current is null || args[i].StartsWith("--", StringComparison.Ordinal))
                        {
                            throw new UsageException($"unexpected '{args[i]}' in --compare");
                        }

                        current.Add(await ReadReportAsync(args[i]).ConfigureAwait(false));
                        break;
                }
            }

            if (baseline.Count == 0 || candidate.Count == 0)
            {
                throw new UsageException("--compare needs --baseline FILE... and --candidate FILE...");
            }

            var table = Comparison.Format(baseline, candidate, names);
            if (output is null)
            {
                await stdout.WriteAsync(table).ConfigureAwait(false);
            }
            else
            {
                await File.WriteAllTextAsync(output, table).ConfigureAwait(false);
            }

            return Comparison.AllValid(baseline.Concat(candidate)) ? 0 : 1;
        }

        private static async Task<int> SummarizeAsync(string[] args, TextWriter stdout)
        {
            var runs = new List<RunReport>();
            string? output = null;
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i] == "--summarize")
                {
                    continue;
                }

                if (args[i] == "--out")
                {
                    output = i + 1 < args.Length ? args[++i] : throw new UsageException("--out needs a file");
                    continue;
                }

                if (args[i].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new UsageException($"unexpected '{args[i]}' in --summarize");
                }

                runs.Add(await ReadReportAsync(args[i]).ConfigureAwait(false));
            }

            if (runs.Count == 0)
            {
                throw new UsageException("--summarize needs at least one report FILE");
            }

            var table = Summary.Format(runs);
            if (output is null)
            {
                await stdout.WriteAsync(table).ConfigureAwait(false);
            }
            else
            {
                await File.WriteAllTextAsync(output, table).ConfigureAwait(false);
            }

            return Comparison.AllValid(runs) ? 0 : 1;
        }

        private static async Task<RunReport> ReadReportAsync(string path)
        {
            try
            {
                return RunReport.FromJson(await File.ReadAllTextAsync(path).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException or InvalidDataException)
            {
                throw new LoadGenException($"{path}: {ex.Message}", ex);
            }
        }
    }

    internal sealed class UsageException(string message) : Exception(message);
}
