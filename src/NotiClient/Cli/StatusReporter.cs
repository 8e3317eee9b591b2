using Notistream.Client.Config;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Cli;

/// <summary>
/// Status lines on stderr (stdout stays for --print). Each change is said once: "connected", "lost",
/// and "reconnecting in N s" while the delay still grows; once it reaches its cap one line says so
/// and the retries go on quietly. A connect failure is repeated only when its reason changes.
/// </summary>
/// <remarks>Threads: connection events come from the subscription loop; <see cref="Report"/> from any output. One lock orders the lines.</remarks>
internal sealed class StatusReporter : IConnectionObserver
{
    public const string Prefix = "notistream: ";

    private readonly TextWriter _output;
    private readonly Lock _lock = new();
    private string? _lastFailure;
    private bool _cappedSaid;
    private bool _everConnected;
    private bool _historyUnavailableSaid;

    public StatusReporter(TextWriter output)
    {
        _output = output;
    }

    public void Connecting(string endPoint) => Write($"connecting to {endPoint} ...");

    public void Connected(string endPoint, IReadOnlyList<ChannelSpec> channels)
    {
        lock (_lock)
        {
            _lastFailure = null;
            _cappedSaid = false;
            var exact = channels.Where(c => !c.IsPattern).Select(c => c.Name).ToList();
            var patterns = channels.Where(c => c.IsPattern).Select(c => c.Name).ToList();
            var what = string.Join("; ", new[]
            {
                exact.Count > 0 ? $"channels {string.Join(", ", exact)}" : null,
                patterns.Count > 0 ? $"patterns {string.Join(", ", patterns)}" : null,
            }.Where(s => s is not null));
            Write($"{(_everConnected ? "reconnected" : "connected")} to {endPoint}, subscribed to {what}");
            _everConnected = true;
        }
    }

    public void ConnectFailed(string endPoint, string reason)
    {
        lock (_lock)
        {
            if (reason == _lastFailure)
            {
                return;
            }

            _lastFailure = reason;
            Write($"cannot connect to {endPoint}: {reason}");
        }
    }

    public void Lost(string endPoint, string reason)
    {
        lock (_lock)
        {
            _lastFailure = null;
            Write($"connection to {endPoint} lost: {reason}");
        }
    }

    public void Reconnecting(string endPoint, BackoffStep step)
    {
        lock (_lock)
        {
            if (!step.Capped)
            {
                Write($"reconnecting in {step.Delay.TotalSeconds:0.0} s");
            }
            else if (!_cappedSaid)
            {
                _cappedSaid = true;
                Write($"still no connection to {endPoint}; trying again every {step.Nominal.TotalSeconds / 2:0}-{step.Nominal.TotalSeconds:0} s");
            }
        }
    }

    /// <summary>Said once per run: reconnects to the same server would only repeat it.</summary>
    public void HistoryUnavailable(string endPoint, string reason)
    {
        lock (_lock)
        {
            if (_historyUnavailableSaid)
            {
                return;
            }

            _historyUnavailableSaid = true;
            Write($"{endPoint} keeps no history for these channels ({FirstLine(reason)}): subscribing without it, so messages missed while disconnected cannot be recovered");
        }
    }

    public void CaughtUp(string endPoint, long messages)
    {
        if (messages > 0)
        {
            Write($"caught up: {messages} message(s) published while away");
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        return line.Length <= 160 ? line : line[..160] + "...";
    }

    public void Skipped(string endPoint, string what) => Write(what);

    public void Moving(string from, string to) => Write($"trying the next server, {to}");

    public void Report(string line)
    {
        lock (_lock)
        {
            Write(line);
        }
    }

    private void Write(string line)
    {
        lock (_lock)
        {
            _output.WriteLine(Prefix + line);
            _output.Flush();
        }
    }
}
