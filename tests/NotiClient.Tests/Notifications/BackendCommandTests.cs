using System.Text;
using Notistream.Client.Notifications;
using Notistream.Client.Tests.Infrastructure;
using Xunit;

namespace Notistream.Client.Tests.Notifications;

/// <summary>What each backend starts, for hostile messages: the text must arrive as data, never as an option or code.</summary>
public sealed class BackendCommandTests
{
    private const string HostileTitle = "--urgency=critical";
    private const string HostileBody = "-u low $(touch /tmp/pwned) `id` ; rm -rf ~ \" ' <b>bold</b> & --help";

    private static readonly Notification Hostile = new(HostileTitle, HostileBody, Urgency.Low, "c");

    [Fact]
    public void Freedesktop_puts_title_and_body_after_the_end_of_options_marker()
    {
        var spec = new FreedesktopNotifier("/usr/bin/notify-send", new FakeProcessRunner()).BuildCommand(Hostile);

        Assert.Equal("/usr/bin/notify-send", spec.FileName);
        Assert.Equal(["--app-name=notistream", "--urgency=low", "--category=im.received", "--"], spec.Arguments.Take(4));
        Assert.Equal([HostileTitle, "-u low $(touch /tmp/pwned) `id` ; rm -rf ~ \" ' &lt;b&gt;bold&lt;/b&gt; &amp; --help"], spec.Arguments.Skip(4));
    }

    [Theory]
    [InlineData("Low", "--urgency=low")]
    [InlineData("Normal", "--urgency=normal")]
    [InlineData("Critical", "--urgency=critical")]
    public void Freedesktop_urgency(string urgency, string argument)
    {
        var spec = new FreedesktopNotifier("notify-send", new FakeProcessRunner()).BuildCommand(new("t", "b", Enum.Parse<Urgency>(urgency), "c"));
        Assert.Contains(argument, spec.Arguments);
    }

    [Fact]
    public void MacOS_passes_the_text_as_script_arguments_not_as_AppleScript_source()
    {
        var spec = new MacOsNotifier("/usr/bin/osascript", new FakeProcessRunner()).BuildCommand(Hostile);

        Assert.Equal(["-e", "on run argv", "-e", "display notification (item 2 of argv) with title (item 1 of argv)", "-e", "end run", "--"], spec.Arguments.Take(7));
        Assert.Equal([HostileTitle, HostileBody], spec.Arguments.Skip(7));
    }

    [Fact]
    public void Windows_keeps_the_text_out_of_the_command_line_entirely()
    {
        var notifier = new WindowsToastNotifier("powershell.exe", new FakeProcessRunner());
        var hostile = notifier.BuildCommand(Hostile);
        var plain = notifier.BuildCommand(new("t", "b", Urgency.Normal, "c"));

        Assert.Equal(plain.Arguments, hostile.Arguments);
        Assert.Equal(HostileTitle, hostile.Environment[WindowsToastNotifier.TitleVariable]);
        Assert.Equal(HostileBody, hostile.Environment[WindowsToastNotifier.BodyVariable]);
        var script = Encoding.Unicode.GetString(Convert.FromBase64String(hostile.Arguments[^1]));
        Assert.Contains("CreateTextNode($env:NOTISTREAM_TOAST_TITLE)", script, StringComparison.Ordinal);
        Assert.Contains("CreateTextNode($env:NOTISTREAM_TOAST_BODY)", script, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_program_becomes_a_notifier_error_with_its_message()
    {
        var runner = new FakeProcessRunner { Result = _ => new ProcessResult(1, "GDBus.Error: no notification daemon\nmore") };
        var notifier = new FreedesktopNotifier("/usr/bin/notify-send", runner);

        var error = await Assert.ThrowsAsync<NotifierException>(() => notifier.ShowAsync(Hostile, CancellationToken.None));
        Assert.Equal("notify-send exited with 1: GDBus.Error: no notification daemon", error.Message);
    }

    [Fact]
    public async Task The_real_runner_passes_hostile_arguments_through_as_single_words()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses /bin/sh");
        using var dir = new TempDirectory();
        var marker = dir.File("pwned");
        var hostile = $"$(touch {marker}) `touch {marker}`; touch {marker} \" '";
        var result = await ProcessRunner.Instance.RunAsync(
            new ProcessSpec("/bin/sh", ["-c", "printf '%s|%s' \"$#\" \"$1\" >&2; exit 3", "sh", hostile]),
            TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal($"1|{hostile}", result.StandardError);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task The_real_runner_stops_a_program_that_hangs()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses /bin/sh");
        await Assert.ThrowsAsync<TimeoutException>(() => ProcessRunner.Instance.RunAsync(
            new ProcessSpec("/bin/sh", ["-c", "exec sleep 30"]), TimeSpan.FromMilliseconds(200), CancellationToken.None));
    }

    [Fact]
    public async Task Console_backend_writes_one_line_with_the_bell()
    {
        var output = new StringWriter();
        await new ConsoleNotifier(output, bell: true).ShowAsync(new("ci", "build\npassed", Urgency.Normal, "ci"), CancellationToken.None);
        var text = output.ToString();
        Assert.StartsWith("\a[", text, StringComparison.Ordinal);
        Assert.Contains("] ci: build\n           passed", text, StringComparison.Ordinal);

        var quiet = new StringWriter();
        await new ConsoleNotifier(quiet, bell: false).ShowAsync(new("ci", "x", Urgency.Normal, "ci"), CancellationToken.None);
        Assert.DoesNotContain('\a', quiet.ToString());
    }

    [Fact]
    public async Task Fallback_shows_on_the_console_when_the_desktop_fails_and_says_so_once()
    {
        var fail = true;
        var runner = new FakeProcessRunner { Result = _ => fail ? new ProcessResult(1, "no daemon") : new ProcessResult(0, string.Empty) };
        var console = new RecordingNotifier();
        var reports = new List<string>();
        var notifier = new FallbackNotifier(new FreedesktopNotifier("notify-send", runner), console, reports.Add);

        await notifier.ShowAsync(new("a", "1", Urgency.Normal, "a"), CancellationToken.None);
        await notifier.ShowAsync(new("a", "2", Urgency.Normal, "a"), CancellationToken.None);
        fail = false;
        await notifier.ShowAsync(new("a", "3", Urgency.Normal, "a"), CancellationToken.None);

        Assert.Equal(["1", "2"], console.Shown.Select(n => n.Body));
        Assert.Equal(3, runner.Runs.Count);
        Assert.Equal(2, notifier.Failures);
        Assert.Collection(reports,
            r => Assert.Contains("failed (notify-send exited with 1: no daemon)", r, StringComparison.Ordinal),
            r => Assert.Contains("works again", r, StringComparison.Ordinal));
    }
}
