using Notistream.Testing;

namespace Notistream.Gateway.Tests.Infrastructure;

/// <summary>Waits on a condition that needs an await to check (an HTTP call, a connect).</summary>
internal static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TaskTimeoutExtensions.DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (true)
        {
            try
            {
                if (await condition().WithTimeout(limit))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting for {what}");
            }

            await tick.WaitForNextTickAsync();
        }
    }
}
