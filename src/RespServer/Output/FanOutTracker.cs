namespace Notistream.RespServer.Output;

/// <summary>
/// The server's batches that are between reading a subscriber list and queuing what they staged
/// from it, and the outputs waiting for them: the ordering between a message and an unsubscribe
/// confirmation (see <see cref="ConnectionOutput"/>, "the unsubscribe barrier").
/// <para>
/// One lock, <see cref="_lock"/>, protects the active list and every batch's waiters. A batch enters
/// before its first list read of a batch (<see cref="Enter"/>) and leaves once its staged deliveries
/// are queued and it reads no list until it enters again (<see cref="Leave"/>): two short
/// acquisitions per publishing batch of commands (per command for a subscribed RESP3 publisher,
/// whose PUBLISH flushes its replies, or while an output waits for the batch), not per message. An unsubscribing connection, after leaving the lists, registers its output with every
/// active batch (<see cref="AwaitFanOuts"/>). Because entering and registering take the same lock,
/// either the batch entered first, and the output waits for it, or the batch enters after, and its
/// list reads see the removal (the unsubscriber's lock release orders its removal before them).
/// Lock order: this lock, then an output's; nobody takes this one while holding an output's.
/// </para>
/// </summary>
internal sealed class FanOutTracker
{
    private readonly Lock _lock = new();
    private readonly List<DeliveryBatch> _active = [];

    /// <summary>Batches fanning out now (tests).</summary>
    internal int ActiveCount
    {
        get
        {
            lock (_lock)
            {
                return _active.Count;
            }
        }
    }

    /// <summary>Called by a batch before it reads a subscriber list, unless it is already in.</summary>
    public void Enter(DeliveryBatch batch)
    {
        lock (_lock)
        {
            batch.ActiveIndex = _active.Count;
            _active.Add(batch);
        }
    }

    /// <summary>Called by a batch once everything it staged is queued, and it reads no list until it
    /// enters again: tells the outputs waiting for it.</summary>
    public void Leave(DeliveryBatch batch)
    {
        List<ConnectionOutput>? waiters;
        lock (_lock)
        {
            // Swap-remove: the order of the active list means nothing.
            var index = batch.ActiveIndex;
            var last = _active[^1];
            _active[index] = last;
            last.ActiveIndex = index;
            _active.RemoveAt(_active.Count - 1);
            batch.ActiveIndex = -1;
            waiters = batch.TakeWaiters();
        }

        Notify(batch, waiters);
    }

    /// <summary>
    /// Called by an unsubscribing connection after it left the subscriber lists and before its
    /// confirmation is queued: <paramref name="output"/> holds back what the connection queues next
    /// until every batch that may hold a message read from the lists before has queued it.
    /// <paramref name="own"/> (the connection's own batch) is excluded: its staged deliveries are
    /// queued before its replies anyway.
    /// </summary>
    public void AwaitFanOuts(ConnectionOutput output, DeliveryBatch? own)
    {
        lock (_lock)
        {
            foreach (var batch in _active)
            {
                if (!ReferenceEquals(batch, own) && output.Await(batch))
                {
                    batch.AddWaiter(output);
                }
            }
        }
    }

    private static void Notify(DeliveryBatch batch, List<ConnectionOutput>? waiters)
    {
        if (waiters is null)
        {
            return;
        }

        foreach (var output in waiters)
        {
            output.BatchPassed(batch);
        }
    }
}
