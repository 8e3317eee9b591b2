using System.Collections.Concurrent;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.Docs;

/// <summary>
/// The documented commands that build from the source with the SDK (<c>dotnet run</c>, <c>dotnet pack</c>,
/// <c>dotnet tool install</c>), run as the pages show them in the repository (see <see cref="DocShell"/>).
/// One class, so its builds run one after another.
/// </summary>
public sealed class BuildCommandTests
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task Configuration_dotnet_run_Release_line_starts_the_server_with_its_password()
    {
        var port = FreePort.Next();
        var line = DocPage.Command("docs/configuration.md", "dotnet run -c Release --project src/RespServer").Replace("6380", DocShell.Port(port), StringComparison.Ordinal);
        await using var server = DocShell.Start(line, DocPage.Root, port);
        await DocShell.WaitForPortAsync(server, port, BuildTimeout);

        Assert.Equal("PONG\n", await DocShell.RunAsync("redis-cli -a s3cret PING", DocPage.Root, port));
        Assert.StartsWith("NOAUTH", await DocShell.RunAsync("redis-cli PING", DocPage.Root, port), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dotnet_run_client_lines_ask_the_first_run_questions_and_send()
    {
        var readme = DocPage.Command("README.md", "dotnet run --project src/NotiClient -- send");
        Assert.Equal(readme, DocPage.Command("docs/client.md", "dotnet run --project src/NotiClient -- send"));
        var firstRun = DocPage.Command("README.md", "dotnet run --project src/NotiClient\n");
        Assert.Equal(firstRun, DocPage.Command("docs/client.md", "dotnet run --project src/NotiClient\n"));
        await using var server = await NotistreamServer.StartAsync();
        using var home = new TempDirectory();
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = home.Path,
            ["XDG_CONFIG_HOME"] = home.File("config"),
            ["XDG_STATE_HOME"] = home.File("state"),
            ["NOTISTREAM_HOST"] = "127.0.0.1",
            ["NOTISTREAM_PORT"] = DocShell.Port(server.Port),
        };
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout();
        var received = new ConcurrentQueue<string>();
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal("alerts"), (_, message) => received.Enqueue(message!)).WithTimeout();

        var sent = await DocShell.RunAsync(readme, DocPage.Root, server.Port, environment, BuildTimeout);

        Assert.Contains("1 subscriber(s) received it", sent, StringComparison.Ordinal);
        Assert.Equal(["hello"], received);

        // The first run in a terminal asks: host, port, ... (the server's address comes from nowhere else).
        environment.Remove("NOTISTREAM_HOST");
        environment["NOTISTREAM_PORT"] = null;
        await using var terminal = PseudoTerminal.Start(ExternalProgram.Require("bash", "apt-get install bash"), ["-c", $"cd '{DocPage.Root}' && {firstRun}"], environment);
        await terminal.ExpectAsync("No configuration yet", BuildTimeout);
        await terminal.ExpectAsync("Server host [localhost]: ");
    }

    [Fact]
    public async Task Client_pack_and_global_tool_install_lines_install_a_notistream_that_runs()
    {
        using var packages = new TempDirectory();
        using var home = new TempDirectory();
        const string feed = "./artifacts/nupkg";
        var pack = DocPage.Command("docs/client.md", "dotnet pack src/NotiClient");
        var install = DocPage.Command("docs/client.md", "dotnet tool install --global notistream");
        Assert.Contains(feed, pack, StringComparison.Ordinal);
        Assert.Contains(feed, install, StringComparison.Ordinal);

        await DocShell.RunAsync(pack.Replace(feed, packages.Path, StringComparison.Ordinal), DocPage.Root, 6379, timeout: BuildTimeout);
        Assert.Single(Directory.GetFiles(packages.Path, "notistream.*.nupkg"));

        // --global installs into ~/.dotnet/tools: with HOME a temp folder, the machine's own tools stay as they are.
        var environment = new Dictionary<string, string?>
        {
            ["HOME"] = home.Path,
            ["DOTNET_CLI_HOME"] = null,
            ["NUGET_PACKAGES"] = null,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        await DocShell.RunAsync(install.Replace(feed, packages.Path, StringComparison.Ordinal), DocPage.Root, 6379, environment, BuildTimeout);

        var version = await DocShell.RunAsync($"'{home.Path}/.dotnet/tools/notistream' --version", home.Path, 6379, environment);
        Assert.StartsWith("notistream 0.", version, StringComparison.Ordinal);
    }
}
