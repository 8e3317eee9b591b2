namespace Notistream.Client.Config;

/// <summary>Where the config file lives on each platform.</summary>
internal static class ConfigPaths
{
    public const string FolderName = "notistream";
    public const string FileName = "config.json";

    /// <summary>
    /// Linux and other Unix: <c>$XDG_CONFIG_HOME/notistream/config.json</c>, else <c>~/.config/notistream/config.json</c>
    /// (an XDG_CONFIG_HOME that is not absolute is ignored, as the XDG spec says).
    /// macOS: <c>~/Library/Application Support/notistream/config.json</c>.
    /// Windows: <c>%APPDATA%\notistream\config.json</c>.
    /// </summary>
    public static string DefaultConfigFile(HostEnvironment host)
    {
        var folder = host.Platform switch
        {
            HostPlatform.Windows => Path.Join(
                host.GetVariable("APPDATA") is { Length: > 0 } appData ? appData : Path.Join(Home(host), "AppData", "Roaming"),
                FolderName),
            HostPlatform.MacOS => Path.Join(Home(host), "Library", "Application Support", FolderName),
            _ => Path.Join(
                host.GetVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg && Path.IsPathRooted(xdg) ? xdg : Path.Join(Home(host), ".config"),
                FolderName),
        };
        return Path.Join(folder, FileName);
    }

    private static string Home(HostEnvironment host)
    {
        var home = host.Platform == HostPlatform.Windows ? host.GetVariable("USERPROFILE") : host.GetVariable("HOME");
        if (string.IsNullOrEmpty(home))
        {
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        }

        return home;
    }
}
