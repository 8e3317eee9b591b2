using System.Runtime.InteropServices;

namespace Notistream.Client.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM ask the running command to stop: the token is cancelled and the
/// command finishes its own way (prints its summary, exits 0). A second signal, while the first
/// is still being handled, is left to the operating system and ends the process at once.
/// </summary>
/// <remarks>
/// The signal handler only requests cancellation and returns: nothing here waits for the command,
/// so a slow shutdown can neither block the signal thread nor turn a clean stop into exit code 130.
/// </remarks>
internal sealed class TerminationSignals : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _received;

    public TerminationSignals()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _stop.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _received) > 1)
        {
            return; // the second one: the default action terminates the process
        }

        context.Cancel = true;
        _ = _stop.CancelAsync(); // callbacks run on the thread pool, not on the signal thread
    }
}
