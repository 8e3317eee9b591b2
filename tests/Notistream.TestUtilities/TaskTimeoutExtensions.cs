using System.Runtime.CompilerServices;

namespace Notistream.Testing;

/// <summary>A default timeout on every await in tests, so a hang fails with a message instead of hanging CI.</summary>
public static class TaskTimeoutExtensions
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("NOTISTREAM_TEST_TIMEOUT_SECONDS"), out var s) ? s : 15);

    public static async Task WithTimeout(this Task task, TimeSpan? timeout = null,
        [CallerArgumentExpression(nameof(task))] string? expression = null)
    {
        var limit = timeout ?? DefaultTimeout;
        try
        {
            await task.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"'{expression}' did not complete within {limit.TotalSeconds:0.#} s.");
        }
    }

    public static async Task<T> WithTimeout<T>(this Task<T> task, TimeSpan? timeout = null,
        [CallerArgumentExpression(nameof(task))] string? expression = null)
    {
        var limit = timeout ?? DefaultTimeout;
        try
        {
            return await task.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"'{expression}' did not complete within {limit.TotalSeconds:0.#} s.");
        }
    }

    public static Task WithTimeout(this ValueTask task, TimeSpan? timeout = null,
        [CallerArgumentExpression(nameof(task))] string? expression = null)
        => task.AsTask().WithTimeout(timeout, expression);

    public static Task<T> WithTimeout<T>(this ValueTask<T> task, TimeSpan? timeout = null,
        [CallerArgumentExpression(nameof(task))] string? expression = null)
        => task.AsTask().WithTimeout(timeout, expression);

    /// <summary>Polls <paramref name="condition"/> until true; fails with <paramref name="what"/> after the timeout.</summary>
    public static async Task WaitUntil(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting for: {what}");
            }

            await poll.WaitForNextTickAsync().ConfigureAwait(false);
        }
    }
}
