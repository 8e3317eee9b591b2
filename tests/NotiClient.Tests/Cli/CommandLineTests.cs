using Notistream.Client.Cli;
using Notistream.Client.Config;
using Notistream.Client.Notifications;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Client.Tests.Integration;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.Cli;

/// <summary>The commands in-process, with a scripted console and a fake machine.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly TempDirectory _home = new();
    private readonly LockedStringWriter _out = new();
    private readonly LockedStringWriter _err = new();
    private readonly FakeProcessRunner _runner = new();

    public void Dispose() => _home.Dispose();

    private string ConfigFilePath => Path.Join(_home.Path, "notistream", "config.json");

    private CliContext Context(bool interactive = false, string input = "", params string[] programs)
    {
        var variables = new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = _home.Path, ["HOME"] = _home.Path, ["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/fake" };
        var console = new ClientConsole(new StringReader(input), _out, _err, interactive, IsOutputTerminal: false, ReadSecret: null);
        return new CliContext(console, TestHosts.Fake(HostPlatform.Linux, variables, programs)) { ProcessRunner = _runner };
    }

    /// <summary>Non-interactive unless <paramref name="input"/> is given, with these NOTISTREAM_* variables.</summary>
    private CliContext ContextWith(IReadOnlyDictionary<string, string> environment, string? input = null)
    {
        var variables = new Dictionary<string, string>(environment) { ["XDG_CONFIG_HOME"] = _home.Path, ["HOME"] = _home.Path, ["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/fake" };
        var console = new ClientConsole(new StringReader(input ?? ""), _out, _err, input is not null, IsOutputTerminal: false, ReadSecret: null);
        return new CliContext(console, TestHosts.Fake(HostPlatform.Linux, variables)) { ProcessRunner = _runner };
    }

    private Task<int> RunAsync(CliContext context, params string[] args) =>
        CliApp.RunAsync(args, context).WithTimeout();

    [Theory]
    [InlineData]
    [InlineData("setup")]
    [InlineData("send")]
    [InlineData("test")]
    public async Task Every_command_has_help_listing_the_options(params string[] command)
    {
        Assert.Equal(0, await RunAsync(Context(), [.. command, "--help"]));
        var help = _out.ToString();
        foreach (var option in new[] { "--config", "--host", "--port", "--url", "--channels", "--user", "--password", "--print", "--json", "--exec", "--notifier", "--help" })
        {
            Assert.Contains(option, help, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_a_config_or_a_terminal_it_exits_with_how_to_configure()
    {
        Assert.Equal(ExitCodes.ConfigurationError, await RunAsync(Context(interactive: false)));
        var error = _err.ToString();
        Assert.Contains($"not configured: {ConfigFilePath} does not exist", error, StringComparison.Ordinal);
        Assert.Contains("notistream setup", error, StringComparison.Ordinal);
        Assert.Contains("--channels", error, StringComparison.Ordinal);
        Assert.False(File.Exists(ConfigFilePath));
    }

    [Fact]
    public async Task A_bad_config_file_is_reported_by_file_and_field()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ConfigFilePath)!);
        await File.WriteAllTextAsync(ConfigFilePath, """{ "host": "localhost", "port": 99999, "channels": ["a"] }""");

        Assert.Equal(ExitCodes.ConfigurationError, await RunAsync(Context()));
        Assert.Contains($"{ConfigFilePath}: field \"port\": the port must be a whole number from 1 to 65535 (got '99999')", _err.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--port", "0", "--port: the port must be a whole number from 1 to 65535")]
    [InlineData("--port", "abc", "--port: the port must be a whole number from 1 to 65535 (got 'abc')")]
    [InlineData("--port", "-1", "--port: the port must be a whole number from 1 to 65535 (got '-1')")]
    [InlineData("--host", "a b", "--host: 'a b' is not a host name")]
    [InlineData("--channels", ",", "--channels: name at least one channel")]
    [InlineData("--notifier", "growl", "--notifier: must be one of auto, freedesktop, macos, windows, console")]
    public async Task Bad_options_are_refused_with_the_rule(string option, string value, string message)
    {
        Assert.NotEqual(0, await RunAsync(Context(), option, value));
        Assert.Contains(message, _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Setup_needs_a_terminal()
    {
        Assert.Equal(ExitCodes.ConfigurationError, await RunAsync(Context(interactive: false), "setup"));
        Assert.Contains("needs a terminal", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_named_config_file_that_does_not_exist_is_an_error()
    {
        var missing = _home.File("nope.json");
        Assert.Equal(ExitCodes.ConfigurationError, await RunAsync(Context(interactive: true), "--config", missing));
        Assert.Contains($"{missing} does not exist", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_raises_one_notification_through_the_chosen_backend()
    {
        Assert.Equal(0, await RunAsync(Context(programs: "notify-send"), "test"));
        var run = Assert.Single(_runner.Runs);
        Assert.Equal("/fake/bin/notify-send", run.FileName);
        Assert.Equal([TestCommand.Title, TestCommand.Body], run.Arguments.Skip(run.Arguments.ToList().IndexOf("--") + 1));
        Assert.Contains("sent a test notification through freedesktop (/fake/bin/notify-send)", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_reports_a_failing_backend_and_fails()
    {
        _runner.Result = _ => new ProcessResult(1, "Cannot autolaunch D-Bus without X11 $DISPLAY");
        Assert.Equal(ExitCodes.Failed, await RunAsync(Context(programs: "notify-send"), "test"));
        Assert.Contains("the test notification failed: notify-send exited with 1: Cannot autolaunch D-Bus", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_on_the_console()
    {
        Assert.Equal(0, await RunAsync(Context(), "test", "--notifier", "console"));
        Assert.Contains($"{TestCommand.Title}: {TestCommand.Body}", _out.ToString(), StringComparison.Ordinal);
        Assert.Empty(_runner.Runs);
    }

    [Fact]
    public async Task Forcing_a_backend_that_is_not_installed_says_what_to_install()
    {
        Assert.Equal(ExitCodes.ConfigurationError, await RunAsync(Context(), "test", "--notifier", "freedesktop"));
        Assert.Contains("notify-send is not installed (Debian/Ubuntu: apt install libnotify-bin", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_prints_messages_with_the_settings_from_the_command_line_and_stops_cleanly()
    {
        await using var server = await TestServer.StartAsync(ServerKind.Redis);
        using var stop = new CancellationTokenSource();
        var running = CliApp.RunAsync(["--host", "127.0.0.1", "--port", $"{server.Port}", "--channels", "alerts,ci/*", "--print", "--json"], Context(), stop.Token);
        await TaskTimeoutExtensions.WaitUntil(() => _err.ToString().Contains("connected to 127.0.0.1:", StringComparison.Ordinal), "connected: " + _err);

        await using (var publisher = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout())
        {
            await publisher.GetSubscriber().PublishAsync(RedisChannel.Literal("ci/build"), "green").WithTimeout();
        }

        await TaskTimeoutExtensions.WaitUntil(() => _out.ToString().Contains("\"message\":\"green\"", StringComparison.Ordinal), "the message on stdout");
        await stop.CancelAsync();
        Assert.Equal(0, await running.WithTimeout());
        Assert.Contains("\"channel\":\"ci/build\",\"pattern\":\"ci/*\"", _out.ToString(), StringComparison.Ordinal);
        Assert.Contains("stopped: 1 message(s) received, 0 dropped", _err.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("notistream:", _out.ToString(), StringComparison.Ordinal); // status lines stay on stderr
    }

    [Fact]
    public async Task Run_raises_desktop_notifications_through_the_backend()
    {
        await using var server = await TestServer.StartAsync(ServerKind.Redis);
        using var stop = new CancellationTokenSource();
        var running = CliApp.RunAsync(["--port", $"{server.Port}", "--host", "127.0.0.1", "--channels", "deploys"], Context(programs: "notify-send"), stop.Token);
        await TaskTimeoutExtensions.WaitUntil(() => _err.ToString().Contains("connected to", StringComparison.Ordinal), "connected: " + _err);

        await using (var publisher = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout())
        {
            await publisher.GetSubscriber().PublishAsync(RedisChannel.Literal("deploys"), """{"title":"Deployed","message":"api v2","priority":"high"}""").WithTimeout();
        }

        await TaskTimeoutExtensions.WaitUntil(() => _runner.Runs.Count == 1, "notify-send to run");
        await stop.CancelAsync();
        await running.WithTimeout();
        Assert.Equal(["--app-name=notistream", "--urgency=critical", "--category=im.received", "--", "Deployed", "api v2"], _runner.Runs[0].Arguments);
        Assert.Contains("notifications through freedesktop", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_publishes_and_says_how_many_received_it()
    {
        await using var server = await TestServer.StartAsync(ServerKind.Notistream);
        var config = SubscriptionTests.Config(server.Port, "alerts");
        var target = new RecordingTarget();
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        var worker = new Client.Subscriptions.SubscriptionWorker(config, target, observer).RunAsync(stop.Token);
        await TaskTimeoutExtensions.WaitUntil(() => observer.Count("connected") == 1, "subscriber connected");

        Assert.Equal(0, await RunAsync(Context(), "send", "--host", "127.0.0.1", "--port", $"{server.Port}", "alerts", "-u critical $(id)"));
        Assert.Contains($"sent to alerts on 127.0.0.1:{server.Port}: 1 subscriber(s) received it", _out.ToString(), StringComparison.Ordinal);
        await TaskTimeoutExtensions.WaitUntil(() => target.Messages.Count == 1, "the message");
        Assert.Equal("-u critical $(id)", target.Messages[0].Payload);
        await stop.CancelAsync();
        await worker.WithTimeout();
    }

    [Fact]
    public async Task Send_to_a_server_that_is_not_there_fails_with_the_reason()
    {
        Assert.Equal(ExitCodes.Failed, await RunAsync(Context(), "send", "--port", $"{FreePort.Next()}", "alerts", "hi"));
        Assert.Contains("cannot send to localhost:", _err.ToString(), StringComparison.Ordinal);
        Assert.Contains("no connection could be made", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_takes_host_port_and_channels_from_the_environment_without_a_config_file()
    {
        await using var server = await TestServer.StartAsync(ServerKind.Notistream);
        using var stop = new CancellationTokenSource();
        var context = ContextWith(new Dictionary<string, string>
        {
            ["NOTISTREAM_HOST"] = "127.0.0.1",
            ["NOTISTREAM_PORT"] = $"{server.Port}",
            ["NOTISTREAM_CHANNELS"] = "alerts,ci/*",
        });
        var running = CliApp.RunAsync(["--print"], context, stop.Token);
        await TaskTimeoutExtensions.WaitUntil(() => _err.ToString().Contains($"connected to 127.0.0.1:{server.Port}", StringComparison.Ordinal), "connected: " + _err);

        await using (var publisher = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout())
        {
            await publisher.GetSubscriber().PublishAsync(RedisChannel.Literal("ci/build"), "green").WithTimeout();
        }

        await TaskTimeoutExtensions.WaitUntil(() => _out.ToString().Contains("green", StringComparison.Ordinal), "the message on stdout");
        await stop.CancelAsync();
        Assert.Equal(0, await running.WithTimeout());
        Assert.False(File.Exists(ConfigFilePath));
    }

    [Fact]
    public async Task Send_takes_the_port_from_the_environment_and_the_command_line_wins_over_it()
    {
        await using var server = await TestServer.StartAsync(ServerKind.Notistream);

        Assert.Equal(0, await RunAsync(ContextWith(new Dictionary<string, string> { ["NOTISTREAM_PORT"] = $"{server.Port}" }), "send", "--host", "127.0.0.1", "alerts", "hi"));
        Assert.Contains($"sent to alerts on 127.0.0.1:{server.Port}", _out.ToString(), StringComparison.Ordinal);

        var elsewhere = FreePort.Next();
        Assert.Equal(0, await RunAsync(ContextWith(new Dictionary<string, string> { ["NOTISTREAM_PORT"] = $"{elsewhere}" }), "send", "--host", "127.0.0.1", "--port", $"{server.Port}", "alerts", "again"));
        Assert.DoesNotContain($"{elsewhere}", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_variable_is_a_configuration_error_naming_it()
    {
        Assert.Equal(ExitCodes.ConfigurationError, await RunAsync(ContextWith(new Dictionary<string, string> { ["NOTISTREAM_PORT"] = "six" }), "--channels", "a"));
        Assert.Contains("NOTISTREAM_PORT: the port must be a whole number from 1 to 65535", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_first_run_asks_only_what_the_environment_does_not_give_and_writes_no_variable_to_the_file()
    {
        await using var server = await TestServer.StartAsync(ServerKind.Notistream, null, "--requirepass", "env-secret");
        using var stop = new CancellationTokenSource();
        var context = ContextWith(
            new Dictionary<string, string> { ["NOTISTREAM_HOST"] = "127.0.0.1", ["NOTISTREAM_PORT"] = $"{server.Port}", ["NOTISTREAM_PASSWORD"] = "env-secret" },
            input: "alerts\n");
        var running = CliApp.RunAsync(["--print"], context, stop.Token);
        await TaskTimeoutExtensions.WaitUntil(() => _err.ToString().Contains($"connected to 127.0.0.1:{server.Port}", StringComparison.Ordinal), "connected: " + _out + _err);
        await stop.CancelAsync();
        Assert.Equal(0, await running.WithTimeout());

        var questions = _out.ToString();
        Assert.Contains("Channels (comma-separated", questions, StringComparison.Ordinal);
        Assert.DoesNotContain("Server host [", questions, StringComparison.Ordinal);
        Assert.DoesNotContain("Server port [", questions, StringComparison.Ordinal);
        Assert.DoesNotContain("Password (", questions, StringComparison.Ordinal);
        Assert.Contains($"The server at 127.0.0.1:{server.Port} answers.", questions, StringComparison.Ordinal);

        var saved = ConfigFile.Load(ConfigFilePath);
        Assert.Equal(("localhost", 6379, (string?)null), (saved.Host, saved.Port, saved.Password));
        Assert.Equal(["alerts"], saved.Channels.Select(c => c.Name));
        Assert.DoesNotContain("env-secret", await File.ReadAllTextAsync(ConfigFilePath), StringComparison.Ordinal);
    }
}
