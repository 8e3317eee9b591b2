using Notistream.LoadGen.Verification;

namespace Notistream.LoadGen.Tests;

public class LatencyHistogramTests
{
    [Fact]
    public void Percentiles_are_within_one_percent_and_never_below_the_true_value()
    {
        var histogram = new LatencyHistogram();
        for (long v = 1; v <= 100_000; v++)
        {
            histogram.Record(v * 1000);
        }

        foreach (var (percent, exact) in new[] { (50.0, 50_000_000L), (99.0, 99_000_000L), (99.9, 99_900_000L) })
        {
            var got = histogram.Percentile(percent);
            Assert.InRange(got, exact, exact * 1.01);
        }

        Assert.Equal(100_000_000, histogram.Max);
        Assert.Equal(100_000_000, histogram.Percentile(100));
    }

    [Fact]
    public void Small_values_are_exact_and_merging_adds_counts()
    {
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        a.Record(10);
        a.Record(20);
        b.Record(30);
        b.Record(200);
        a.Add(b);
        Assert.Equal(4, a.Count);
        Assert.Equal(20, a.Percentile(50));
        Assert.Equal(200, a.Percentile(99.9));
        Assert.Equal(0, new LatencyHistogram().Percentile(99));
    }
}
