using Notistream.Client.Subscriptions;
using Xunit;

namespace Notistream.Client.Tests.Subscriptions;

public sealed class BackoffTests
{
    [Fact]
    public void Doubles_from_the_minimum_up_to_the_cap()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), () => 1.0);
        var steps = Enumerable.Range(0, 8).Select(_ => backoff.Next()).ToList();

        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], steps.Select(s => s.Nominal.TotalSeconds));
        Assert.Equal([false, false, false, false, false, true, true, true], steps.Select(s => s.Capped));
        Assert.Equal(steps.Select(s => s.Nominal), steps.Select(s => s.Delay));
    }

    [Fact]
    public void Jitter_keeps_each_delay_between_half_and_all_of_the_nominal()
    {
        var low = new Backoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60), () => 0.0);
        Assert.Equal(TimeSpan.FromSeconds(1), low.Next().Delay);
        Assert.Equal(TimeSpan.FromSeconds(2), low.Next().Delay);

        var random = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        for (var i = 0; i < 50; i++)
        {
            var step = random.Next();
            Assert.InRange(step.Delay, step.Nominal / 2, step.Nominal);
        }
    }

    [Fact]
    public void Reset_starts_again_from_the_minimum()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), () => 1.0);
        backoff.Next();
        backoff.Next();
        backoff.Reset();
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.Next().Nominal);
    }

    [Fact]
    public void Survives_thousands_of_failures()
    {
        var backoff = new Backoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(30), () => 1.0);
        BackoffStep last = default;
        for (var i = 0; i < 5000; i++)
        {
            last = backoff.Next();
        }

        Assert.Equal(TimeSpan.FromSeconds(30), last.Delay);
    }
}
