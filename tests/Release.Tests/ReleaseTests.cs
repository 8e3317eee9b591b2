using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Notistream.Testing;

namespace Notistream.Release.Tests;

/// <summary>
/// The release as a user gets it: <c>scripts/release.sh</c> for this machine's RID, the archive
/// unpacked, and the programs run with no .NET SDK or runtime to be found (<see cref="WithoutSdk"/>).
/// </summary>
public sealed partial class ReleaseTests(ReleaseBuild release) : IDisposable
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(60);

    private readonly string _home = Directory.CreateTempSubdirectory("notistream-release-home-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task The_script_explains_itself_and_refuses_an_unknown_rid_before_building()
    {
        var bash = ExternalProgram.Require("bash", "apt-get install bash");
        var root = Notistream.Testing.DocPage.Root;
        var script = Path.Combine(root, "scripts", "release.sh");

        var help = await ReleaseBuild.RunAsync(bash, [script, "--help"], root, _ => { }, Start);
        Assert.True(help.ExitCode == 0, help.Output);
        Assert.All(["--rid RID", "--output DIR", "--containers", "linux-x64", "linux-arm64", "osx-arm64", "win-x64"],
            text => Assert.Contains(text, help.Output, StringComparison.Ordinal));

        var wrong = await ReleaseBuild.RunAsync(bash, [script, "--rid", "linux-x86"], root, _ => { }, Start);
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("unsupported RID 'linux-x86'", wrong.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_script_writes_one_file_per_program_an_archive_and_the_tool_package()
    {
        var published = await release.GetAsync();

        string[] programs = ["notistream", "notistream-gateway", "notistream-server"];
        Assert.Equal(programs, Directory.GetFileSystemEntries(Path.Combine(published.Output, published.Rid)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(programs, Directory.GetFileSystemEntries(published.Installed).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(Path.Combine(published.Output, $"notistream-{published.Rid}.tar.gz")));
        var package = Assert.Single(Directory.GetFiles(Path.Combine(published.Output, "nupkg")));
        Assert.Matches(@"^notistream\.\d+\.\d+\.\d+.*\.nupkg$", Path.GetFileName(package));
    }

    [Fact]
    public async Task The_three_programs_tell_the_same_version_without_dotnet()
    {
        var published = await release.GetAsync();

        var versions = new List<string>();
        foreach (var program in new[] { "notistream-server", "notistream-gateway", "notistream" })
        {
            await using var run = WithoutSdk.Start(published.Program(program), ["--version"], _home);
            Assert.True(await run.WaitForExitAsync(Start) == 0, $"{program} --version:\n{run.AllOutput}");
            var first = run.StandardOutput.Split('\n')[0].Trim();
            Assert.Matches($@"^{program} \d+\.\d+\.\d+", first);
            versions.Add(first[(program.Length + 1)..]);
        }

        Assert.Single(versions.Distinct());
    }

    [Fact]
    public async Task A_form_post_to_the_gateway_reaches_the_client_all_three_without_dotnet()
    {
        var published = await release.GetAsync();

        await using var server = WithoutSdk.Start(published.Program("notistream-server"), ["--port", "0", "--bind", "127.0.0.1"], _home);
        await server.WaitForOutputAsync("Ready to accept connections tcp: port ", Start);
        var serverPort = int.Parse(ServerPort().Match(server.AllOutput).Groups[1].Value, CultureInfo.InvariantCulture);

        await using var gateway = WithoutSdk.Start(published.Program("notistream-gateway"),
            ["--server", $"127.0.0.1:{serverPort}", "--urls", "http://127.0.0.1:0"], _home);
        await gateway.WaitForOutputAsync("Now listening on: http://127.0.0.1:", Start);
        var web = new Uri(GatewayUrl().Match(gateway.AllOutput).Groups[1].Value);
        using var http = new HttpClient { BaseAddress = web, Timeout = TimeSpan.FromSeconds(10) };
        await TaskTimeoutExtensions.WaitUntil(() => IsReady(http), $"the gateway to be ready at {web}/readyz:\n{gateway.AllOutput}", Start);

        await using var client = WithoutSdk.Start(published.Program("notistream"),
            ["--host", "127.0.0.1", "--port", $"{serverPort}", "--channels", "owner/*", "--print", "--json"], _home);
        await client.WaitForOutputAsync($"connected to 127.0.0.1:{serverPort}", Start);

        using var form = new FormUrlEncodedContent([KeyValuePair.Create("channel", "owner/repo"), KeyValuePair.Create("message", "Deploy of api v2 finished")]);
        using var response = await http.PostAsync("/", form, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"gateway answered {response.StatusCode}: {await response.Content.ReadAsStringAsync(Ct)}\n{gateway.AllOutput}");

        await TaskTimeoutExtensions.WaitUntil(() => client.StandardOutput.Contains('\n'), $"the message on the client's stdout:\n{client.AllOutput}");
        using var line = JsonDocument.Parse(client.StandardOutput.Split('\n')[0]);
        Assert.Equal("message", line.RootElement.GetProperty("event").GetString());
        Assert.Equal("owner/repo", line.RootElement.GetProperty("channel").GetString());
        Assert.Equal("owner/*", line.RootElement.GetProperty("pattern").GetString());
        Assert.Equal("Deploy of api v2 finished", line.RootElement.GetProperty("message").GetString());

        server.AssertRunsOnItsOwnRuntime();
        gateway.AssertRunsOnItsOwnRuntime();
        client.AssertRunsOnItsOwnRuntime();
    }

    [Fact]
    public async Task The_client_package_installs_as_a_global_dotnet_tool_and_runs()
    {
        var published = await release.GetAsync();
        var nupkg = Path.Combine(published.Output, "nupkg");

        // docs/install.md: dotnet tool install --global --add-source artifacts/release/nupkg notistream
        // (here with HOME in a temp folder, so ~/.dotnet/tools is the test's own).
        var install = await ReleaseBuild.RunAsync(ReleaseBuild.DotNet, ["tool", "install", "--global", "--add-source", nupkg, "notistream"], _home,
            environment =>
            {
                environment["HOME"] = _home;
                environment["DOTNET_CLI_HOME"] = _home;
                environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
                environment["DOTNET_NOLOGO"] = "1";
            }, TimeSpan.FromMinutes(3));
        Assert.True(install.ExitCode == 0, $"dotnet tool install exited with {install.ExitCode}:\n{install.Output}");

        var tool = Path.Combine(_home, ".dotnet", "tools", "notistream");
        Assert.True(File.Exists(tool), $"{tool} is missing:\n{install.Output}");
        var version = await ReleaseBuild.RunAsync(tool, ["--version"], _home, environment => environment["HOME"] = _home, Start);
        Assert.True(version.ExitCode == 0, $"notistream --version (the tool):\n{version.Output}");
        Assert.Matches(@"\d+\.\d+\.\d+", version.Output);
    }

    private static bool IsReady(HttpClient http)
    {
        try
        {
            using var response = http.GetAsync(new Uri("/readyz", UriKind.Relative)).GetAwaiter().GetResult();
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"Ready to accept connections tcp: port (\d+)")]
    private static partial Regex ServerPort();

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex GatewayUrl();
}
