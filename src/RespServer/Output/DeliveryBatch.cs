using System.Buffers;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Output;

/// <summary>
/// The deliveries of one connection's batch of commands (what one read returned), from the outputs'
/// side. The connection's read loop owns it and passes it down (command, registry, subscriber); it is
/// used by that loop's thread only, between <see cref="Begin"/> and <see cref="End"/>, except
/// <see cref="_waiters"/> and <see cref="ActiveIndex"/>, which belong to <see cref="FanOutTracker"/>'s lock.
/// <para>
/// It stages the batch's deliveries (<see cref="Stage"/>) and queues them on each output in one step
/// (<see cref="FlushStaged"/>), before the batch's replies and at its end, so a publisher pipelining
/// many messages takes each subscriber's lock once per batch, not once per message.
/// </para>
/// <para>
/// And, for its first <see cref="Tuning.LargeBatch"/> commands, it sends to the outputs it queued on
/// while their writers were idle itself, at its end (<see cref="ConnectionOutput.SendScheduled"/>),
/// instead of waking every subscriber's writer on the thread pool. A batch that grows past that
/// hands those outputs to their writers, which spread over the cores.
/// </para>
/// </summary>
/// <param name="beforeQueue">what must be in place before any staged delivery can reach a subscriber (the
/// connection's history appends, in the append-only file as appendfsync requires); false drops them unqueued</param>
/// <param name="holding">true while nothing may be queued before the batch's end (appendfsync always: the
/// connection's records are not on the disk yet); the early queuings wait</param>
internal sealed class DeliveryBatch(FanOutTracker tracker, Func<bool>? beforeQueue = null, Func<bool>? holding = null)
{
    private readonly List<ConnectionOutput> _sendAtEnd = [];
    private bool _inBatch;
    private bool _sendsInline;
    private int _commands;

    /// <summary>In <see cref="FanOutTracker"/>'s active list: from a fan-out's first list read until
    /// what it staged is queued. Owner thread only.</summary>
    private bool _fanningOut;

    /// <summary>Outputs whose unsubscribe barrier waits for this batch; under the tracker's lock.</summary>
    private List<ConnectionOutput>? _waiters;

    /// <summary>Set under the tracker's lock when an output starts waiting; read by the owner without
    /// it, to queue what it staged early (a stale read only delays that to the batch's end).</summary>
    private volatile bool _hasWaiters;

    // Staged deliveries in the order they were made (the frame, and the index of its output in
    // _groups), and the distinct outputs they go to. Allocated on first use: most connections never publish.
    private MessageFrame[] _stagedFrames = [];
    private int[] _stagedGroups = [];
    private int _staged;
    private Dictionary<ConnectionOutput, int>? _groupOf;
    private ConnectionOutput[] _groups = [];
    private int[] _groupStarts = [];
    private int _groupCount;
    private int _lastGroup;
    private MessageFrame[] _sorted = [];

    /// <summary>A test's hook, on the batch's thread (it may stall that thread): "queued" after a batch
    /// queued what it staged and before it tells the outputs waiting for it; "command" after each command.</summary>
    internal static Action<DeliveryBatch, string>? TestHook;

    /// <summary>Index in the tracker's active list, or -1; under the tracker's lock.</summary>
    internal int ActiveIndex { get; set; } = -1;

    /// <summary>Deliveries staged and not yet queued.</summary>
    public int StagedCount => _staged;

    /// <summary>Between <see cref="Begin"/> and <see cref="End"/>.</summary>
    public bool InBatch => _inBatch;

    /// <summary>Outputs queued on while idle are sent by this batch at its end (its first commands).</summary>
    public bool SendsInline => _sendsInline;

    public void Begin()
    {
        _inBatch = true;
        _sendsInline = true;
        _commands = 0;
    }

    /// <summary>Called before a fan-out reads a subscriber list: from here until this batch's staged
    /// deliveries are queued, an unsubscribing connection's confirmation waits for them.</summary>
    public void BeginFanOut()
    {
        if (!_fanningOut)
        {
            tracker.Enter(this);
            _fanningOut = true;
        }
    }

    /// <summary>
    /// Stages the delivery of <paramref name="frame"/> to <paramref name="output"/>, taking a reference
    /// to it: queued with the batch's others for that output in one step (<see cref="FlushStaged"/>).
    /// </summary>
    public void Stage(ConnectionOutput output, MessageFrame frame)
    {
        if (_staged == _stagedFrames.Length)
        {
            var size = Math.Max(64, _staged * 2);
            Array.Resize(ref _stagedFrames, size);
            Array.Resize(ref _stagedGroups, size);
        }

        frame.AddRef();
        _stagedFrames[_staged] = frame;
        _stagedGroups[_staged] = GroupOf(output);
        _staged++;

        if (_staged >= Tuning.MaxStaged && holding?.Invoke() != true)
        {
            // The fan-out goes on reading its list, maybe an array older than an unsubscriber's removal:
            // what it staged so far is queued, but waiters are told only when it leaves.
            QueueStaged();
        }
    }

    /// <summary>
    /// Queues every staged delivery on its output, in the order staged, one lock acquisition per
    /// output, and leaves the tracker. Runs between fan-outs: before the batch's replies are queued
    /// (so a PUBLISH's reply never reaches its publisher before the message reaches the subscribers'
    /// queues), after a command while an output waits for this batch, and at the batch's end.
    /// </summary>
    public void FlushStaged()
    {
        try
        {
            QueueStaged();
        }
        finally
        {
            if (_fanningOut)
            {
                try
                {
                    TestHook?.Invoke(this, "queued");
                }
                finally
                {
                    _fanningOut = false;
                    tracker.Leave(this);
                }
            }
        }
    }

    /// <summary>Called by the tracker, under its lock.</summary>
    internal void AddWaiter(ConnectionOutput output)
    {
        (_waiters ??= []).Add(output);
        _hasWaiters = true;
    }

    /// <summary>Called by the tracker, under its lock.</summary>
    internal List<ConnectionOutput>? TakeWaiters()
    {
        var waiters = _waiters;
        _waiters = null;
        _hasWaiters = false;
        return waiters;
    }

    /// <summary>What a queuing call on <paramref name="output"/> returned: an output whose writer was
    /// idle is sent to at the batch's end, or handed to its writer when the batch sends no more itself.</summary>
    public void Track(ConnectionOutput output, Queued queued)
    {
        if (queued != Queued.SendAtBatchEnd)
        {
            return;
        }

        if (_sendsInline && _sendAtEnd.Count < Tuning.MaxInlineOutputs)
        {
            _sendAtEnd.Add(output);
        }
        else
        {
            output.WakeScheduled();
        }
    }

    /// <summary>After each command: an output waiting for this batch gets its messages now; a batch
    /// that grows large hands its outputs to their writers.</summary>
    public void AfterCommand()
    {
        TestHook?.Invoke(this, "command");
        if (_hasWaiters && holding?.Invoke() != true)
        {
            FlushStaged();
        }

        if (++_commands == Tuning.LargeBatch)
        {
            _sendsInline = false;
            WakeAll();
        }
    }

    /// <summary>Ends the batch and sends everything it queued. Must run however the batch ended: an
    /// output left scheduled would wait for a send that never comes, and a waiting unsubscriber for
    /// this batch's leave.</summary>
    public void End()
    {
        try
        {
            FlushStaged();
        }
        finally
        {
            _inBatch = false;
            _sendsInline = false;
            SendScheduled();
            ShrinkAfterBurst();
        }
    }

    /// <summary>Staging arrays that grew past a fan-out's usual size are given back, so a connection that
    /// once published to thousands of subscribers does not keep that capacity for its life.</summary>
    private void ShrinkAfterBurst()
    {
        const int Kept = 256;
        if (_stagedFrames.Length > Kept)
        {
            _stagedFrames = [];
            _stagedGroups = [];
            _sorted = [];
        }

        if (_groups.Length > Kept)
        {
            _groups = [];
            _groupStarts = [];
            _groupOf = null;
        }
    }

    private void WakeAll()
    {
        try
        {
            foreach (var output in _sendAtEnd)
            {
                output.WakeScheduled();
            }
        }
        finally
        {
            _sendAtEnd.Clear();
        }
    }

    private void SendScheduled()
    {
        if (_sendAtEnd.Count == 0)
        {
            return;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(Tuning.InlineScratchBytes);
        try
        {
            foreach (var output in _sendAtEnd)
            {
                output.SendScheduled(scratch); // never throws: every output is visited
            }
        }
        finally
        {
            _sendAtEnd.Clear();
            ArrayPool<byte>.Shared.Return(scratch);
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

        if (_groupCount <= Tuning.ScannedOutputs)
        {
            for (var g = 0; g < _groupCount; g++)
            {
                if (ReferenceEquals(_groups[g], output))
                {
                    return _lastGroup = g;
                }
            }
        }
        else if (_groupOf!.TryGetValue(output, out var found))
        {
            return _lastGroup = found;
        }

        var group = _groupCount++;
        if (group == _groups.Length)
        {
            var size = Math.Max(16, group * 2);
            Array.Resize(ref _groups, size);
            Array.Resize(ref _groupStarts, size + 1);
        }

        _groups[group] = output;
        if (_groupCount > Tuning.ScannedOutputs)
        {
            _groupOf ??= new Dictionary<ConnectionOutput, int>(ReferenceEqualityComparer.Instance);
            if (_groupCount == Tuning.ScannedOutputs + 1)
            {
                for (var g = 0; g < Tuning.ScannedOutputs; g++)
                {
                    _groupOf.Add(_groups[g], g);
                }
            }

            _groupOf.Add(output, group);
        }

        return _lastGroup = group;
    }

    /// <summary>Gives back every staged reference without queuing it.</summary>
    private void DropStaged()
    {
        for (var i = 0; i < _staged; i++)
        {
            _stagedFrames[i].Release();
        }

        _stagedFrames.AsSpan(0, _staged).Clear();
        _groups.AsSpan(0, _groupCount).Clear();
        _groupOf?.Clear();
        _groupCount = 0;
        _lastGroup = 0;
        _staged = 0;
    }

    /// <summary>Queues every staged delivery on its output, in the order staged, one lock acquisition
    /// per output. Each staged reference is handed to its output, which gives it back whatever happens.</summary>
    private void QueueStaged()
    {
        if (_staged == 0)
        {
            return;
        }

        // What must be in place before any staged delivery can reach a subscriber (the connection's
        // pending history appends, and their records in the log as appendfsync requires).
        if (beforeQueue?.Invoke() == false)
        {
            // The log could not take them: the deliveries are given back, never queued.
            DropStaged();
            return;
        }

        var count = _staged;
        var handed = 0;
        var sorted = false;
        try
        {
            if (_groupCount == 1)
            {
                handed = count;
                Track(_groups[0], _groups[0].EnqueueStaged(_stagedFrames.AsSpan(0, count), this));
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
            sorted = true;
            var from = 0;
            for (var g = 0; g < _groupCount; g++)
            {
                var frames = _sorted.AsSpan(from, starts[g] - from);
                handed = starts[g];
                Track(_groups[g], _groups[g].EnqueueStaged(frames, this));
                from = starts[g];
            }
        }
        finally
        {
            if (handed < count)
            {
                // Something threw before every output had its frames: give back those not handed over.
                var source = sorted ? _sorted : _stagedFrames;
                for (var i = handed; i < count; i++)
                {
                    source[i].Release();
                }
            }

            _sorted.AsSpan(0, Math.Min(count, _sorted.Length)).Clear();
            _stagedFrames.AsSpan(0, count).Clear();
            _groups.AsSpan(0, _groupCount).Clear();
            _groupOf?.Clear();
            _groupCount = 0;
            _lastGroup = 0;
            _staged = 0;
        }
    }
}
