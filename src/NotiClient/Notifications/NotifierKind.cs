namespace Notistream.Client.Notifications;

/// <summary>The notification backends; <see cref="Auto"/> picks the first that works on this machine.</summary>
internal enum NotifierKind
{
    Auto,
    Freedesktop,
    MacOS,
    Windows,
    Console,
}

internal static class NotifierKinds
{
    /// <summary>Names accepted by <c>--notifier</c> and the config file's <c>notifier</c> field.</summary>
    public static readonly string[] Names = ["auto", "freedesktop", "macos", "windows", "console"];

    public static bool TryParse(string? text, out NotifierKind kind)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "auto":
                kind = NotifierKind.Auto;
                return true;
            case "freedesktop" or "notify-send" or "linux":
                kind = NotifierKind.Freedesktop;
                return true;
            case "macos" or "osascript":
                kind = NotifierKind.MacOS;
                return true;
            case "windows" or "toast":
                kind = NotifierKind.Windows;
                return true;
            case "console":
                kind = NotifierKind.Console;
                return true;
            default:
                kind = NotifierKind.Auto;
                return false;
        }
    }

    public static string Name(NotifierKind kind) => Names[(int)kind];
}
