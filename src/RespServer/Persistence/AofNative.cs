using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Notistream.RespServer.Persistence;

/// <summary>
/// The system calls the log needs and .NET does not expose with their error numbers: positional writes
/// (so a failed write is retried at the same offset), fdatasync (Redis's redis_fsync on Linux: the data and
/// the size, not the times), and fsync of a folder after a rename (so the new name survives a power loss).
/// Every failure is an <see cref="AofIoException"/> carrying errno and its strerror text, which the MISCONF
/// error quotes as Redis does. On Windows the portable calls stand in, and a folder is not synced.
/// </summary>
internal static class AofNative
{
    private const int Eintr = 4;
    private const int OReadOnly = 0;

    /// <summary>Writes all of <paramref name="bytes"/> at <paramref name="offset"/>.</summary>
    public static void WriteAt(SafeFileHandle file, ReadOnlySpan<byte> bytes, long offset)
    {
        if (OperatingSystem.IsWindows())
        {
            var copy = bytes.ToArray();
            Portable(() => RandomAccess.Write(file, copy, offset));
            return;
        }

        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            var fd = (int)file.DangerousGetHandle();
            while (!bytes.IsEmpty)
            {
                var n = Unix.PWrite(fd, ref MemoryMarshal.GetReference(bytes), (nuint)bytes.Length, offset);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Eintr)
                    {
                        continue;
                    }

                    throw new AofIoException(errno);
                }

                bytes = bytes[(int)n..];
                offset += n;
            }
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>fdatasync on Linux, fsync on other Unix systems, FlushFileBuffers on Windows.</summary>
    public static void SyncData(SafeFileHandle file)
    {
        if (OperatingSystem.IsWindows())
        {
            Portable(() => RandomAccess.FlushToDisk(file));
            return;
        }

        var added = false;
        file.DangerousAddRef(ref added);
        try
        {
            var fd = (int)file.DangerousGetHandle();
            var result = OperatingSystem.IsLinux() ? Unix.FDataSync(fd) : Unix.FSync(fd);
            if (result != 0)
            {
                throw new AofIoException(Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    /// <summary>Cuts <paramref name="file"/> to <paramref name="length"/> bytes (a failed write's partial bytes go).</summary>
    public static void Truncate(SafeFileHandle file, long length) => Portable(() => RandomAccess.SetLength(file, length));

    /// <summary>fsync of a folder: its entries (a new file, a rename) are on the disk once this returns.</summary>
    public static void SyncFolder(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = Unix.Open(path, OReadOnly);
        if (fd < 0)
        {
            throw new AofIoException(Marshal.GetLastPInvokeError());
        }

        try
        {
            if (Unix.FSync(fd) != 0)
            {
                throw new AofIoException(Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            _ = Unix.Close(fd);
        }
    }

    /// <summary>strerror(<paramref name="errno"/>), as Redis prints it.</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    private static void Portable(Action action)
    {
        try
        {
            action();
        }
        catch (IOException ex) when (ex is not AofIoException)
        {
            throw new AofIoException(ex.HResult & 0xFFFF, ex.Message);
        }
    }

    private static class Unix
    {
        [DllImport("libc", EntryPoint = "pwrite", SetLastError = true)]
        public static extern nint PWrite(int fd, ref byte buffer, nuint count, long offset);

        [DllImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
        public static extern int FDataSync(int fd);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int FSync(int fd);

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }
}

/// <summary>A failed system call of the log: <see cref="Errno"/> and its text.</summary>
internal sealed class AofIoException : IOException
{
    public AofIoException(int errno)
        : this(errno, AofNative.Describe(errno))
    {
    }

    public AofIoException(int errno, string message)
        : base(message)
    {
        Errno = errno;
    }

    public int Errno { get; }
}
