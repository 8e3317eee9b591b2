using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Docs;

/// <summary>docs/metrics.md's config block and its server and dotnet-counters lines, run as the page shows them (see <see cref="DocShell"/>).</summary>
public sealed class MetricsCommandTests
{
    private const string Page = "docs/metrics.md";
    private const string PagePort = "9121";

    [Fact]
    public async Task The_config_block_serves_metrics_on_its_port()
    {
        using var folder = new TempDirectory();
        var port = FreePort.Next();
        var metricsPort = DocShell.OtherFreePort(port);
        var block = Assert.Single(DocPage.Blocks(Page, "conf"));
        Assert.Contains("metrics-port " + PagePort, block, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Join(folder.Path, "notistream.conf"), block.Replace(PagePort, DocShell.Port(metricsPort), StringComparison.Ordinal), TestContext.Current.CancellationToken);
        await using var server = DocShell.Start("notistream-server notistream.conf", folder.Path, port);
        await DocShell.WaitForPortAsync(server, metricsPort);
        await DocShell.WaitForPortAsync(server, port);

        Assert.Equal($"metrics-port\n{metricsPort}\n", await DocShell.RunAsync("redis-cli CONFIG GET metrics-port", folder.Path, port));
        Assert.Equal("metrics-bind\n127.0.0.1\n", await DocShell.RunAsync("redis-cli CONFIG GET metrics-bind", folder.Path, port));
        Assert.Contains("notistream_connections_accepted_total ", await ScrapeAsync(metricsPort), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_line_serves_metrics_that_count_a_publish()
    {
        using var folder = new TempDirectory();
        var port = FreePort.Next();
        var metricsPort = DocShell.OtherFreePort(port);
        var line = DocPage.Command(Page, "notistream-server --metrics-port");
        Assert.Equal("notistream-server --metrics-port " + PagePort + "\n", line);
        await using var server = DocShell.Start(line.Replace(PagePort, DocShell.Port(metricsPort), StringComparison.Ordinal), folder.Path, port);
        await DocShell.WaitForPortAsync(server, metricsPort);
        await DocShell.WaitForPortAsync(server, port);

        Assert.Equal("0\n", await DocShell.RunAsync("redis-cli PUBLISH alerts 'disk full'", folder.Path, port));
        Assert.Contains("\nnotistream_messages_published_total 1\n", await ScrapeAsync(metricsPort), StringComparison.Ordinal);
    }

    /// <summary>
    /// The install line with <c>--tool-path</c> in a temp folder for <c>--global</c>, and the server's monitor line
    /// with the test server's <c>--process-id</c> for <c>--name</c> (it runs as dotnet here, not as the single-file
    /// notistream-server) and a <c>--duration</c>: dotnet-counters attaches and shows the server's instruments.
    /// </summary>
    [Fact]
    public async Task The_dotnet_counters_lines_show_the_server_s_instruments()
    {
        using var folder = new TempDirectory();
        var port = FreePort.Next();
        var install = DocPage.Command(Page, "dotnet tool install");
        Assert.Equal("dotnet tool install --global dotnet-counters\n", install);
        var tools = Path.Join(folder.Path, "tools");
        await DocShell.RunAsync(install.Replace("--global", "--tool-path " + tools, StringComparison.Ordinal), folder.Path, port, timeout: TimeSpan.FromMinutes(3));

        await using var server = DocShell.Start("notistream-server", folder.Path, port);
        await DocShell.WaitForPortAsync(server, port);
        Assert.Equal("0\n", await DocShell.RunAsync("redis-cli PUBLISH alerts 'disk full'", folder.Path, port));
        var monitor = DocPage.Command(Page, "dotnet-counters monitor --name notistream-server ");
        var command = Path.Join(tools, "dotnet-counters") + monitor["dotnet-counters".Length..].TrimEnd()
            .Replace("--name notistream-server", "--process-id " + server.Id, StringComparison.Ordinal) + " --duration 00:00:00:04";
        var shown = await DocShell.RunAsync(command, folder.Path, port, timeout: TimeSpan.FromMinutes(1));

        Assert.Contains("[Notistream.Server]", shown, StringComparison.Ordinal);
        Assert.Matches(@"notistream\.messages\.published \(\{message\}\)\s+1\s", shown);
    }

    private static async Task<string> ScrapeAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), TestContext.Current.CancellationToken);
    }
}
