using System.Diagnostics;
using Notistream.LoadGen.Reporting;
using Notistream.LoadGen.Verification;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>
/// Publish-to-delivery latency at a fixed rate. One publisher thread paces message i at
/// <c>start + i / rate</c> and stamps that intended time into the payload; when it is late it sends every
/// due message at once, still stamped with its intended time, so a stall shows up in the latency instead of
/// silently lowering the rate (no coordinated omission). Subscribers record <c>arrival - intended</c>.
/// </summary>
internal static class LatencyScenario
{
    private const int MaxBatch = 256;

    /// <summary>The subscribers spread over <paramref name="topology"/>'s nodes, the publisher on its publishing node.</summary>
    public static async Task<ScenarioResult> RunAsync(LoadGenOptions options, Topology topology)
    {
        var run = new RunState();
        var channel = "lg" + Guid.NewGuid().ToString("N")[..8] + ":latency";
        var subscribers = new List<Subscriber>();
        var problems = new List<string>();
        LoadConnection? publisher = null;
        try
        {
            using (await topology.AwaitInterestAsync(channel).ConfigureAwait(false))
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, options.LatencySubscribers), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
                {
                    var connection = await LoadConnection.ConnectAsync(topology.SubscriberAt(i), busy: true).ConfigureAwait(false);
                    var subscriber = new Subscriber(connection, run, new LatencyHistogram());
                    subscriber.Receives.Add(0);
                    lock (subscribers)
                    {
                        subscribers.Add(subscriber);
                    }

                    await connection.SubscribeAsync("SUBSCRIBE", [channel]).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }

            publisher = await LoadConnection.ConnectAsync(topology.Publish, busy: true).ConfigureAwait(false);
            var readers = subscribers.Select(s => Task.Run(s.ReadAsync)).ToList();

            var rate = options.LatencyRate;
            var interval = (double)Stopwatch.Frequency / rate;
            var warmupTicks = (long)(Math.Min(1.0, options.DurationSeconds * 0.2) * Stopwatch.Frequency);
            var totalMessages = (long)(options.DurationSeconds * rate);
            var start = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 100);
            run.MeasureFrom = start + warmupTicks;
            var lag = new LatencyHistogram();
            var rule = ReplyRule.For(options, topology, options.LatencySubscribers);
            var replies = Task.Run(() => ReadRepliesAsync(publisher, run, rule, totalMessages));
            string? paceError = null;
            var pacer = new Thread(() =>
            {
                try
                {
                    Pace(publisher, options.PayloadSize, channel, start, interval, totalMessages, run, lag);
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
                {
                    paceError = ex.Message;
                }
            })
            {
                IsBackground = true,
                Name = "latency publisher",
                Priority = ThreadPriority.AboveNormal,
            };
            pacer.Start();

            // The CPU time is taken over the samples' window: from the first message whose latency counts
            // until every message has been delivered.
            var toWindow = run.MeasureFrom - Stopwatch.GetTimestamp();
            if (toWindow > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds((double)toWindow / Stopwatch.Frequency)).ConfigureAwait(false);
            }

            var (t0, cpu0) = (Stopwatch.GetTimestamp(), CpuSample.Take(options));
            await Task.Run(pacer.Join).ConfigureAwait(false);
            var sentSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (paceError is not null)
            {
                problems.Add($"publisher: {paceError}");
            }

            try
            {
                await replies.WaitAsync(LoadConnection.SetupTimeout).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                problems.Add($"PUBLISH replies: {ex.Message}");
            }

            var expected = run.ExpectedDeliveries;
            var deadline = Stopwatch.GetTimestamp() + (5 * Stopwatch.Frequency);
            while (run.Delivered < expected && Stopwatch.GetTimestamp() < deadline && subscribers.All(s => s.Problem is null))
            {
                await Task.Delay(10).ConfigureAwait(false);
            }

            var (t1, cpu1) = (Stopwatch.GetTimestamp(), CpuSample.Take(options));
            run.Stop();
            foreach (var subscriber in subscribers)
            {
                subscriber.Connection.Abort();
            }

            await Task.WhenAll(readers).WaitAsync(LoadConnection.SetupTimeout).ConfigureAwait(false);

            var latency = new LatencyHistogram();
            var delivery = DeliveryReport.Empty;
            foreach (var subscriber in subscribers)
            {
                latency.Add(subscriber.Latency!);
                delivery = delivery.Add(subscriber.Verifier.Finish([new(0, run.Published)]));
                if (subscriber.Problem is { } problem && !problems.Contains(problem))
                {
                    problems.Add(problem);
                }
            }

            delivery = delivery with { ReplyMismatches = run.ReplyMismatches };
            static double Micros(long nanoseconds) => nanoseconds / 1000.0;
            var metrics = new List<Metric>
            {
                Metric.Lower("p50", Micros(latency.Percentile(50)), "us"),
                Metric.Lower("p99", Micros(latency.Percentile(99)), "us"),
                Metric.Lower("p99.9", Micros(latency.Percentile(99.9)), "us"),
                Metric.Lower("max", Micros(latency.Max), "us"),
                Metric.Info("sent rate", run.Published / sentSeconds, "msg/s"),
                Metric.Info("publisher lag p99", Micros(lag.Percentile(99)), "us"),
                Metric.Info("samples", latency.Count, "msg"),
            };
            metrics.AddRange(CpuSample.Metrics(cpu0, cpu1, Stopwatch.GetElapsedTime(t0, t1).TotalSeconds, latency.Count));
            return new ScenarioResult("latency", $"latency {rate}/s x {options.LatencySubscribers} subs", delivery, metrics, problems);
        }
        finally
        {
            publisher?.Dispose();
            foreach (var subscriber in subscribers)
            {
                subscriber.Connection.Dispose();
            }
        }
    }

    private static void Pace(LoadConnection connection, int payloadSize, string channel, long start, double interval, long total, RunState run, LatencyHistogram lag)
    {
        var batch = new PublishBatch(channel, payloadSize, MaxBatch);
        var nanosPerTick = 1e9 / Stopwatch.Frequency;
        long next = 0;
        while (next < total)
        {
            var now = Stopwatch.GetTimestamp();
            var due = Math.Min(total, (long)((now - start) / interval) + 1);
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

            var count = (int)Math.Min(due - next, MaxBatch);
            for (var k = 0; k < count; k++)
            {
                var intended = start + (long)((next + k) * interval);
                batch.SetMessage(k, 0, next + k, intended);
                if (intended >= run.MeasureFrom)
                {
                    lag.Record((long)((now - intended) * nanosPerTick));
                }
            }

            connection.Send(batch.Frames(count).Span);
            next += count;
            run.AddPublished(count, 0, 0);
        }
    }

    private static async Task ReadRepliesAsync(LoadConnection connection, RunState run, ReplyRule rule, long total)
    {
        long replies = 0;
        while (replies < total)
        {
            long counted = 0;
            long mismatches = 0;
            var data = connection.Unparsed;
            var position = 0;
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
                replies++;
                counted += rule.Expected(reply.Integer);
                mismatches += rule.Mismatch(reply.Integer) ? 1 : 0;
            }

            connection.Consume(position);
            run.AddPublished(0, counted, mismatches);
            if (replies < total && !await connection.FillAsync().ConfigureAwait(false))
            {
                throw new LoadGenException("the server closed the publisher connection");
            }
        }
    }
}
