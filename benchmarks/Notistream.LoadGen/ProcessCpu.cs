using System.Globalization;
using System.Runtime.InteropServices;
using Notistream.LoadGen.Reporting;

namespace Notistream.LoadGen;

/// <summary>
/// CPU time a process has used, user + system, all its threads: fields 14 and 15 (utime, stime) of
/// <c>/proc/&lt;pid&gt;/stat</c>, in clock ticks. Ticks per second come from <c>sysconf(_SC_CLK_TCK)</c>,
/// called once (what <c>getconf CLK_TCK</c> prints; a P/Invoke instead of running getconf, so no child
/// process is started while a server is measured); 100, the kernel's USER_HZ on x86 and ARM, if the call
/// fails. The kernel keeps the time to the nanosecond and reports it truncated to ticks: 10 ms.
/// </summary>
internal static class ProcessCpu
{
    /// <summary>_SC_CLK_TCK in Linux's unistd.h (glibc and musl).</summary>
    private const int ScClkTck = 2;

    private static readonly Lazy<long> Ticks = new(ReadTicksPerSecond);

    public static long TicksPerSecond => Ticks.Value;

    /// <summary>Seconds of CPU the process has used; null without a pid or off Linux.</summary>
    public static double? Seconds(int? pid)
    {
        if (pid is null || !OperatingSystem.IsLinux())
        {
            return null;
        }

        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException ex)
        {
            throw new LoadGenException($"cannot read the CPU time of process {pid}: {ex.Message}", ex);
        }

        return (double)ParseTicks(stat) / TicksPerSecond;
    }

    /// <summary>
    /// utime + stime of one <c>/proc/&lt;pid&gt;/stat</c> line. Field 2 is the command name in parentheses and
    /// may itself hold spaces and parentheses, so the fields are counted after the last ')'. A process that
    /// has exited (state Z or X) is an error, not a figure.
    /// </summary>
    internal static long ParseTicks(string stat)
    {
        ArgumentNullException.ThrowIfNull(stat);
        var close = stat.LastIndexOf(')');
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);

        // fields[0] is field 3 (state), so field n is fields[n - 3].
        if (close < 0 || fields.Length < 13
            || !long.TryParse(fields[14 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[15 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out var system))
        {
            throw new LoadGenException($"cannot read utime and stime from a /proc stat line: '{stat.TrimEnd()}'");
        }

        // An exited process not yet reaped by its parent still has a stat line, with its CPU time frozen.
        if (fields[0] is "Z" or "X")
        {
            throw new LoadGenException($"process '{stat[..(close + 1)]}' has exited");
        }

        return user + system;
    }

    private static long ReadTicksPerSecond()
    {
        try
        {
            var ticks = (long)SysConf(ScClkTck);
            return ticks > 0 ? ticks : 100;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return 100;
        }
    }

    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern nint SysConf(int name);
}

/// <summary>
/// The CPU time of the server (<c>--server-pid</c>, summed over every node a cross-node run names), of the
/// nats-servers (<c>--nats-pid</c>, null without) and of the load generator at one moment; two of them
/// bracket a case's measured window.
/// </summary>
internal readonly record struct CpuSample(double? Server, double? Generator, double? Nats = null)
{
    public static CpuSample Take(int? serverPid) => new(ProcessCpu.Seconds(serverPid), ProcessCpu.Seconds(Environment.ProcessId));

    /// <summary>The server's (and the other nodes') and the nats-servers' CPU time, as <paramref name="options"/> names them.</summary>
    public static CpuSample Take(LoadGenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var server = ProcessCpu.Seconds(options.ServerPid);
        foreach (var pid in options.OtherServerPids)
        {
            server += ProcessCpu.Seconds(pid);
        }

        double? nats = options.NatsPids.Count == 0 ? null : options.NatsPids.Sum(pid => ProcessCpu.Seconds(pid) ?? double.NaN);
        return new(server, ProcessCpu.Seconds(Environment.ProcessId), nats is double.NaN ? null : nats);
    }

    /// <summary>
    /// Cores the server used over the window (CPU seconds per second; shown, not compared, since a faster
    /// server may rightly use more), its CPU seconds per million deliveries (the compared figure: lower is
    /// better), and the generator's cores; with nats-servers, their cores and CPU per million deliveries
    /// too. Null where a reading is missing. <paramref name="what"/> names what was counted
    /// ("deliveries", or e.g. "entries" where messages are stored or read back).
    /// </summary>
    public static List<Metric> Metrics(CpuSample start, CpuSample end, double seconds, long deliveries, string what = "deliveries")
    {
        var server = end.Server - start.Server;
        var metrics = new List<Metric>
        {
            Metric.Context("server CPU", server / seconds, "cores"),
            Metric.Lower($"server CPU per 1M {what}", deliveries > 0 ? server / deliveries * 1e6 : null, "CPU s"),
            Metric.Context("generator CPU", (end.Generator - start.Generator) / seconds, "cores"),
        };
        if (start.Nats is not null || end.Nats is not null)
        {
            var nats = end.Nats - start.Nats;
            metrics.Add(Metric.Context("NATS CPU", nats / seconds, "cores"));
            metrics.Add(Metric.Lower($"NATS CPU per 1M {what}", deliveries > 0 ? nats / deliveries * 1e6 : null, "CPU s"));
        }

        return metrics;
    }
}
