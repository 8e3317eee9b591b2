using System.Globalization;
using System.Runtime.InteropServices;

namespace Notistream.RespServer.Robustness.Tests.Infrastructure;

/// <summary>Linux process controls for tests that run the server as its own process (<see cref="ServerProcess"/>).</summary>
internal static class ProcessControl
{
    private const int RlimitNoFile = 7;

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

    /// <summary>The fields of /proc/pid/stat after the command name: [11] is utime, [12] stime.</summary>
    private static string[] StatFields(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "prlimit", SetLastError = true)]
        public static extern int PrLimit(int pid, int resource, in RLimit newLimit, IntPtr oldLimit);
    }
}
