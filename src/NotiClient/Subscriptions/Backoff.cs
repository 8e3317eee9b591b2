namespace Notistream.Client.Subscriptions;

/// <summary>One reconnect delay: <see cref="Nominal"/> doubles per failure up to the cap; <see cref="Delay"/> has jitter.</summary>
internal readonly record struct BackoffStep(TimeSpan Delay, TimeSpan Nominal, bool Capped);

/// <summary>
/// Capped exponential backoff with "equal jitter": the n-th delay is drawn from [d/2, d] where
/// d = min(max, min·2ⁿ), so a crowd of clients cut off by the same server restart does not come back
/// in lock step. Single-threaded: only the subscription loop uses it.
/// </summary>
internal sealed class Backoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly Func<double> _random;
    private int _failures;

    public Backoff(TimeSpan min, TimeSpan max, Func<double>? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(min, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        _min = min;
        _max = max;
        _random = random ?? Random.Shared.NextDouble;
    }

    public BackoffStep Next()
    {
        var nominalSeconds = Math.Min(_max.TotalSeconds, _min.TotalSeconds * Math.Pow(2, Math.Min(_failures, 40)));
        _failures++;
        var nominal = TimeSpan.FromSeconds(nominalSeconds);
        var jittered = TimeSpan.FromSeconds(nominalSeconds * (0.5 + (0.5 * Math.Clamp(_random(), 0, 1))));
        return new BackoffStep(jittered, nominal, nominal >= _max);
    }

    /// <summary>After a successful connection the next failure starts again from the minimum.</summary>
    public void Reset()
    {
        _failures = 0;
        Resets++;
    }

    /// <summary>How many times <see cref="Reset"/> was called: a session that changed it connected.</summary>
    public long Resets { get; private set; }
}
