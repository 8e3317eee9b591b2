using System.Text.RegularExpressions;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.EndToEnd;

/// <summary>The server, the gateway and the client are one release: <c>--version</c> says so, in one shape.</summary>
public sealed partial class VersionTests
{
    [Fact]
    public async Task Version_is_the_same_line_in_all_three_programs()
    {
        var server = await RunAsync([ChildProcess.DotNet, "exec", "--runtimeconfig", ServerChildProcess.RuntimeConfig(), Dll("notistream-server"), "--version"]);
        var gateway = await RunAsync([ChildProcess.DotNet, Dll("notistream-gateway"), "--version"]);
        var client = await RunAsync([ChildProcess.DotNet, Dll("notistream"), "--version"]);

        var serverLines = server.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var versions = new[] { ("notistream-server", serverLines[0]), ("notistream-gateway", gateway.TrimEnd('\n')), ("notistream", client.TrimEnd('\n')) }
            .Select(program =>
            {
                var match = VersionLine().Match(program.Item2);
                Assert.True(match.Success && match.Groups["name"].Value == program.Item1, $"{program.Item1} --version printed '{program.Item2}'");
                return match.Groups["version"].Value;
            })
            .ToArray();

        Assert.Equal(versions[0], versions[1]);
        Assert.Equal(versions[0], versions[2]);
        Assert.StartsWith(typeof(VersionTests).Assembly.GetName().Version!.ToString(3), versions[0], StringComparison.Ordinal);

        // The server's second line keeps redis-server's own shape, for tools that read v= from it.
        Assert.Equal(2, serverLines.Length);
        Assert.Matches(@"^Redis server v=7\.0\.15 sha=[0-9a-f]{8}:0 malloc=libc bits=64 build=0$", serverLines[1]);
    }

    [GeneratedRegex(@"^(?<name>notistream(-server|-gateway)?) (?<version>\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9a-f]{7})?)$")]
    private static partial Regex VersionLine();

    private static string Dll(string name) => Path.Join(AppContext.BaseDirectory, name + ".dll");

    private static async Task<string> RunAsync(string[] command)
    {
        await using var process = ChildProcess.Start(command[0], command[1..], new Dictionary<string, string?>());
        var exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, $"{string.Join(' ', command)} exited with {exit}:\n{process.AllOutput}");
        return process.StandardOutput.Replace("\r\n", "\n", StringComparison.Ordinal);
    }
}
