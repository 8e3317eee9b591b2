using System.Buffers;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Connections;

/// <summary>
/// One publisher's batch of commands, from the outputs' side. It does two things.
/// <para>
/// It stages the batch's deliveries (<see cref="Stage"/>) and queues them on each output in one step
/// (<see cref="FlushStaged"/>), before the batch's replies and at its end, so a publisher pipelining
/// many messages takes each subscriber's lock once per batch, not once per message.
/// </para>
/// <para>
/// And it sends to the outputs that the batch queued messages on while their writers were
/// idle. Instead of waking every subscriber's writer on the thread pool (a work item per subscriber
/// per batch, and a thread hop between PUBLISH and the kernel that shows in the latency tail), the
/// publishing connection's own thread sends to those sockets when its batch ends, without blocking,
/// as Redis writes its clients' buffers before it polls again. A socket that cannot take everything
/// hands the rest to its writer, which waits for the socket as before.
/// </para>
/// </summary>
/// <remarks>
/// <para>
/// The sending is for small batches only: a publisher whose batch reaches <see cref="LargeBatch"/> commands is
/// pipelining hard, and there the writers on other cores, each sending many messages per call, give
/// more throughput than one thread sending to every subscriber in turn. Its scheduled outputs are
/// handed to their writers at once and the rest of the batch wakes writers as before.
/// </para>
/// <para>
/// One per thread: a batch runs synchronously on one thread between <see cref="Begin"/> and
/// <see cref="End"/>, and <see cref="ConnectionOutput"/> finds it through <see cref="Current"/>.
/// Outside a batch (tests, in-memory subscribers) there is none and writers are woken as before.
/// </para>
/// </remarks>
internal sealed class PublishFlush
{
    /// <summary>Commands in one batch from which its messages go to the writers (measured with
    /// benchmarks/compare.sh: fan-out throughput as before, latency tail as with inline sends).</summary>
    public const int LargeBatch = 16;

    private const int ScratchBytes = 64 * 1024;

    [ThreadStatic]
    private static PublishFlush? t_thread;

    // Every live thread's batch, for WaitForStagedDeliveries; a thread adds its own once. Held weakly:
    // a thread's own [ThreadStatic] keeps its batch alive, so the batch of a thread that ended (thread
    // pool threads come and go) is collected, and dropped from here when the next thread registers.
    private static readonly Lock s_allLock = new();
    private static WeakReference<PublishFlush>[] s_all = [];

    // 1 from a PUBLISH's start until this batch's staged deliveries are queued (BeginFanOut), and
    // how many times they were: read by other threads in WaitForStagedDeliveries.
    private int _fanningOut;
    private long _flushes;

    /// <summary>Deliveries staged before they are queued on their outputs; past this many, the
    /// batch queues what it has staged (a bound on the memory and on how long a message waits).</summary>
    public const int MaxStaged = 4096;

    private readonly List<ConnectionOutput> _outputs = [];
    private bool _active;
    private bool _inBatch;
    private int _commands;

    /// <summary>Outputs a batch finds by a scan; past them, by a dictionary.</summary>
    private const int ScannedOutputs = 8;

    // Staged deliveries in the order they were made (the frame, and the index of its output in
    // _groups), and the distinct outputs they go to.
    private MessageFrame[] _stagedFrames = new MessageFrame[64];
    private int[] _stagedGroups = new int[64];
    private int _staged;
    private readonly Dictionary<ConnectionOutput, int> _groupOf = new(ReferenceEqualityComparer.Instance);
    private ConnectionOutput[] _groups = new ConnectionOutput[16];
    private int[] _groupStarts = new int[17];
    private int _groupCount;
    private int _lastGroup;
    private MessageFrame[] _sorted = new MessageFrame[64];

    /// <summary>The small batch running on this thread, or null.</summary>
    public static PublishFlush? Current => t_thread is { _active: true } flush ? flush : null;

    /// <summary>The batch running on this thread, small or large, or null: where its deliveries are staged.</summary>
    public static PublishFlush? Batch => t_thread is { _inBatch: true } flush ? flush : null;

    /// <summary>Starts a batch on this thread.</summary>
    public static PublishFlush Begin()
    {
        var flush = t_thread ??= Register(new PublishFlush());
        flush._active = true;
        flush._inBatch = true;
        flush._commands = 0;
        return flush;
    }

    /// <summary>Threads whose batches <see cref="WaitForStagedDeliveries"/> looks at (tests).</summary>
    internal static int RegisteredThreads => Volatile.Read(ref s_all).Length;

    /// <summary>Adds a thread's batch to those <see cref="WaitForStagedDeliveries"/> looks at.</summary>
    private static PublishFlush Register(PublishFlush flush)
    {
        lock (s_allLock)
        {
            Volatile.Write(ref s_all, [.. s_all.Where(static w => w.TryGetTarget(out _)), new WeakReference<PublishFlush>(flush)]);
        }

        return flush;
    }

    /// <summary>
    /// Called before a PUBLISH reads the subscriber lists: from here until its staged deliveries are
    /// queued, an unsubscribing connection waits for this batch (<see cref="WaitForStagedDeliveries"/>).
    /// The exchange is a full fence, so either this batch reads the lists after a removal, or the
    /// removing thread sees this flag.
    /// </summary>
    public void BeginFanOut()
    {
        if (_fanningOut == 0)
        {
            Interlocked.Exchange(ref _fanningOut, 1);
        }
    }

    /// <summary>
    /// Waits until every message that a publisher's batch on another thread staged for this
    /// connection, from a subscriber list read before this connection left it, is queued; called by
    /// UNSUBSCRIBE, PUNSUBSCRIBE, SUNSUBSCRIBE and RESET after leaving the lists and before their
    /// confirmation is queued, so that, as in Redis, no message of a channel follows its unsubscribe
    /// confirmation. Such a batch queues its staged deliveries within one batch of commands, and never
    /// waits for this one: a thread flushes its own staged deliveries before it waits here.
    /// </summary>
    public static void WaitForStagedDeliveries()
    {
        var own = Batch;
        own?.FlushStaged();
        Interlocked.MemoryBarrier(); // the removal from the lists, before reading the flags
        foreach (var weak in Volatile.Read(ref s_all))
        {
            if (!weak.TryGetTarget(out var other) || ReferenceEquals(other, own) || Volatile.Read(ref other._fanningOut) == 0)
            {
                continue;
            }

            var seen = Volatile.Read(ref other._flushes);
            var spinner = default(SpinWait);
            while (Volatile.Read(ref other._flushes) == seen)
            {
                spinner.SpinOnce();
            }
        }
    }

    /// <summary>
    /// Stages the delivery of <paramref name="frame"/> to <paramref name="output"/>, taking a reference
    /// to it: the batch queues its deliveries on each output in one step (<see cref="FlushStaged"/>),
    /// so a publisher pipelining many messages to a subscriber takes that subscriber's lock once per
    /// batch instead of once per message, and contends that much less with the other publishers and
    /// the subscriber's writer.
    /// </summary>
    public void Stage(ConnectionOutput output, MessageFrame frame)
    {
        if (_staged == _stagedFrames.Length)
        {
            Array.Resize(ref _stagedFrames, _staged * 2);
            Array.Resize(ref _stagedGroups, _staged * 2);
        }

        frame.AddRef();
        _stagedFrames[_staged] = frame;
        _stagedGroups[_staged] = GroupOf(output);
        _staged++;

        // After adding, not before, so that this queuing covers every delivery staged before it. The
        // fan-out goes on reading its list, so the flag stays set; the counter's increment is a full
        // fence, so the list reads after it see any removal made before a waiter saw the increment.
        if (_staged >= MaxStaged)
        {
            try
            {
                QueueStaged();
            }
            finally
            {
                Interlocked.Increment(ref _flushes);
            }
        }
    }

    /// <summary>The output's place among this batch's outputs, each output in one place only. A fan-out
    /// delivers to the same subscribers in the same order message after message, so the output after
    /// the last one is tried first; a few outputs are scanned; past them, a dictionary finds them.</summary>
    private int GroupOf(ConnectionOutput output)
    {
        var last = _lastGroup;
        if (last < _groupCount && ReferenceEquals(_groups[last], output))
        {
            return last;
        }

        var next = last + 1 < _groupCount ? last + 1 : 0;
        if (next < _groupCount && ReferenceEquals(_groups[next], output))
        {
            return _lastGroup = next;
        }

        if (_groupCount <= ScannedOutputs)
        {
            for (var g = 0; g < _groupCount; g++)
            {
                if (ReferenceEquals(_groups[g], output))
                {
                    return _lastGroup = g;
                }
            }
        }
        else if (_groupOf.TryGetValue(output, out var found))
        {
            return _lastGroup = found;
        }

        var group = _groupCount++;
        if (group == _groups.Length)
        {
            Array.Resize(ref _groups, group * 2);
            Array.Resize(ref _groupStarts, group * 2 + 1);
        }

        _groups[group] = output;
        if (_groupCount > ScannedOutputs)
        {
            if (_groupCount == ScannedOutputs + 1)
            {
                for (var g = 0; g < ScannedOutputs; g++)
                {
                    _groupOf.Add(_groups[g], g);
                }
            }

            _groupOf.Add(output, group);
        }

        return _lastGroup = group;
    }

    /// <summary>
    /// Queues every staged delivery on its output, in the order staged, one lock acquisition per
    /// output. Runs between fan-outs: before the batch's replies are queued (so a PUBLISH's reply
    /// never reaches its publisher before the message reaches the subscribers' queues) and when the
    /// batch ends.
    /// </summary>
    public void FlushStaged()
    {
        try
        {
            QueueStaged();
        }
        finally
        {
            if (_fanningOut != 0)
            {
                // Everything staged so far is queued: tell an unsubscribing connection waiting for it.
                Interlocked.Increment(ref _flushes);
                Volatile.Write(ref _fanningOut, 0);
            }
        }
    }

    /// <summary>Queues every staged delivery on its output, in the order staged, one lock acquisition per output.</summary>
    private void QueueStaged()
    {
        if (_staged == 0)
        {
            return;
        }

        var count = _staged;
        try
        {
            if (_groupCount == 1)
            {
                _groups[0].EnqueueStaged(_stagedFrames.AsSpan(0, count));
                return;
            }

            // A counting sort by output, stable, so each output's frames keep their order.
            if (_sorted.Length < count)
            {
                _sorted = new MessageFrame[_stagedFrames.Length];
            }

            var starts = _groupStarts.AsSpan(0, _groupCount + 1);
            starts.Clear();
            for (var i = 0; i < count; i++)
            {
                starts[_stagedGroups[i] + 1]++;
            }

            for (var g = 1; g < starts.Length; g++)
            {
                starts[g] += starts[g - 1];
            }

            for (var i = 0; i < count; i++)
            {
                _sorted[starts[_stagedGroups[i]]++] = _stagedFrames[i];
            }

            // Each start has moved to its group's end: group g is [end of g - 1, end of g).
            var from = 0;
            for (var g = 0; g < _groupCount; g++)
            {
                _groups[g].EnqueueStaged(_sorted.AsSpan(from, starts[g] - from));
                from = starts[g];
            }

            _sorted.AsSpan(0, count).Clear();
        }
        finally
        {
            _stagedFrames.AsSpan(0, count).Clear();
            _groups.AsSpan(0, _groupCount).Clear();
            if (_groupCount > ScannedOutputs)
            {
                _groupOf.Clear();
            }

            _groupCount = 0;
            _lastGroup = 0;
            _staged = 0;
        }
    }

    /// <summary>Subscribers one batch sends to itself; past them, a message to many idle subscribers
    /// (a PUBLISH to a crowded channel) wakes their writers, which spread over the cores.</summary>
    public const int MaxOutputs = 64;

    /// <summary>Called by an output that queued a message for an idle writer: send it at the batch's end.</summary>
    public void Add(ConnectionOutput output)
    {
        if (_outputs.Count < MaxOutputs)
        {
            _outputs.Add(output);
        }
        else
        {
            output.WakeScheduled();
        }
    }

    /// <summary>After each command: a batch that grows large hands its outputs to their writers.</summary>
    public void AfterCommand()
    {
        if (++_commands == LargeBatch)
        {
            _active = false;
            try
            {
                foreach (var output in _outputs)
                {
                    output.WakeScheduled();
                }
            }
            finally
            {
                _outputs.Clear();
            }
        }
    }

    /// <summary>Ends the batch and sends everything it queued. Must run however the batch ended:
    /// an output left scheduled would wait for a send that never comes.</summary>
    public void End()
    {
        try
        {
            FlushStaged();
        }
        finally
        {
            _inBatch = false;
            _active = false;
            SendScheduled();
        }
    }

    private void SendScheduled()
    {
        if (_outputs.Count == 0)
        {
            return;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(ScratchBytes);
        try
        {
            foreach (var output in _outputs)
            {
                output.SendScheduled(scratch); // never throws: every output is visited
            }
        }
        finally
        {
            _outputs.Clear();
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
