using System.Xml.Linq;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Docs;

/// <summary>docs/configuration.md's and docs/persistence.md's lines that start the built server (see <see cref="DocShell"/>).</summary>
public sealed class ServerCommandTests
{
    [Fact]
    public async Task Configuration_line_with_the_sample_config_file_and_verbose_log()
    {
        var port = FreePort.Next();
        var line = DocPage.Command("docs/configuration.md", "dotnet " + DocShell.ServerDll + " config/notistream.conf");
        Assert.DoesNotContain("--port", line, StringComparison.Ordinal);
        await using var server = DocShell.Start(line, DocPage.Root, port);
        await DocShell.WaitForPortAsync(server, port);

        Assert.Equal("PONG\n", await DocShell.RunAsync("redis-cli PING", DocPage.Root, port));
        Assert.Equal("loglevel\nverbose\n", await DocShell.RunAsync("redis-cli CONFIG GET loglevel", DocPage.Root, port));
    }

    [Fact]
    public async Task Persistence_line_keeps_history_in_the_append_only_file_in_dir()
    {
        using var dir = new TempDirectory();
        var port = FreePort.Next();
        var line = DocPage.Command("docs/persistence.md", "dotnet " + DocShell.ServerDll + " --appendonly yes").Replace("/var/lib/notistream", dir.Path, StringComparison.Ordinal);
        Assert.Contains(dir.Path, line, StringComparison.Ordinal);
        await using (var server = DocShell.Start(line, dir.Path, port))
        {
            await DocShell.WaitForPortAsync(server, port);
            Assert.Equal("0\n", await DocShell.RunAsync("redis-cli PUBLISH alerts 'disk full'", dir.Path, port));
            server.Terminate();
            await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.True(File.Exists(Path.Join(dir.Path, "appendonlydir", "appendonly.aof.manifest")), "no manifest in the --dir folder");
        await using var again = DocShell.Start(line, dir.Path, port);
        await DocShell.WaitForPortAsync(again, port);
        Assert.Matches(@"^\d+-\d+\nmessage\ndisk full\n$", await DocShell.RunAsync("redis-cli XRANGE alerts - +", dir.Path, port));
    }

    /// <summary>The pages name the Release outputs (what ./startserver.sh and dotnet build -c Release make); the tests run this build's, so the names must match.</summary>
    [Theory]
    [InlineData("src/RespServer/RespServer.csproj", DocShell.ServerDll)]
    [InlineData("src/WebhookGateway/WebhookGateway.csproj", DocShell.GatewayDll)]
    public void The_dll_paths_the_pages_name_are_the_Release_build_outputs(string project, string dll)
    {
        var assembly = XDocument.Load(Path.Join(DocPage.Root, project)).Descendants("AssemblyName").Single().Value;
        var framework = XDocument.Load(Path.Join(DocPage.Root, "Directory.Build.props")).Descendants("TargetFramework").Single().Value;
        Assert.Equal($"{Path.GetDirectoryName(project)!.Replace('\\', '/')}/bin/Release/{framework}/{assembly}.dll", dll);
        Assert.True(File.Exists(Path.Join(AppContext.BaseDirectory, assembly + ".dll")), $"{assembly}.dll is not built next to the tests");
        Assert.Contains($"src/{Path.GetFileName(Path.GetDirectoryName(project))}/bin/$config/{framework}/{assembly}.dll", File.ReadAllText(Path.Join(DocPage.Root, "startserver.sh")), StringComparison.Ordinal);
    }
}
