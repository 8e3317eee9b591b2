using System.Diagnostics;
using System.Net;
using System.Text;
using Notistream.LoadGen.Reporting;
using Notistream.LoadGen.Verification;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>
/// A throughput case: subscriber connections set up first (each with its channels or patterns), then
/// pipelining publishers, each sending <c>pipeline</c> pre-encoded PUBLISH frames per write and reading
/// their replies, round-robin over <see cref="Channels"/>. Publishers stay at most a window of deliveries
/// ahead of the subscribers, so the figure is what the server sustains, not how much it can buffer.
/// Rates, and the CPU time the server and the generator used, are taken over the same window after a
/// warm-up; afterwards every message is accounted for. The publishers may send another command of the
/// same shape instead (<see cref="PublishBatch.Xadd"/>, whose replies are entry ids, each entry counting
/// as one delivery to each receiver), and receivers may be stream readers instead of subscribers.
/// </summary>
internal sealed class ThroughputCase : IDisposable
{
    private readonly LoadGenOptions _options;
    private readonly Topology _topology;
    private readonly ReplyRule _replies;
    private readonly RunState _run = new();
    private readonly List<IReceiver> _subscribers = [];
    private readonly Func<string, int, int, PublishBatch> _batch;
    private readonly long? _window;
    private readonly List<string> _problems = [];
    private long[][] _sent = [];
    private int _placed;

    /// <param name="batch">The frames each publisher sends, from (first channel, payload size, depth); PUBLISH when null.</param>
    /// <param name="window">How many deliveries the publishers may be ahead of the receivers (default: 4,096, or 2,048 per receiver).</param>
    /// <param name="topology">Publishers on one node, subscribers round robin over others; null: all on <paramref name="endPoint"/>.</param>
    public ThroughputCase(
        LoadGenOptions options,
        EndPoint endPoint,
        IReadOnlyList<string> channels,
        int receiversPerPublish,
        Func<string, int, int, PublishBatch>? batch = null,
        long? window = null,
        Topology? topology = null)
    {
        _options = options;
        _topology = topology ?? Topology.Single(endPoint);
        _replies = ReplyRule.For(options, _topology, receiversPerPublish);
        _batch = batch ?? ((channel, payloadSize, depth) => new PublishBatch(channel, payloadSize, depth));
        _window = window;
        Channels = channels;
        ReceiversPerPublish = receiversPerPublish;
        if (channels.Select(c => Encoding.UTF8.GetByteCount(c)).Distinct().Count() != 1)
        {
            throw new ArgumentException("channel names of one case must have the same length", nameof(channels));
        }
    }

    public IReadOnlyList<string> Channels { get; }

    public int ReceiversPerPublish { get; }

    /// <summary>Connects a subscriber that subscribes to <paramref name="channels"/> and <paramref name="patterns"/> and must receive the messages of <paramref name="receives"/> (channel indexes).</summary>
    public async Task AddSubscriberAsync(IReadOnlyList<string> channels, IReadOnlyList<string> patterns, IEnumerable<int> receives)
    {
        var at = _topology.SubscriberAt(Interlocked.Increment(ref _placed) - 1);
        var connection = await LoadConnection.ConnectAsync(at, busy: true).ConfigureAwait(false);
        var subscriber = new Subscriber(connection, _run, latency: null);
        subscriber.Receives.AddRange(receives);
        lock (_subscribers)
        {
            _subscribers.Add(subscriber);
        }

        if (channels.Count > 0)
        {
            await connection.SubscribeAsync("SUBSCRIBE", channels).ConfigureAwait(false);
        }

        if (patterns.Count > 0)
        {
            await connection.SubscribeAsync("PSUBSCRIBE", patterns).ConfigureAwait(false);
        }
    }

    /// <summary>Connects a <see cref="StreamFollower"/> of the stream <paramref name="key"/> that must receive the messages of <paramref name="receives"/>.</summary>
    public async Task AddStreamReaderAsync(string key, IEnumerable<int> receives)
    {
        var connection = await LoadConnection.ConnectAsync(_topology.Subscribe[0], busy: true).ConfigureAwait(false);
        var reader = new StreamFollower(connection, _run, key);
        reader.Receives.AddRange(receives);
        lock (_subscribers)
        {
            _subscribers.Add(reader);
        }
    }

    public async Task<(DeliveryReport Delivery, List<Metric> Metrics, List<string> Problems)> RunAsync()
    {
        var publishers = new List<LoadConnection>();
        try
        {
            for (var p = 0; p < _options.Publishers; p++)
            {
                publishers.Add(await LoadConnection.ConnectAsync(_topology.Publish, busy: true).ConfigureAwait(false));
            }

            _sent = new long[publishers.Count][];
            var readers = _subscribers.Select(s => Task.Run(s.ReadAsync)).ToList();
            var window = _window ?? Math.Max(4096L, _subscribers.Count * 2048L);
            var publishing = publishers.Select((c, p) => Task.Run(() => PublishAsync(c, p, window))).ToList();

            var duration = TimeSpan.FromSeconds(_options.DurationSeconds);
            var warmup = TimeSpan.FromSeconds(Math.Min(1.0, _options.DurationSeconds * 0.2));
            await Task.Delay(warmup).ConfigureAwait(false);
            var (published0, delivered0, t0, cpu0) = (_run.Published, _run.Delivered, Stopwatch.GetTimestamp(), CpuSample.Take(_options));
            await Task.Delay(duration - warmup).ConfigureAwait(false);
            var (published1, delivered1, t1, cpu1) = (_run.Published, _run.Delivered, Stopwatch.GetTimestamp(), CpuSample.Take(_options));
            _run.Stop();
            await AwaitAll(publishing, "publisher").ConfigureAwait(false);
            await DrainAsync().ConfigureAwait(false);
            foreach (var subscriber in _subscribers)
            {
                subscriber.Connection.Abort();
            }

            await AwaitAll(readers, "subscriber").ConfigureAwait(false);

            var seconds = Stopwatch.GetElapsedTime(t0, t1).TotalSeconds;
            var delivery = Verify();
            var metrics = new List<Metric>
            {
                Metric.Higher("publishes/s", (published1 - published0) / seconds, "msg/s"),
                Metric.Higher("deliveries/s", (delivered1 - delivered0) / seconds, "msg/s"),
                Metric.Info("published", _run.Published, "msg"),
            };
            metrics.AddRange(CpuSample.Metrics(cpu0, cpu1, seconds, delivered1 - delivered0));
            return (delivery, metrics, _problems);
        }
        finally
        {
            foreach (var connection in publishers)
            {
                connection.Dispose();
            }

            Dispose();
        }
    }

    /// <summary>Closes every subscriber connection, also when set-up failed half way.</summary>
    public void Dispose()
    {
        lock (_subscribers)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Connection.Dispose();
            }
        }
    }

    private async Task AwaitAll(List<Task> tasks, string what)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(LoadConnection.SetupTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _problems.Add($"a {what} did not stop within {LoadConnection.SetupTimeout.TotalSeconds} s");
        }
        catch (Exception ex)
        {
            _problems.Add($"a {what} failed: {ex.Message}");
        }
    }

    /// <summary>Waits until every delivery the PUBLISH replies announced has arrived, or nothing arrives for 5 s.</summary>
    private async Task DrainAsync()
    {
        var lastProgress = Stopwatch.GetTimestamp();
        var last = _run.Delivered;
        while (_run.Delivered < _run.ExpectedDeliveries && _subscribers.All(s => s.Problem is null))
        {
            await Task.Delay(10).ConfigureAwait(false);
            var now = _run.Delivered;
            if (now != last)
            {
                (last, lastProgress) = (now, Stopwatch.GetTimestamp());
            }
            else if (Stopwatch.GetElapsedTime(lastProgress) > TimeSpan.FromSeconds(5))
            {
                return;
            }
        }
    }

    private async Task PublishAsync(LoadConnection connection, int publisher, long window)
    {
        var channelBytes = Channels.Select(Encoding.UTF8.GetBytes).ToArray();
        var count = Channels.Count;
        var batch = _batch(Channels[0], _options.PayloadSize, _options.Pipeline);
        var sent = new long[count];
        _sent[publisher] = sent;
        var cursor = (int)((long)publisher * count / _options.Publishers);
        var depth = batch.Depth;
        try
        {
            while (!_run.Stopping)
            {
                while (_run.ExpectedDeliveries - _run.Delivered > window && !_run.Stopping)
                {
                    await Task.Delay(1).ConfigureAwait(false);
                }

                var now = Stopwatch.GetTimestamp();
                for (var slot = 0; slot < depth; slot++)
                {
                    if (count > 1)
                    {
                        batch.SetChannel(slot, channelBytes[cursor]);
                    }

                    batch.SetMessage(slot, StreamId(publisher, cursor), sent[cursor]++, now);
                    cursor = cursor + 1 == count ? 0 : cursor + 1;
                }

                await connection.SendAsync(batch.Frames(depth)).ConfigureAwait(false);
                var replies = 0;
                long receivers = 0;
                long mismatches = 0;
                while (true)
                {
                    CountReplies(connection, depth, ref replies, ref receivers, ref mismatches);
                    if (replies == depth)
                    {
                        break;
                    }

                    if (!await connection.FillAsync().ConfigureAwait(false))
                    {
                        throw new LoadGenException("the server closed a publisher connection");
                    }
                }

                _run.AddPublished(depth, receivers, mismatches);
            }
        }
        catch (Exception ex)
        {
            lock (_problems)
            {
                _problems.Add($"publisher {publisher}: {ex.Message}");
            }

            _run.Stop();
        }
    }

    private void CountReplies(LoadConnection connection, int depth, ref int replies, ref long receivers, ref long mismatches)
    {
        var data = connection.Unparsed;
        var position = 0;
        while (replies < depth)
        {
            var used = RespParser.TryParse(data[position..], out var reply);
            if (used == 0)
            {
                break;
            }

            if (reply.Kind == RespKind.Bulk)
            {
                // XADD: the new entry's id. Every receiver reads the stream, so each gets the entry.
                position += used;
                replies++;
                receivers += ReceiversPerPublish;
                continue;
            }

            if (reply.Kind != RespKind.Integer)
            {
                throw new LoadGenException($"a publisher's command answered {SetupReply.From(reply, data[position..])}");
            }

            position += used;
            replies++;
            receivers += _replies.Expected(reply.Integer);
            if (_replies.Mismatch(reply.Integer))
            {
                mismatches++;
            }
        }

        connection.Consume(position);
    }

    private int StreamId(int publisher, int channel) => (publisher * Channels.Count) + channel;

    private DeliveryReport Verify()
    {
        var total = DeliveryReport.Empty;
        foreach (var subscriber in _subscribers)
        {
            if (subscriber.Problem is { } problem && !_problems.Contains(problem))
            {
                _problems.Add(problem);
            }

            var expected = new List<KeyValuePair<int, long>>();
            for (var p = 0; p < _sent.Length; p++)
            {
                if (_sent[p] is null)
                {
                    continue;
                }

                foreach (var channel in subscriber.Receives)
                {
                    expected.Add(new(StreamId(p, channel), _sent[p][channel]));
                }
            }

            total = total.Add(subscriber.Verifier.Finish(expected));
        }

        return total with { ReplyMismatches = _run.ReplyMismatches };
    }
}
