using System.Globalization;
using System.Runtime.InteropServices;

namespace Notistream.RespServer.Robustness.Tests.Infrastructure;

/// <summary>Linux process controls for tests that run the server as its own process (<see cref="ServerProcess"/>).</summary>
internal static class ProcessControl
{
    private const int SigCont = 18;
    private const int SigStop = 19;
    private const int RlimitNoFile = 7;

    /// <summary>Stops every thread of <paramref name="pid"/> (SIGSTOP) and returns once it is stopped.</summary>
    public static async Task StopAsync(int pid)
    {
        Signal(pid, SigStop);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (State(pid) != 'T')
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"process {pid} did not stop");
            }

            await Task.Delay(1);
        }
    }

    /// <summary>Lets a stopped process run again (SIGCONT).</summary>
    public static void Continue(int pid) => Signal(pid, SigCont);

    /// <summary>User plus system time of every thread of <paramref name="pid"/> (/proc/pid/stat, in clock ticks of 10 ms).</summary>
    public static TimeSpan CpuTime(int pid)
    {
        var fields = StatFields(pid);
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    /// <summary>File descriptors <paramref name="pid"/> has open.</summary>
    public static int OpenDescriptors(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    /// <summary>Lets <paramref name="pid"/> open no more than <paramref name="limit"/> file descriptors (RLIMIT_NOFILE).</summary>
    public static void SetDescriptorLimit(int pid, int limit)
    {
        var value = new RLimit { Current = (ulong)limit, Maximum = (ulong)limit };
        if (NativeMethods.PrLimit(pid, RlimitNoFile, in value, IntPtr.Zero) != 0)
        {
            throw new InvalidOperationException($"prlimit on process {pid} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// This process's open-file limit, first raised to its hard limit (.NET does that at start-up already),
    /// and, where allowed (root), the hard limit to at least <paramref name="wanted"/>. A server started
    /// afterwards inherits it.
    /// </summary>
    public static long RaiseOwnDescriptorLimit(long wanted)
    {
        if (NativeMethods.PrLimit(0, RlimitNoFile, IntPtr.Zero, out var limit) != 0)
        {
            return 0;
        }

        var raised = new RLimit { Current = Math.Max(limit.Maximum, (ulong)wanted), Maximum = Math.Max(limit.Maximum, (ulong)wanted) };
        if (NativeMethods.PrLimit(0, RlimitNoFile, in raised, IntPtr.Zero) == 0)
        {
            return (long)raised.Current;
        }

        raised = limit with { Current = limit.Maximum };
        return NativeMethods.PrLimit(0, RlimitNoFile, in raised, IntPtr.Zero) == 0 ? (long)raised.Current : (long)limit.Current;
    }

    private static char State(int pid) => StatFields(pid)[0][0];

    /// <summary>The fields of /proc/pid/stat after the command name: [0] is the state, [11] utime, [12] stime.</summary>
    private static string[] StatFields(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    private static void Signal(int pid, int signal)
    {
        if (NativeMethods.Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);

        [DllImport("libc", EntryPoint = "prlimit", SetLastError = true)]
        public static extern int PrLimit(int pid, int resource, in RLimit newLimit, IntPtr oldLimit);

        [DllImport("libc", EntryPoint = "prlimit", SetLastError = true)]
        public static extern int PrLimit(int pid, int resource, IntPtr newLimit, out RLimit oldLimit);
    }
}
