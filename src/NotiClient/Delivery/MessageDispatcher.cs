using Notistream.Client.Resume;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>
/// Hands every message from the subscription to each output through that output's own bounded queue,
/// so a slow output (a desktop daemon, a user's --exec script) never slows the socket or the others.
/// Reports drops as they happen, at most once per <see cref="DropReportInterval"/>.
/// </summary>
/// <remarks>
/// Threads: <see cref="Post"/> is called by the subscription pumps (several, concurrently; it only
/// does lock-free queue writes). <see cref="RunAsync"/> owns the sinks' tasks and the drop reporting.
/// </remarks>
internal sealed class MessageDispatcher : IMessageTarget
{
    public static readonly TimeSpan DropReportInterval = TimeSpan.FromSeconds(5);

    /// <summary>After a stop, how long sinks may take to finish what they hold.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(3);

    private readonly Output[] _outputs;
    private readonly Action<string> _report;
    private readonly TimeProvider _time;
    private long _received;

    public MessageDispatcher(IEnumerable<IMessageSink> sinks, Action<string> report, int capacity = BoundedMessageQueue.DefaultCapacity, TimeProvider? time = null)
    {
        _outputs = sinks.Select(s => new Output(s, capacity)).ToArray();
        _report = report;
        _time = time ?? TimeProvider.System;
    }

    public long Received => Interlocked.Read(ref _received);

    public long Dropped => _outputs.Sum(o => o.Queue.Dropped);

    /// <summary>
    /// Every message up to this id has been delivered by every output (null: none yet in this process).
    /// What the saved cursor may advance to.
    /// </summary>
    public MessageId? DeliveredThrough
    {
        get
        {
            MessageId? lowest = null;
            foreach (var output in _outputs)
            {
                if (output.Tracker.Watermark is not { } watermark)
                {
                    return null;
                }

                lowest = lowest is { } l && l <= watermark ? l : watermark;
            }

            return lowest;
        }
    }

    /// <summary>Messages handed to the outputs and not yet delivered by all of them.</summary>
    public int Pending => _outputs.Length == 0 ? 0 : _outputs.Max(o => o.Tracker.Pending);

    public void Post(IncomingMessage message)
    {
        Count(message);
        foreach (var output in _outputs)
        {
            output.Track(message);
            output.Queue.Post(message);
        }
    }

    public async ValueTask PostAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        Count(message);
        foreach (var output in _outputs)
        {
            output.Track(message);
            await output.Queue.PostAsync(message, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Count(IncomingMessage message)
    {
        if (message.Kind == IncomingKind.Message)
        {
            Interlocked.Increment(ref _received);
        }
    }

    /// <summary>Runs the sinks until <paramref name="stop"/>; then lets them drain for <see cref="DrainTimeout"/>.</summary>
    /// <exception cref="Exception">a sink failed; it is rethrown rather than left to fail silently.</exception>
    public async Task RunAsync(CancellationToken stop)
    {
        using var hard = new CancellationTokenSource();
        var sinks = _outputs.Select(o => o.Sink.RunAsync(o.Queue.Reader, o.Delivered, hard.Token)).ToList();
        var reporting = ReportDropsAsync(stop);
        var stopped = Task.Delay(Timeout.InfiniteTimeSpan, _time, stop);
        var first = await Task.WhenAny(sinks.Append(stopped)).ConfigureAwait(false);
        if (first != stopped)
        {
            await hard.CancelAsync().ConfigureAwait(false);
            await first.ConfigureAwait(false); // throws the sink's failure
            throw new InvalidOperationException($"{_outputs[sinks.IndexOf(first)].Sink.Name} stopped early");
        }

        foreach (var output in _outputs)
        {
            output.Queue.Complete();
        }

        try
        {
            await Task.WhenAll(sinks).WaitAsync(DrainTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await hard.CancelAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await reporting.ConfigureAwait(false);
        ReportNewDrops();
    }

    private async Task ReportDropsAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(DropReportInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                ReportNewDrops();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void ReportNewDrops()
    {
        foreach (var output in _outputs)
        {
            var dropped = output.Queue.Dropped;
            if (dropped > output.Reported)
            {
                _report($"{output.Sink.Name} could not keep up: {dropped - output.Reported} message(s) dropped ({dropped} in all)");
                output.Reported = dropped;
            }
        }
    }

    private sealed class Output
    {
        public Output(IMessageSink sink, int capacity)
        {
            Sink = sink;
            Queue = new BoundedMessageQueue(capacity, Delivered);
        }

        public IMessageSink Sink { get; }

        public BoundedMessageQueue Queue { get; }

        public DeliveryTracker Tracker { get; } = new();

        public long Reported { get; set; }

        public void Track(IncomingMessage message)
        {
            if (message.Id is { } id)
            {
                Tracker.Posted(id);
            }
        }

        /// <summary>The sink is done with it, or the queue dropped it: either way it will not be shown later.</summary>
        public void Delivered(IncomingMessage message)
        {
            if (message.Id is { } id)
            {
                Tracker.Done(id);
            }
        }
    }
}
