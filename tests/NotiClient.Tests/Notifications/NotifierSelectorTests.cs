using Notistream.Client.Notifications;
using Notistream.Client.Tests.Infrastructure;
using Xunit;

namespace Notistream.Client.Tests.Notifications;

public sealed class NotifierSelectorTests
{
    private static readonly RecordingNotifier Console = new();

    private static readonly Dictionary<string, string> SessionBus = new() { ["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/run/user/1000/bus" };

    private static NotifierChoice Select(NotifierKind kind, HostEnvironment host) => NotifierSelector.Select(kind, host, new FakeProcessRunner(), Console);

    [Fact]
    public void Linux_desktop_with_notify_send_uses_freedesktop()
    {
        var choice = Select(NotifierKind.Auto, TestHosts.Fake(HostPlatform.Linux, SessionBus, "notify-send"));
        Assert.IsType<FreedesktopNotifier>(choice.Notifier);
        Assert.Null(choice.Note);
    }

    [Fact]
    public void The_systemd_user_bus_counts_as_a_session_bus()
    {
        using var runtime = new TempDirectory();
        File.WriteAllText(runtime.File("bus"), string.Empty);
        var choice = Select(NotifierKind.Auto, TestHosts.Fake(HostPlatform.Linux, new Dictionary<string, string> { ["XDG_RUNTIME_DIR"] = runtime.Path }, "notify-send"));
        Assert.Equal(NotifierKind.Freedesktop, choice.Kind);
    }

    [Fact]
    public void Linux_without_notify_send_falls_back_to_the_console_and_says_what_to_install()
    {
        var choice = Select(NotifierKind.Auto, TestHosts.Fake(HostPlatform.Linux, SessionBus));
        Assert.Same(Console, choice.Notifier);
        Assert.Contains("libnotify-bin", choice.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Linux_without_a_desktop_session_falls_back_to_the_console()
    {
        var choice = Select(NotifierKind.Auto, TestHosts.Fake(HostPlatform.Linux, null, "notify-send"));
        Assert.Equal(NotifierKind.Console, choice.Kind);
        Assert.Contains("no desktop session", choice.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void MacOS_uses_osascript()
    {
        Assert.IsType<MacOsNotifier>(Select(NotifierKind.Auto, TestHosts.Fake(HostPlatform.MacOS, null, "osascript", "notify-send")).Notifier);
    }

    [Fact]
    public void Windows_uses_powershell_toasts_and_finds_the_built_in_one()
    {
        Assert.IsType<WindowsToastNotifier>(Select(NotifierKind.Auto, TestHosts.Fake(HostPlatform.Windows, null, "powershell.exe")).Notifier);

        using var root = new TempDirectory();
        var builtIn = Path.Join(root.Path, "System32", "WindowsPowerShell", "v1.0");
        Directory.CreateDirectory(builtIn);
        File.WriteAllText(Path.Join(builtIn, "powershell.exe"), string.Empty);
        var choice = Select(NotifierKind.Auto, TestHosts.Fake(HostPlatform.Windows, new Dictionary<string, string> { ["SystemRoot"] = root.Path }));
        Assert.Equal(NotifierKind.Windows, choice.Kind);
    }

    [Fact]
    public void Windows_without_powershell_uses_the_console()
    {
        Assert.Equal(NotifierKind.Console, Select(NotifierKind.Auto, TestHosts.Fake(HostPlatform.Windows)).Kind);
    }

    [Fact]
    public void A_forced_backend_is_used_even_where_auto_would_not_pick_it()
    {
        Assert.Same(Console, Select(NotifierKind.Console, TestHosts.Fake(HostPlatform.Linux, SessionBus, "notify-send")).Notifier);
        var forced = Select(NotifierKind.Freedesktop, TestHosts.Fake(HostPlatform.Linux, null, "notify-send"));
        Assert.IsType<FreedesktopNotifier>(forced.Notifier);
        Assert.Contains("no D-Bus session bus", forced.Note, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Freedesktop", "notify-send is not installed")]
    [InlineData("MacOS", "osascript is not installed")]
    [InlineData("Windows", "powershell.exe is not installed")]
    public void A_forced_backend_whose_program_is_missing_is_an_error(string kind, string message)
    {
        var error = Assert.Throws<NotifierException>(() => Select(Enum.Parse<NotifierKind>(kind), TestHosts.Fake(HostPlatform.Linux, SessionBus)));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto", "Auto")]
    [InlineData("notify-send", "Freedesktop")]
    [InlineData(" MacOS ", "MacOS")]
    [InlineData("toast", "Windows")]
    [InlineData("console", "Console")]
    public void Backend_names(string name, string expected)
    {
        Assert.True(NotifierKinds.TryParse(name, out var kind));
        Assert.Equal(Enum.Parse<NotifierKind>(expected), kind);
        Assert.False(NotifierKinds.TryParse("growl", out _));
    }
}
