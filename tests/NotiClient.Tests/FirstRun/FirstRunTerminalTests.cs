using System.Text.Json;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.FirstRun;

/// <summary>The first run as a person meets it: a terminal, no config, three questions, typos included.</summary>
public sealed class FirstRunTerminalTests
{
    [Fact]
    public async Task Questions_catch_a_wrong_port_let_it_be_corrected_then_save_and_run()
    {
        await using var server = await TestServer.StartAsync(ServerKind.Redis);
        var nothingThere = FreePort.Next();
        using var home = new TempDirectory();
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = home.Path,
            ["XDG_CONFIG_HOME"] = home.File("config"),
            ["DBUS_SESSION_BUS_ADDRESS"] = null, // no desktop here: notifications come on the terminal
            ["DISPLAY"] = null,
            ["WAYLAND_DISPLAY"] = null,
        };
        var configFile = home.File("config/notistream/config.json");

        await using var terminal = PseudoTerminal.Start(ChildProcess.DotNet, [ChildProcess.ClientAssembly], environment);
        await terminal.ExpectAsync("No configuration yet");
        await terminal.ExpectAsync("Server host [localhost]: ");
        await terminal.TypeLineAsync("127.0.0.1");
        await terminal.ExpectAsync("Server port [6379]: ");
        await terminal.TypeLineAsync("70000");
        await terminal.ExpectAsync("The port must be a whole number from 1 to 65535 (got '70000').");
        await terminal.ExpectAsync("Server port [6379]: ");
        await terminal.TypeLineAsync($"{nothingThere}"); // a valid number, but nothing listens there
        await terminal.ExpectAsync("Channels (comma-separated; * ? [ ] make a pattern): ");
        await terminal.TypeLineAsync("alerts, ci/*");
        await terminal.ExpectAsync("Password (Enter if the server has none): ");
        await terminal.TypeLineAsync(string.Empty);
        await terminal.ExpectAsync($"Could not use 127.0.0.1:{nothingThere}: no connection could be made");
        await terminal.ExpectAsync("Change the answers? [Y/n]: ");
        await terminal.TypeLineAsync(string.Empty);

        // The second round offers the first answers as defaults: only the port needs typing.
        await terminal.ExpectAsync("Server host [127.0.0.1]: ");
        await terminal.TypeLineAsync(string.Empty);
        await terminal.ExpectAsync($"Server port [{nothingThere}]: ");
        await terminal.TypeLineAsync($"{server.Port}");
        await terminal.ExpectAsync("Channels (comma-separated; * ? [ ] make a pattern) [alerts, ci/*]: ");
        await terminal.TypeLineAsync(string.Empty);
        await terminal.ExpectAsync("Password (Enter if the server has none): ");
        await terminal.TypeLineAsync(string.Empty);
        await terminal.ExpectAsync($"The server at 127.0.0.1:{server.Port} answers.");
        await terminal.ExpectAsync($"Saved to {configFile}");

        // Straight on to running, without a restart.
        await terminal.ExpectAsync("showing notifications on the console");
        await terminal.ExpectAsync($"connected to 127.0.0.1:{server.Port}, subscribed to channels alerts; patterns ci/*");
        await using (var publisher = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout())
        {
            Assert.Equal(1, await publisher.GetSubscriber().PublishAsync(RedisChannel.Literal("ci/deploy"), "shipped").WithTimeout());
        }

        await terminal.ExpectAsync("ci/deploy: shipped");
        await terminal.PressControlCAsync();
        await terminal.ExpectAsync("stopped: 1 message(s) received, 1 notification(s) shown");
        Assert.Equal(0, await terminal.WaitForExitAsync());

        using var saved = JsonDocument.Parse(await File.ReadAllTextAsync(configFile));
        Assert.Equal("127.0.0.1", saved.RootElement.GetProperty("host").GetString());
        Assert.Equal(server.Port, saved.RootElement.GetProperty("port").GetInt32());
        Assert.Equal(["alerts", "ci/*"], saved.RootElement.GetProperty("channels").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(JsonValueKind.Null, saved.RootElement.GetProperty("password").ValueKind);
    }

    [Fact]
    public async Task The_password_is_not_echoed_and_is_saved()
    {
        await using var server = await TestServer.StartAsync(ServerKind.Redis, null, "--requirepass", "hunter2");
        using var home = new TempDirectory();
        var environment = new Dictionary<string, string?> { ["HOME"] = home.Path, ["XDG_CONFIG_HOME"] = home.File("config") };

        await using var terminal = PseudoTerminal.Start(ChildProcess.DotNet, [ChildProcess.ClientAssembly, "setup"], environment);
        await terminal.ExpectAsync("Server host [localhost]: ");
        await terminal.TypeLineAsync("127.0.0.1");
        await terminal.ExpectAsync("Server port [6379]: ");
        await terminal.TypeLineAsync($"{server.Port}");
        await terminal.ExpectAsync("Channels (comma-separated; * ? [ ] make a pattern): ");
        await terminal.TypeLineAsync("alerts");
        await terminal.ExpectAsync("Password (Enter if the server has none): ");
        await terminal.TypeLineAsync("hunter2");
        await terminal.ExpectAsync("answers.");
        await terminal.ExpectAsync("Saved to ");
        Assert.Equal(0, await terminal.WaitForExitAsync());

        Assert.DoesNotContain("hunter2", terminal.Screen, StringComparison.Ordinal);
        using var saved = JsonDocument.Parse(await File.ReadAllTextAsync(home.File("config/notistream/config.json")));
        Assert.Equal("hunter2", saved.RootElement.GetProperty("password").GetString());
    }

    [Fact]
    public async Task Without_a_terminal_and_without_a_config_it_says_how_to_configure()
    {
        using var home = new TempDirectory();
        await using var client = ChildProcess.StartClient([], new Dictionary<string, string?> { ["HOME"] = home.Path, ["XDG_CONFIG_HOME"] = home.Path }, redirectInput: true);
        client.StandardInput.Close();

        Assert.Equal(2, await client.WaitForExitAsync());
        Assert.Contains($"not configured: {home.Path}/notistream/config.json does not exist, and there is no terminal", client.StandardError, StringComparison.Ordinal);
        Assert.Contains("notistream setup", client.StandardError, StringComparison.Ordinal);
    }
}
