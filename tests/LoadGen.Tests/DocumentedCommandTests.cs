using System.Diagnostics;
using System.Text.RegularExpressions;
using Notistream.Testing;

namespace Notistream.LoadGen.Tests;

/// <summary>
/// docs/performance.md's commands, read from the page. Its measurements take minutes and are run by
/// hand; here each load generator line is parsed as the generator parses it, the options it uses are
/// ones <c>--help</c> lists, one line runs with its duration cut short and <c>--smoke</c> sizes, and
/// every option of the <c>compare.sh</c> lines is one its <c>--help</c> lists.
/// </summary>
public sealed partial class DocumentedCommandTests
{
    private const string Page = "docs/performance.md";
    private const string LoadGenDll = "benchmarks/Notistream.LoadGen/bin/Release/net10.0/notistream-loadgen.dll";

    private static string[] LoadGenLines() =>
        [.. DocPage.Blocks(Page, "sh").SelectMany(Commands).Where(c => c.StartsWith("dotnet " + LoadGenDll, StringComparison.Ordinal))];

    [Fact]
    public async Task Every_notistream_loadgen_line_parses_and_uses_only_options_help_lists()
    {
        var help = await RunCliAsync(["--help"]);
        Assert.Equal(0, help.Exit);
        var lines = LoadGenLines();
        Assert.Equal(6, lines.Length);
        foreach (var line in lines)
        {
            var args = Arguments(line[("dotnet " + LoadGenDll).Length..]);
            if (args.Contains("--help"))
            {
                Assert.Equal(0, (await RunCliAsync(args)).Exit);
            }

            foreach (var option in args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a != "--help"))
            {
                Assert.True(help.Out.Contains(option, StringComparison.Ordinal), $"{line}: notistream-loadgen --help does not list {option}");
            }

            if (!args.Contains("--help") && !args.Contains("--core-latency"))
            {
                Cli.Parse(args); // throws UsageException on anything it does not accept
            }
        }

        Assert.Contains(lines, l => l.Contains("--core-latency", StringComparison.Ordinal));
        var sse = Assert.Single(lines, l => l.Contains("--scenario sse", StringComparison.Ordinal));
        var (options, _) = Cli.Parse(Arguments(sse[("dotnet " + LoadGenDll).Length..]));
        Assert.Equal(["sse"], options.Scenarios);
        Assert.NotNull(options.GatewayUrl);
        Assert.NotNull(options.GatewayPid);
        var cross = Assert.Single(lines, l => l.Contains("--publish-port", StringComparison.Ordinal));
        (options, _) = Cli.Parse(Arguments(cross[("dotnet " + LoadGenDll).Length..]));
        Assert.True(options.CrossNode);
        Assert.Equal(2, options.OtherServerPids.Count);
        Assert.Equal(3, options.NatsPids.Count);
        var latency = await RunCliAsync(["--core-latency"]);
        Assert.True(latency.Exit == 0, latency.Out);
    }

    [Fact]
    public async Task The_json_line_runs_with_smoke_sizes_and_a_short_duration()
    {
        var line = Assert.Single(LoadGenLines(), l => l.Contains("--json results.json", StringComparison.Ordinal));
        await using var server = await NotistreamServer.StartAsync();
        var folder = Directory.CreateTempSubdirectory("notistream-loadgen-doc-").FullName;
        try
        {
            var args = Arguments(line[("dotnet " + LoadGenDll).Length..])
                .Select(a => a == "6379" ? server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : a == "10" ? "0.5" : a == "results.json" ? Path.Join(folder, a) : a)
                .Append("--smoke")
                .ToArray();

            var run = await RunCliAsync(args);

            Assert.True(run.Exit == 0, run.Out);
            var json = await File.ReadAllTextAsync(Path.Join(folder, "results.json"), TestContext.Current.CancellationToken);
            Assert.Contains("fanout N=1", json, StringComparison.Ordinal);
            Assert.Contains("latency", json, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Every_compare_sh_line_uses_only_options_its_help_lists()
    {
        var lines = DocPage.Blocks(Page, "sh").SelectMany(Commands).Where(c => c.StartsWith("benchmarks/compare.sh", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, lines.Length);

        // The command lines the page quotes for its measurements too.
        await AssertOptionsListedAsync("benchmarks/compare.sh", lines.Concat(QuotedCompareLines().Matches(DocPage.Read(Page)).Select(m => m.Groups[1].Value)));
    }

    /// <summary>The sse-fanout.sh lines of the page, in blocks and quoted with its measurements.</summary>
    [Fact]
    public async Task Every_sse_fanout_sh_line_uses_only_options_its_help_lists()
    {
        var lines = DocPage.Blocks(Page, "sh").SelectMany(Commands).Where(c => c.StartsWith("benchmarks/sse-fanout.sh", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, lines.Length);
        var quoted = QuotedSseFanoutLines().Matches(DocPage.Read(Page)).Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(quoted);
        await AssertOptionsListedAsync("benchmarks/sse-fanout.sh", lines.Concat(quoted));
    }

    /// <summary>The cluster-fanout.sh lines of the page, in blocks and quoted with its measurements.</summary>
    [Fact]
    public async Task Every_cluster_fanout_sh_line_uses_only_options_its_help_lists()
    {
        var lines = DocPage.Blocks(Page, "sh").SelectMany(Commands).Where(c => c.StartsWith("benchmarks/cluster-fanout.sh", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, lines.Length);
        var quoted = QuotedClusterFanoutLines().Matches(DocPage.Read(Page)).Select(m => m.Groups[1].Value).ToArray();
        Assert.NotEmpty(quoted);
        await AssertOptionsListedAsync("benchmarks/cluster-fanout.sh", lines.Concat(quoted));
    }

    /// <summary>docs/metrics.md's measurement lines.</summary>
    [Fact]
    public async Task Every_metrics_overhead_sh_line_uses_only_options_its_help_lists()
    {
        var lines = DocPage.Blocks("docs/metrics.md", "sh").SelectMany(Commands).Where(c => c.StartsWith("benchmarks/metrics-overhead.sh", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, lines.Length);
        await AssertOptionsListedAsync("benchmarks/metrics-overhead.sh", lines);
    }

    /// <summary>Each option of <paramref name="lines"/> is one <paramref name="script"/>'s --help lists, or after <c>--</c>, one the load generator's does.</summary>
    private static async Task AssertOptionsListedAsync(string script, IEnumerable<string> lines)
    {
        var bash = ExternalProgram.Require("bash", "apt-get install bash");
        var info = new ProcessStartInfo(bash) { WorkingDirectory = DocPage.Root, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add("--help");
        using var process = Process.Start(info)!;
        var help = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, process.ExitCode);
        var loadGenHelp = (await RunCliAsync(["--help"])).Out;

        foreach (var line in lines)
        {
            var args = Arguments(line[script.Length..]);
            var afterDashes = Array.IndexOf(args, "--");
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i].StartsWith("--", StringComparison.Ordinal) && args[i] != "--")
                {
                    var listedBy = afterDashes >= 0 && i > afterDashes ? loadGenHelp : help;
                    Assert.True(listedBy.Contains(args[i], StringComparison.Ordinal), $"{line}: {args[i]} is not an option --help lists");
                }
            }
        }
    }

    [Fact]
    public void The_BenchmarkDotNet_line_names_a_project_that_passes_its_arguments_to_BenchmarkSwitcher()
    {
        var line = Assert.Single(DocPage.Blocks(Page, "sh").SelectMany(Commands), c => c.Contains("Notistream.Benchmarks", StringComparison.Ordinal));
        Assert.Equal("dotnet run -c Release --project benchmarks/Notistream.Benchmarks -- --filter '*'", line);
        Assert.Contains("BenchmarkSwitcher.FromAssembly(", File.ReadAllText(Path.Join(DocPage.Root, "benchmarks/Notistream.Benchmarks/Program.cs")), StringComparison.Ordinal);
        Assert.Contains(".Run(args)", File.ReadAllText(Path.Join(DocPage.Root, "benchmarks/Notistream.Benchmarks/Program.cs")), StringComparison.Ordinal);
    }

    /// <summary>The commands of a block: continued lines joined, comments dropped.</summary>
    private static IEnumerable<string> Commands(string block)
    {
        var command = "";
        foreach (var line in block.Split('\n'))
        {
            var text = DocPage.WithoutComment(line);
            if (text.EndsWith('\\'))
            {
                command += text[..^1] + " ";
                continue;
            }

            command += text;
            if (command.Trim().Length > 0)
            {
                yield return Regex.Replace(command.Trim(), @"\s+", " ");
            }

            command = "";
        }
    }

    /// <summary>Words as the shell splits them here (no quotes with spaces in these lines); quotes removed.</summary>
    private static string[] Arguments(string text) => [.. text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a.Trim('\'', '"'))];

    private static async Task<(int Exit, string Out)> RunCliAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await Cli.RunAsync(args, stdout, stderr);
        return (exit, stdout + stderr.ToString());
    }

    [GeneratedRegex(@"`(benchmarks/compare\.sh[^`]*)`")]
    private static partial Regex QuotedCompareLines();

    [GeneratedRegex(@"`(benchmarks/sse-fanout\.sh[^`]*)`")]
    private static partial Regex QuotedSseFanoutLines();

    [GeneratedRegex(@"`(benchmarks/cluster-fanout\.sh[^`]*)`")]
    private static partial Regex QuotedClusterFanoutLines();
}
