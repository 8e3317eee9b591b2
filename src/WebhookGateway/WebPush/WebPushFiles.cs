using System.Text;

namespace Notistream.Gateway.WebPush;

/// <summary>Where Web Push keeps its files, and how it writes them: whole or not at all.</summary>
internal static class WebPushFiles
{
    /// <summary>
    /// <paramref name="path"/> as given when absolute; otherwise under <c>$STATE_DIRECTORY</c> (set
    /// by systemd's <c>StateDirectory=</c>; the first folder when it names several) or else under
    /// <paramref name="contentRoot"/>.
    /// </summary>
    public static string Resolve(string path, string contentRoot, string? stateDirectory)
    {
        if (Path.IsPathRooted(path))
        {
            return path;
        }

        var first = stateDirectory?.Split(':', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return Path.GetFullPath(Path.Join(string.IsNullOrEmpty(first) ? contentRoot : first, path));
    }

    /// <summary>
    /// Writes <paramref name="text"/> to a temporary file beside <paramref name="path"/> (mode 0600
    /// where the system has modes), flushes it to disk and renames it over <paramref name="path"/>:
    /// a crash leaves the old file or the new one, never half of one.
    /// </summary>
    public static void WriteAtomically(string path, string text)
    {
        var folder = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(Encoding.UTF8.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }

        if (!OperatingSystem.IsWindows())
        {
            // UnixCreateMode applies only when the file is new; a leftover temporary file keeps its own mode.
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
