using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Keyspace;

/// <summary>
/// A command that waits for keys to change (XREAD BLOCK), as Redis blocks a client: its connection stops
/// running further commands until the command is served, times out, or the client leaves.
/// <para>
/// Who does what: the command's handler finds nothing to answer and, still holding
/// <see cref="KeyStore.Gate"/>, hands the command to its connection (<c>RespConnection.Block</c>), which
/// registers it on its keys in the same hold, so no change between the look and the registration is
/// missed. A command that changes a key (XADD, a PUBLISH that appends to history) calls
/// <see cref="Database.Signal"/> under the gate, which <see cref="Wake"/>s every command registered on
/// that key. The woken connection's read loop, on its own thread, takes the gate and calls
/// <see cref="TryServe"/>; false (the entries were deleted meanwhile) keeps it waiting. Only that read
/// loop writes the reply, so replies stay in the connection's order.
/// </para>
/// </summary>
internal abstract class BlockedCommand(int database, IReadOnlyList<byte[]> keys, long timeoutMilliseconds)
{
    private TaskCompletionSource _woken = NewSignal();

    public int Database { get; } = database;

    /// <summary>The keys whose change may serve it.</summary>
    public IReadOnlyList<byte[]> Keys { get; } = keys;

    /// <summary>How long to wait; 0 is for ever (BLOCK 0).</summary>
    public long TimeoutMilliseconds { get; } = timeoutMilliseconds;

    /// <summary>Completes when one of <see cref="Keys"/> may have changed; renewed by <see cref="Rearm"/>.</summary>
    public Task Woken
    {
        get
        {
            lock (this)
            {
                return _woken.Task;
            }
        }
    }

    /// <summary>
    /// Writes the reply if there is now something to answer and returns true; false to go on waiting.
    /// Called with <see cref="KeyStore.Gate"/> held, by the blocked connection's read loop only.
    /// </summary>
    public abstract bool TryServe(RespWriter writer);

    /// <summary>The reply when the timeout passes (for XREAD, a null array).</summary>
    public abstract void WriteTimeout(RespWriter writer);

    /// <summary>Called under <see cref="KeyStore.Gate"/> by whoever changed a key; the continuation runs elsewhere.</summary>
    public void Wake()
    {
        lock (this)
        {
            _woken.TrySetResult();
        }
    }

    /// <summary>Before looking again: a change after this call completes the next <see cref="Woken"/>.</summary>
    public void Rearm()
    {
        lock (this)
        {
            if (_woken.Task.IsCompleted)
            {
                _woken = NewSignal();
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
