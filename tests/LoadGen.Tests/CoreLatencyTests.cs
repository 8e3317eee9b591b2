using System.Globalization;
using System.Text.RegularExpressions;

namespace Notistream.LoadGen.Tests;

public class CoreLatencyTests
{
    /// <summary>compare.sh reads this one line before every run.</summary>
    [Fact]
    public async Task Core_latency_prints_one_round_trip_in_nanoseconds()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, await Cli.RunAsync(["--core-latency"], stdout, stderr));

        var line = stdout.ToString().TrimEnd('\r', '\n');
        Assert.Equal("", stderr.ToString());
        var match = Regex.Match(line, @"^core-to-core round trip: (?:(\d+) ns|n/a \(.+\))$");
        Assert.True(match.Success, $"unexpected output: {line}");
        if (match.Groups[1].Success)
        {
            // A cache line cannot cross cores in under a nanosecond, nor take a millisecond when both threads run.
            var ns = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.InRange(ns, 1, 1_000_000);
        }
    }
}
