using System.Runtime.InteropServices;

namespace Notistream.RespServer.Hosting;

/// <summary>
/// maxclients against the process's open-file limit (RLIMIT_NOFILE), as Redis's adjustOpenFilesLimit: at
/// start-up the soft limit is raised to what maxclients needs where the hard limit allows, and otherwise
/// maxclients is lowered to what the limit leaves. Without that, clients beyond the limit would meet a
/// failing accept and, worse, the runtime would find no descriptor when it needs one (a new thread-pool
/// thread) and abort the process.
/// <para>
/// Redis reserves 32 descriptors for itself. The runtime holds about a hundred before the first client
/// (two per loaded assembly, epoll and event descriptors, pipes) and opens more as it loads code, so
/// the reserve here is what is open when the server starts plus <see cref="ReservedDescriptors"/>.
/// </para>
/// </summary>
internal sealed class OpenFilesLimit
{
    /// <summary>Descriptors kept free beyond those open at start-up, as Redis's CONFIG_MIN_RESERVED_FDS.</summary>
    public const int ReservedDescriptors = 32;

    private OpenFilesLimit(int reserve) => Reserve = reserve;

    /// <summary>Descriptors that are not for clients: open at start-up plus <see cref="ReservedDescriptors"/>.</summary>
    public int Reserve { get; }

    /// <summary>None where the platform has no such limit (Windows) or it cannot be read.</summary>
    public static OpenFilesLimit? ForThisProcess()
    {
        if (!Native.Supported)
        {
            return null;
        }

        return new OpenFilesLimit(OpenDescriptors() + ReservedDescriptors);
    }

    /// <summary>
    /// The clients the limit allows when <paramref name="maxClients"/> are wanted. A soft limit below
    /// <paramref name="maxClients"/> plus the reserve is raised to it, with the hard limit too where the
    /// process may (root), else as far as the hard limit; what it then is, less the reserve, caps the answer.
    /// </summary>
    public Fit Adjust(int maxClients)
    {
        var wanted = (ulong)maxClients + (ulong)Reserve;
        if (!Native.TryGet(out var limit) || limit.Current >= wanted)
        {
            return new Fit(maxClients, wanted, limit.Current, null, null);
        }

        var before = limit.Current;
        if (Native.TrySet(new RLimit { Current = wanted, Maximum = Math.Max(wanted, limit.Maximum) }, out var error))
        {
            return new Fit(maxClients, wanted, wanted, before, null);
        }

        var now = before;
        if (limit.Maximum > before && Native.TrySet(limit with { Current = limit.Maximum }, out _))
        {
            now = limit.Maximum;
        }

        var allowed = now > (ulong)Reserve ? (int)Math.Min(now - (ulong)Reserve, int.MaxValue) : 0;
        return new Fit(allowed, wanted, now, now > before ? before : null, error);
    }

    /// <summary>The outcome of <see cref="Adjust"/>: <see cref="Clients"/> may be below what was asked.</summary>
    /// <param name="Clients">clients the limit allows (0: not even one)</param>
    /// <param name="Wanted">descriptors the asked maxclients needs</param>
    /// <param name="Limit">the soft limit now (0 when it could not be read)</param>
    /// <param name="RaisedFrom">the soft limit before, when this raised it</param>
    /// <param name="Error">the system's reason the limit could not be raised to <paramref name="Wanted"/></param>
    public readonly record struct Fit(int Clients, ulong Wanted, ulong Limit, ulong? RaisedFrom, string? Error);

    private static int OpenDescriptors()
    {
        foreach (var folder in (string[])["/proc/self/fd", "/dev/fd"])
        {
            try
            {
                return Directory.GetFileSystemEntries(folder).Length;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // try the next
            }
        }

        return 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    /// <summary>getrlimit/setrlimit(RLIMIT_NOFILE); rlim_t is 64-bit on the 64-bit Linux and macOS targets.</summary>
    private static class Native
    {
        public static bool Supported => (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) && Environment.Is64BitProcess;

        private static int Resource => OperatingSystem.IsMacOS() ? 8 : 7;

        public static bool TryGet(out RLimit limit)
        {
            limit = default;
            return Supported && GetRLimit(Resource, out limit) == 0;
        }

        public static bool TrySet(RLimit limit, out string? error)
        {
            if (SetRLimit(Resource, in limit) == 0)
            {
                error = null;
                return true;
            }

            error = Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
            return false;
        }

        [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
        private static extern int GetRLimit(int resource, out RLimit limit);

        [DllImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
        private static extern int SetRLimit(int resource, in RLimit limit);
    }
}
