namespace Notistream.Client.Notifications;

/// <summary>The backend chosen, and why when it is not the one the person might expect.</summary>
internal sealed record NotifierChoice(INotifier Notifier, NotifierKind Kind, string? Note);

/// <summary>
/// Picks the backend: on Linux/BSD freedesktop when <c>notify-send</c> is installed and there is a
/// session bus; on macOS <c>osascript</c>; on Windows PowerShell toasts; otherwise the console.
/// <c>--notifier</c> forces one, and a forced backend whose program is missing is an error, not a
/// silent fallback.
/// </summary>
internal static class NotifierSelector
{
    public const string NotifySend = "notify-send";
    public const string Osascript = "osascript";
    public const string PowerShell = "powershell.exe";

    public static NotifierChoice Select(NotifierKind requested, HostEnvironment host, IProcessRunner runner, INotifier console)
    {
        switch (requested)
        {
            case NotifierKind.Console:
                return new NotifierChoice(console, NotifierKind.Console, null);
            case NotifierKind.Freedesktop:
                return new NotifierChoice(
                    new FreedesktopNotifier(Require(host, NotifySend, "Debian/Ubuntu: apt install libnotify-bin; Fedora: dnf install libnotify"), runner),
                    NotifierKind.Freedesktop,
                    HasSessionBus(host) ? null : "no D-Bus session bus found (DBUS_SESSION_BUS_ADDRESS is not set); notify-send may fail");
            case NotifierKind.MacOS:
                return new NotifierChoice(new MacOsNotifier(Require(host, Osascript, "it ships with macOS"), runner), NotifierKind.MacOS, null);
            case NotifierKind.Windows:
                return new NotifierChoice(new WindowsToastNotifier(Require(host, PowerShell, "Windows PowerShell ships with Windows 10 and 11"), runner), NotifierKind.Windows, null);
        }

        switch (host.Platform)
        {
            case HostPlatform.MacOS when FindProgram(host, Osascript) is { } osascript:
                return new NotifierChoice(new MacOsNotifier(osascript, runner), NotifierKind.MacOS, null);
            case HostPlatform.Windows when FindProgram(host, PowerShell) is { } powershell:
                return new NotifierChoice(new WindowsToastNotifier(powershell, runner), NotifierKind.Windows, null);
            case HostPlatform.Linux or HostPlatform.OtherUnix:
                var notifySend = FindProgram(host, NotifySend);
                if (notifySend is null)
                {
                    return new NotifierChoice(console, NotifierKind.Console,
                        "notify-send is not installed (Debian/Ubuntu: apt install libnotify-bin); showing notifications on the console");
                }

                if (!HasSessionBus(host))
                {
                    return new NotifierChoice(console, NotifierKind.Console,
                        "no desktop session (no D-Bus session bus); showing notifications on the console");
                }

                return new NotifierChoice(new FreedesktopNotifier(notifySend, runner), NotifierKind.Freedesktop, null);
            default:
                return new NotifierChoice(console, NotifierKind.Console, "no desktop notification program found; showing notifications on the console");
        }
    }

    /// <summary>DBUS_SESSION_BUS_ADDRESS, or the systemd user bus at $XDG_RUNTIME_DIR/bus that libnotify also finds.</summary>
    public static bool HasSessionBus(HostEnvironment host) =>
        !string.IsNullOrWhiteSpace(host.GetVariable("DBUS_SESSION_BUS_ADDRESS"))
        || (host.GetVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Path.Exists(Path.Join(runtime, "bus")));

    private static string? FindProgram(HostEnvironment host, string name)
    {
        var found = host.FindProgram(name);
        if (found is null && name == PowerShell && host.GetVariable("SystemRoot") is { Length: > 0 } systemRoot)
        {
            var builtIn = Path.Join(systemRoot, "System32", "WindowsPowerShell", "v1.0", PowerShell);
            found = File.Exists(builtIn) ? builtIn : null;
        }

        return found;
    }

    private static string Require(HostEnvironment host, string name, string hint) =>
        FindProgram(host, name) ?? throw new NotifierException($"{name} is not installed ({hint})");
}
