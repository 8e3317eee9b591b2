using System.Diagnostics;
using System.Globalization;

namespace Notistream.LoadGen.Tests;

public class ProcessCpuTests
{
    // 52 fields as in Linux 6.x; utime (14) = 1234, stime (15) = 56, cutime and cstime (16, 17) = 7 and 8.
    private const string Fields = "S 1 100 100 0 -1 4194560 957 0 0 0 1234 56 7 8 20 0 5 0 169956 62283776 2965 18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 4 5 6 7 8 9 10 0\n";

    [Theory]
    [InlineData("redis-server")]
    [InlineData("a b c")]
    [InlineData("x) 9 9 9 (y")]
    [InlineData(") R 1 2 3 4 5 6 7 8 9 10 11 12 13")]
    [InlineData("")]
    public void Utime_and_stime_are_read_after_the_last_parenthesis(string comm)
    {
        Assert.Equal(1234 + 56, ProcessCpu.ParseTicks($"4242 ({comm}) {Fields}"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("4242 (redis-server)")]
    [InlineData("4242 (redis-server) S 1 100 100 0 -1 4194560 957 0 0 0 12")]
    [InlineData("4242 redis-server S 1 100 100 0 -1 4194560 957 0 0 0 1234 56 7 8")]
    [InlineData("4242 (redis-server) S 1 100 100 0 -1 4194560 957 0 0 0 -1234 56 7 8")]
    public void A_line_without_both_times_is_an_error(string stat)
    {
        Assert.Throws<LoadGenException>(() => ProcessCpu.ParseTicks(stat));
    }

    [Fact]
    public void An_exited_process_is_an_error_not_a_frozen_figure()
    {
        var ex = Assert.Throws<LoadGenException>(() => ProcessCpu.ParseTicks("4242 (redis-server) Z" + Fields[1..]));
        Assert.Contains("'4242 (redis-server)' has exited", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ticks_per_second_are_what_getconf_says_and_a_live_process_has_used_some()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc and sysconf are Linux's");
        using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true })!;
        var expected = long.Parse(getconf.StandardOutput.ReadToEnd().Trim(), CultureInfo.InvariantCulture);
        getconf.WaitForExit();
        Assert.Equal(expected, ProcessCpu.TicksPerSecond);

        // This test process has compiled and run code: at least a tick, and no more than it has lived.
        var used = ProcessCpu.Seconds(Environment.ProcessId);
        var lived = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;
        Assert.InRange(used!.Value, 1.0 / expected, lived * Environment.ProcessorCount);
        Assert.Null(ProcessCpu.Seconds(null));
        Assert.Throws<LoadGenException>(() => ProcessCpu.Seconds(int.MaxValue));
    }
}
