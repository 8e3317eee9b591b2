using System.Threading.Tasks.Sources;

namespace Notistream.RespServer.Output;

/// <summary>
/// A reusable, allocation-free wake-up for one waiter. <see cref="Arm"/> and <see cref="Set"/> are
/// called under the owner's lock; continuations run asynchronously so a publisher that sets it never
/// runs the writer's code on its own thread.
/// </summary>
internal sealed class WriterSignal : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

    public ValueTask Arm()
    {
        _core.Reset();
        return new ValueTask(this, _core.Version);
    }

    public void Set() => _core.SetResult(true);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _core.OnCompleted(continuation, state, token, flags);
}
