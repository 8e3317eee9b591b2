using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Notistream.Testing;

namespace Notistream.Client.Tests.Infrastructure;

/// <summary>One Notify call as seen on the bus.</summary>
internal sealed record NotifyCall(string AppName, string Summary, string Body, string Urgency);

/// <summary>
/// A private desktop for one test: Xvfb (dunst draws on X11), a session dbus-daemon, dunst as the
/// real notification daemon owning org.freedesktop.Notifications, and dbus-monitor recording every
/// Notify call. <see cref="Environment"/> points a client at it. Skips (fails under CI) when a
/// program is missing.
/// </summary>
internal sealed partial class DesktopSession : IAsyncDisposable
{
    private readonly List<Process> _processes = [];
    private readonly StringBuilder _monitor = new();
    private readonly TempDirectory _dir = new();

    private DesktopSession()
    {
    }

    public string Display { get; private set; } = string.Empty;

    public string BusAddress { get; private set; } = string.Empty;

    /// <summary>DISPLAY and DBUS_SESSION_BUS_ADDRESS of this session; XDG_CONFIG_HOME to an empty folder.</summary>
    public Dictionary<string, string?> Environment => new()
    {
        ["DISPLAY"] = Display,
        ["DBUS_SESSION_BUS_ADDRESS"] = BusAddress,
        ["XDG_CONFIG_HOME"] = _dir.File("config"),
        ["WAYLAND_DISPLAY"] = null,
    };

    public static async Task<DesktopSession> StartAsync()
    {
        const string hint = ".ci/run installs it: apt-get install xvfb dbus-daemon dbus-bin dunst libnotify-bin";
        var xvfb = ExternalProgram.Require("Xvfb", hint);
        var dbusDaemon = ExternalProgram.Require("dbus-daemon", hint);
        var dbusMonitor = ExternalProgram.Require("dbus-monitor", hint);
        var dbusSend = ExternalProgram.Require("dbus-send", hint);
        var dunst = ExternalProgram.Require("dunst", hint);
        ExternalProgram.Require("notify-send", hint);

        var session = new DesktopSession();
        try
        {
            // Xvfb picks a free display itself and writes its number to fd 3.
            var displayFile = session._dir.File("display");
            session.Launch("/bin/sh", ["-c", $"exec '{xvfb}' -displayfd 3 -screen 0 800x600x24 -nolisten tcp 3>'{displayFile}'"], []);
            await TaskTimeoutExtensions.WaitUntil(() => File.Exists(displayFile) && File.ReadAllText(displayFile).Contains('\n'), "Xvfb to report its display");
            session.Display = ":" + File.ReadAllText(displayFile).Trim();

            var bus = session.Launch(dbusDaemon, ["--session", "--nofork", "--nopidfile", "--print-address=1", $"--address=unix:path={session._dir.File("bus")}"], [], captureOutput: true);
            session.BusAddress = (await bus.StandardOutput.ReadLineAsync().WithTimeout())!.Trim();

            var env = session.Environment;
            var monitor = session.Launch(dbusMonitor, ["--session", "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"], env, captureOutput: true);
            monitor.OutputDataReceived += (_, e) =>
            {
                lock (session._monitor)
                {
                    session._monitor.AppendLine(e.Data);
                }
            };
            monitor.BeginOutputReadLine();
            // dbus-monitor says NameLost once it has turned itself into a monitor.
            await TaskTimeoutExtensions.WaitUntil(() => session.MonitorOutput.Contains("NameLost", StringComparison.Ordinal), "dbus-monitor to attach");

            session.Launch(dunst, [], env);
            await TaskTimeoutExtensions.WaitUntil(() => session.NameHasOwner(dbusSend, "org.freedesktop.Notifications"), "dunst to own org.freedesktop.Notifications");
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    public string MonitorOutput
    {
        get
        {
            lock (_monitor)
            {
                return _monitor.ToString();
            }
        }
    }

    /// <summary>The Notify calls so far: app name, summary, body and urgency hint, parsed from dbus-monitor.</summary>
    public IReadOnlyList<NotifyCall> NotifyCalls()
    {
        var calls = new List<NotifyCall>();
        foreach (var block in MonitorOutput.Split("method call ", StringSplitOptions.RemoveEmptyEntries).Where(b => b.Contains("member=Notify", StringComparison.Ordinal)))
        {
            var values = ValueLine().Matches(block).Select(m => m.Groups["value"].Value).ToList();
            if (values.Count < 5)
            {
                continue; // still being written
            }

            var urgency = UrgencyHint().Match(block);
            calls.Add(new NotifyCall(Unquote(values[0]), Unquote(values[3]), Unquote(values[4]), urgency.Success ? urgency.Groups[1].Value : "?"));
        }

        return calls;
    }

    public Task<NotifyCall> WaitForNotifyAsync(Func<NotifyCall, bool> match, string what) =>
        WaitForNotifyCoreAsync(match, what);

    private async Task<NotifyCall> WaitForNotifyCoreAsync(Func<NotifyCall, bool> match, string what)
    {
        await TaskTimeoutExtensions.WaitUntil(() => NotifyCalls().Any(match), $"a Notify call with {what} on the bus; seen:\n{MonitorOutput}");
        return NotifyCalls().First(match);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync().WithTimeout();
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        _dir.Dispose();
    }

    private bool NameHasOwner(string dbusSend, string name)
    {
        var info = new ProcessStartInfo(dbusSend) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", $"string:{name}" })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DBUS_SESSION_BUS_ADDRESS"] = BusAddress;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output.Contains("boolean true", StringComparison.Ordinal);
    }

    private Process Launch(string fileName, string[] arguments, Dictionary<string, string?> environment, bool captureOutput = false)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = captureOutput,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        _processes.Add(process);
        return process;
    }

    private static string Unquote(string value) => value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;

    [GeneratedRegex(@"^\s+(?:string|uint32) (?<value>.*)$", RegexOptions.Multiline)]
    private static partial Regex ValueLine();

    [GeneratedRegex(@"string ""urgency""\s+variant\s+byte (\d)")]
    private static partial Regex UrgencyHint();
}
