using System.Runtime.InteropServices;

namespace Notistream.Client;

internal enum HostPlatform
{
    Linux,
    MacOS,
    Windows,
    OtherUnix,
}

/// <summary>
/// What the client asks of the machine it runs on: the platform, environment variables and which
/// programs are installed. Tests pass their own, so nothing reads the real environment behind their back.
/// </summary>
internal sealed class HostEnvironment
{
    public HostEnvironment(HostPlatform platform, Func<string, string?> getVariable, Func<string, string?>? findProgram = null)
    {
        Platform = platform;
        GetVariable = getVariable;
        FindProgram = findProgram ?? (name => FindOnPath(name, getVariable("PATH"), platform));
    }

    public HostPlatform Platform { get; }

    public Func<string, string?> GetVariable { get; }

    /// <summary>Full path of an installed program, or null.</summary>
    public Func<string, string?> FindProgram { get; }

    public static HostEnvironment Current { get; } = new(CurrentPlatform(), Environment.GetEnvironmentVariable);

    public static HostPlatform CurrentPlatform() =>
        OperatingSystem.IsWindows() ? HostPlatform.Windows
        : OperatingSystem.IsMacOS() ? HostPlatform.MacOS
        : OperatingSystem.IsLinux() ? HostPlatform.Linux
        : HostPlatform.OtherUnix;

    public static string? FindOnPath(string name, string? path, HostPlatform platform)
    {
        if (Path.IsPathRooted(name))
        {
            return File.Exists(name) ? name : null;
        }

        var extensions = platform == HostPlatform.Windows && !Path.HasExtension(name) ? new[] { ".exe", ".cmd", ".bat" } : [string.Empty];
        var separator = platform == HostPlatform.Windows ? ';' : ':';
        foreach (var dir in (path ?? string.Empty).Split(separator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var extension in extensions)
            {
                var candidate = Path.Join(dir, name + extension);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    public override string ToString() => $"{Platform} ({RuntimeInformation.OSDescription})";
}
