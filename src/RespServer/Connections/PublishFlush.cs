using System.Buffers;

namespace Notistream.RespServer.Connections;

/// <summary>
/// The outputs that one publisher's batch of commands queued messages on while their writers were
/// idle. Instead of waking every subscriber's writer on the thread pool (a work item per subscriber
/// per batch, and a thread hop between PUBLISH and the kernel that shows in the latency tail), the
/// publishing connection's own thread sends to those sockets when its batch ends, without blocking,
/// as Redis writes its clients' buffers before it polls again. A socket that cannot take everything
/// hands the rest to its writer, which waits for the socket as before.
/// </summary>
/// <remarks>
/// <para>
/// Only small batches: a publisher whose batch reaches <see cref="LargeBatch"/> commands is
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

    private readonly List<ConnectionOutput> _outputs = [];
    private bool _active;
    private int _commands;

    /// <summary>The small batch running on this thread, or null.</summary>
    public static PublishFlush? Current => t_thread is { _active: true } flush ? flush : null;

    /// <summary>Starts a batch on this thread.</summary>
    public static PublishFlush Begin()
    {
        var flush = t_thread ??= new PublishFlush();
        flush._active = true;
        flush._commands = 0;
        return flush;
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
        _active = false;
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
