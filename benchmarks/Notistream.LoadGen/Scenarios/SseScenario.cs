using System.Diagnostics;
using System.Globalization;
using System.Net;
using Notistream.LoadGen.Reporting;
using Notistream.LoadGen.Verification;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>Where the gateway listens: its address, the Host header to send and the path prefix of its routes.</summary>
internal sealed record GatewayTarget(EndPoint EndPoint, string Host, string BasePath)
{
    public string SsePath(string channel) => $"{BasePath}/{Uri.EscapeDataString(channel)}/sse";
}

/// <summary>
/// HTTP subscribers against RESP subscribers, same shape, same run. Three kinds of case:
/// <list type="bullet">
/// <item><c>sse idle N=…</c>: the gateway's and the server's resident memory (VmRSS) with no subscriber and
/// with N idle SSE subscribers, each read after the figure stopped moving, per subscriber.</item>
/// <item><c>sse N=… R/s</c> and <c>resp N=… R/s</c>: N subscribers of one channel, over the gateway
/// (<c>GET /&lt;channel&gt;/sse</c>) or straight to the server (<c>SUBSCRIBE</c>); one publisher sends PUBLISH
/// over RESP to the server at R messages a second, each stamped with its intended send time as
/// <see cref="LatencyScenario"/> does (a stall shows as latency, not as a lower rate), or with <c>max</c> as
/// fast as the subscribers take them, stamped when sent. Either way it stays within
/// <see cref="WindowPerSubscriber"/> messages per subscriber ahead of the deliveries, under the gateway's queue of 256.</item>
/// <item><c>sse / resp N=… R/s</c>: the ratios of the two.</item>
/// </list>
/// Payloads are <see cref="TextPayload"/> text on both transports, so the gateway passes them through its
/// JSON as they are, and every message is checked for loss, duplication and order.
/// </summary>
internal static class SseScenario
{
    /// <summary>Messages the publisher may be ahead of the subscribers, per subscriber.</summary>
    public const int WindowPerSubscriber = 200;

    private const int MaxBatch = 64;

    public static string IdleCase(int subscribers) => $"sse idle N={subscribers}";

    public static string FanoutCase(string transport, int subscribers, int rate) =>
        $"{transport} N={subscribers} {(rate == 0 ? "max" : rate.ToString(CultureInfo.InvariantCulture) + "/s")}";

    public static async Task<GatewayTarget> ResolveAsync(string? url)
    {
        if (url is null)
        {
            throw new LoadGenException("the sse scenario needs --gateway-url http://HOST:PORT");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != "http")
        {
            throw new LoadGenException($"--gateway-url must be an http:// URL, not '{url}'");
        }

        IPAddress address;
        if (!IPAddress.TryParse(uri.Host, out address!))
        {
            var addresses = await Dns.GetHostAddressesAsync(uri.Host).ConfigureAwait(false);
            address = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                ?? throw new LoadGenException($"{uri.Host} has no IPv4 address");
        }

        return new GatewayTarget(new IPEndPoint(address, uri.Port), uri.Authority, uri.AbsolutePath.TrimEnd('/'));
    }

    /// <summary>Memory per idle SSE subscriber: gateway and server RSS with none and with N.</summary>
    public static async Task<ScenarioResult> IdleAsync(LoadGenOptions options, GatewayTarget gateway)
    {
        var n = options.SseSubscribers;
        var run = new RunState();
        var channel = "lg" + Guid.NewGuid().ToString("N")[..8] + ":idle";
        var receivers = new List<SseReceiver>();
        var problems = new List<string>();
        try
        {
            var gatewayBefore = await SettledRssAsync(options.GatewayPid).ConfigureAwait(false);
            var serverBefore = await SettledRssAsync(options.ServerPid).ConfigureAwait(false);
            var started = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (_, _) =>
            {
                var receiver = await SseReceiver.ConnectAsync(gateway.EndPoint, gateway.Host, gateway.SsePath(channel), run, null).ConfigureAwait(false);
                lock (receivers)
                {
                    receivers.Add(receiver);
                }
            }).ConfigureAwait(false);
            var connectSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var gatewayAfter = await SettledRssAsync(options.GatewayPid).ConfigureAwait(false);
            var serverAfter = await SettledRssAsync(options.ServerPid).ConfigureAwait(false);

            static double? PerSubscriberKiB(long? before, long? after, int n) => before is { } b && after is { } a ? (a - b) / 1024.0 / n : null;
            static double? MiB(long? bytes) => bytes / 1024.0 / 1024.0;
            var metrics = new List<Metric>
            {
                Metric.Lower("gateway RSS per idle subscriber", PerSubscriberKiB(gatewayBefore, gatewayAfter, n), "KiB"),
                Metric.Lower("server RSS per idle subscriber", PerSubscriberKiB(serverBefore, serverAfter, n), "KiB"),
                Metric.Context("gateway RSS, no subscriber", MiB(gatewayBefore), "MiB"),
                Metric.Context($"gateway RSS, {n} subscribers", MiB(gatewayAfter), "MiB"),
                Metric.Higher("subscribe rate", n / connectSeconds, "subs/s"),
            };
            return new ScenarioResult("sse", IdleCase(n), DeliveryReport.Empty, metrics, problems);
        }
        finally
        {
            run.Stop();
            foreach (var receiver in receivers)
            {
                receiver.Connection.Dispose();
            }
        }
    }

    /// <summary>N subscribers of one channel over SSE (<paramref name="http"/>) or RESP, PUBLISH at <paramref name="rate"/> (0: as fast as they take it).</summary>
    public static async Task<ScenarioResult> FanoutAsync(LoadGenOptions options, EndPoint server, GatewayTarget gateway, int rate, bool http)
    {
        if (options.PayloadSize < TextPayload.HeaderSize)
        {
            throw new LoadGenException($"the sse scenario needs --payload {TextPayload.HeaderSize} or more");
        }

        var n = options.SseSubscribers;
        var name = FanoutCase(http ? "sse" : "resp", n, rate);
        var run = new RunState();
        var channel = "lg" + Guid.NewGuid().ToString("N")[..8] + ":sse";
        using var latency = new ThreadLocal<LatencyHistogram>(() => new LatencyHistogram(), trackAllValues: true);
        var receivers = new List<IReceiver>();
        var problems = new List<string>();
        LoadConnection? publisher = null;
        try
        {
            var subscribing = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (_, _) =>
            {
                if (http)
                {
                    var receiver = await SseReceiver.ConnectAsync(gateway.EndPoint, gateway.Host, gateway.SsePath(channel), run, latency).ConfigureAwait(false);
                    lock (receivers)
                    {
                        receivers.Add(receiver);
                    }

                    return;
                }

                var connection = await LoadConnection.ConnectAsync(server, busy: false).ConfigureAwait(false);
                var subscriber = new Subscriber(connection, run, null, textPayload: true, sharedLatency: latency);
                subscriber.Receives.Add(0);
                lock (receivers)
                {
                    receivers.Add(subscriber);
                }

                await connection.SubscribeAsync("SUBSCRIBE", [channel]).ConfigureAwait(false);
            }).ConfigureAwait(false);
            var subscribeSeconds = Stopwatch.GetElapsedTime(subscribing).TotalSeconds;

            publisher = await LoadConnection.ConnectAsync(server, busy: true).ConfigureAwait(false);
            var readers = receivers.Select(r => Task.Run(r.ReadAsync)).ToList();

            var warmupTicks = (long)(Math.Min(1.0, options.DurationSeconds * 0.2) * Stopwatch.Frequency);
            var start = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 100);
            var end = start + (long)(options.DurationSeconds * Stopwatch.Frequency);
            run.MeasureFrom = start + warmupTicks;
            var replies = new ReplyCounter(n);
            var replyReader = Task.Run(() => replies.ReadAsync(publisher, run));
            string? paceError = null;
            var pacer = new Thread(() =>
            {
                try
                {
                    Pace(publisher, options.PayloadSize, channel, start, end, rate, n, run);
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    paceError = ex.Message;
                }
            })
            {
                IsBackground = true,
                Name = "sse publisher",
                Priority = ThreadPriority.AboveNormal,
            };
            pacer.Start();

            var toWindow = run.MeasureFrom - Stopwatch.GetTimestamp();
            if (toWindow > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds((double)toWindow / Stopwatch.Frequency)).ConfigureAwait(false);
            }

            var (t0, delivered0, published0) = (Stopwatch.GetTimestamp(), run.Delivered, run.Published);
            var (server0, gateway0, generator0) = (ProcessCpu.Seconds(options.ServerPid), ProcessCpu.Seconds(http ? options.GatewayPid : null), ProcessCpu.Seconds(Environment.ProcessId));
            await Task.Run(pacer.Join).ConfigureAwait(false);
            var (t1, delivered1, published1) = (Stopwatch.GetTimestamp(), run.Delivered, run.Published);
            var (server1, gateway1, generator1) = (ProcessCpu.Seconds(options.ServerPid), ProcessCpu.Seconds(http ? options.GatewayPid : null), ProcessCpu.Seconds(Environment.ProcessId));
            if (paceError is not null)
            {
                problems.Add($"publisher: {paceError}");
            }

            // Every PUBLISH answered, then every delivery arrived (or nothing more for 5 s).
            await WaitAsync(() => replies.Count >= run.Published || replyReader.IsCompleted).ConfigureAwait(false);
            var expected = run.Published * n;
            var lastProgress = Stopwatch.GetTimestamp();
            var last = run.Delivered;
            while (run.Delivered < expected && receivers.All(r => r.Problem is null) && Stopwatch.GetElapsedTime(lastProgress) < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(10).ConfigureAwait(false);
                if (run.Delivered != last)
                {
                    (last, lastProgress) = (run.Delivered, Stopwatch.GetTimestamp());
                }
            }

            run.Stop();
            publisher.Abort();
            foreach (var receiver in receivers)
            {
                receiver.Connection.Abort();
            }

            try
            {
                await Task.WhenAll(readers.Append(replyReader)).WaitAsync(LoadConnection.SetupTimeout).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                problems.Add($"a reader did not stop: {ex.Message}");
            }

            if (replies.Problem is { } replyProblem)
            {
                problems.Add(replyProblem);
            }

            var all = new LatencyHistogram();
            foreach (var histogram in latency.Values)
            {
                all.Add(histogram);
            }

            var delivery = DeliveryReport.Empty;
            foreach (var receiver in receivers)
            {
                delivery = delivery.Add(receiver.Verifier.Finish([new(0, run.Published)]));
                if (receiver.Problem is { } problem && !problems.Contains(problem))
                {
                    problems.Add(problem);
                }
            }

            delivery = delivery with { ReplyMismatches = replies.Mismatches };
            var seconds = Stopwatch.GetElapsedTime(t0, t1).TotalSeconds;
            var deliveries = delivered1 - delivered0;
            static double Micros(long nanoseconds) => nanoseconds / 1000.0;
            double? PerMillion(double? cpu) => deliveries > 0 ? cpu / deliveries * 1e6 : null;
            var serverCpu = server1 - server0;
            var gatewayCpu = gateway1 - gateway0;
            var metrics = new List<Metric>
            {
                Metric.Higher("deliveries/s", deliveries / seconds, "msg/s"),
                Metric.Context("publishes/s", (published1 - published0) / seconds, "msg/s"),
                Metric.Lower("p50", Micros(all.Percentile(50)), "us"),
                Metric.Lower("p99", Micros(all.Percentile(99)), "us"),
                Metric.Lower("max", Micros(all.Max), "us"),
                Metric.Info("samples", all.Count, "msg"),
                Metric.Lower("server CPU per 1M deliveries", PerMillion(serverCpu), "CPU s"),
                Metric.Lower("gateway CPU per 1M deliveries", PerMillion(gatewayCpu), "CPU s"),
                Metric.Lower("server + gateway CPU per 1M deliveries", PerMillion(http ? serverCpu + gatewayCpu : serverCpu), "CPU s"),
                Metric.Context("server CPU", serverCpu / seconds, "cores"),
                Metric.Context("gateway CPU", gatewayCpu / seconds, "cores"),
                Metric.Context("generator CPU", (generator1 - generator0) / seconds, "cores"),
                Metric.Info("subscribe time", subscribeSeconds, "s"),
            };
            return new ScenarioResult("sse", name, delivery, metrics, problems);
        }
        finally
        {
            publisher?.Dispose();
            foreach (var receiver in receivers)
            {
                receiver.Connection.Dispose();
            }
        }
    }

    /// <summary>The SSE case's figures over the RESP case's, as one more row.</summary>
    public static ScenarioResult Ratio(ScenarioResult sse, ScenarioResult resp)
    {
        double? Value(ScenarioResult r, string metric) => r.Metrics.FirstOrDefault(m => m.Name == metric)?.Value;
        double? Over(string metric) => Value(sse, metric) is { } s && Value(resp, metric) is > 0 and var r ? s / r : null;
        var problems = sse.Valid && resp.Valid ? Array.Empty<string>() : ["a case it compares was not valid"];
        return new ScenarioResult(
            "sse",
            $"sse / resp {sse.Case["sse ".Length..]}",
            DeliveryReport.Empty,
            [
                Metric.Info("deliveries/s ratio", Over("deliveries/s"), "x"),
                Metric.Info("p50 ratio", Over("p50"), "x"),
                Metric.Info("p99 ratio", Over("p99"), "x"),
                Metric.Info("CPU per delivery ratio", Over("server + gateway CPU per 1M deliveries"), "x"),
            ],
            problems);
    }

    /// <summary>
    /// Sends message i at <c>start + i / rate</c> stamped with that time (or, at rate 0, as soon as the
    /// window allows, stamped with the send time) until <paramref name="end"/>, at most
    /// <see cref="WindowPerSubscriber"/> messages ahead of the average subscriber.
    /// </summary>
    private static void Pace(LoadConnection connection, int payloadSize, string channel, long start, long end, int rate, int subscribers, RunState run)
    {
        var batch = new PublishBatch(channel, payloadSize, MaxBatch);
        var interval = rate > 0 ? (double)Stopwatch.Frequency / rate : 0;
        var total = rate > 0 ? (long)((end - start) / interval) : long.MaxValue;
        long window = (long)WindowPerSubscriber * subscribers;
        long next = 0;
        while (next < total)
        {
            var now = Stopwatch.GetTimestamp();
            if (rate == 0 && now >= end)
            {
                break;
            }

            var due = rate > 0 ? Math.Min(total, (long)((now - start) / interval) + 1) : next + MaxBatch;
            if (due <= next)
            {
                var wait = start + (long)(next * interval) - now;
                if (wait > Stopwatch.Frequency / 500)
                {
                    Thread.Sleep(1);
                }
                else
                {
                    Thread.Yield();
                }

                continue;
            }

            var room = (window - ((next * subscribers) - run.Delivered)) / subscribers;
            if (room <= 0)
            {
                Thread.Sleep(1);
                continue;
            }

            var count = (int)Math.Min(Math.Min(due - next, MaxBatch), room);
            for (var k = 0; k < count; k++)
            {
                batch.SetTextMessage(k, 0, next + k, rate > 0 ? start + (long)((next + k) * interval) : now);
            }

            connection.Send(batch.Frames(count).Span);
            next += count;
            run.AddPublished(count, 0, 0);
        }
    }

    private static async Task WaitAsync(Func<bool> done)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(LoadConnection.SetupTimeout.TotalSeconds * Stopwatch.Frequency);
        while (!done() && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(5).ConfigureAwait(false);
        }
    }

    private static async Task<long?> SettledRssAsync(int? pid)
    {
        if (pid is null)
        {
            return null;
        }

        // A process's RSS moves for a while after a burst of connections (the collector, freed pages): read
        // it every 250 ms until four readings in a row are within 0.5% of each other, or for at most 10 s.
        var readings = new List<long>();
        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        await Task.Delay(500).ConfigureAwait(false);
        while (true)
        {
            readings.Add(ConnectionsScenario.ReadRss(pid)!.Value);
            var recent = readings.TakeLast(4).ToList();
            if ((recent.Count == 4 && recent.Max() - recent.Min() <= recent.Max() / 200) || Stopwatch.GetTimestamp() > deadline)
            {
                return recent[^1];
            }

            await Task.Delay(250).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the publisher's PUBLISH replies, each of which must count every subscriber.</summary>
    private sealed class ReplyCounter(int receivers)
    {
        private long _count;

        public long Count => Volatile.Read(ref _count);

        public long Mismatches { get; private set; }

        public string? Problem { get; private set; }

        public async Task ReadAsync(LoadConnection connection, RunState run)
        {
            try
            {
                while (true)
                {
                    var data = connection.Unparsed;
                    var position = 0;
                    long counted = 0;
                    while (true)
                    {
                        var used = RespParser.TryParse(data[position..], out var reply);
                        if (used == 0)
                        {
                            break;
                        }

                        if (reply.Kind != RespKind.Integer)
                        {
                            throw new LoadGenException($"PUBLISH answered {SetupReply.From(reply, data[position..])}");
                        }

                        position += used;
                        counted++;
                        Mismatches += reply.Integer == receivers ? 0 : 1;
                    }

                    connection.Consume(position);
                    Interlocked.Add(ref _count, counted);
                    if (!await connection.FillAsync().ConfigureAwait(false))
                    {
                        if (!run.Stopping)
                        {
                            Problem = "the server closed the publisher connection";
                        }

                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
            {
                if (!run.Stopping)
                {
                    Problem = $"publisher connection failed: {ex.Message}";
                }
            }
            catch (LoadGenException ex)
            {
                Problem = ex.Message;
            }
        }
    }
}
