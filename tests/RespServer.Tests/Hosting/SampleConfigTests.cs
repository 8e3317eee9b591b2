using System.Text.RegularExpressions;
using Notistream.RespServer.Hosting;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Hosting;

/// <summary>config/notistream.conf, the sample that ships: it loads cleanly, says the true defaults, and names every directive.</summary>
public class SampleConfigTests
{
    private static string SamplePath => Path.Join(DocPage.Root, "config", "notistream.conf");

    [Fact]
    public void The_sample_loads_without_a_warning_and_its_settings_are_the_defaults()
    {
        var warnings = new List<string>();
        var options = ConfigLoader.Load([SamplePath], warnings);

        Assert.Empty(warnings);
        // dir ./ is the folder the server started in, which is also dir's default.
        Assert.Equal(ServerConfig.Snapshot(new RespServerOptions()), ServerConfig.Snapshot(options));
    }

    [Fact]
    public void Every_directive_CONFIG_GET_lists_is_in_the_sample()
    {
        var text = File.ReadAllText(SamplePath);
        var missing = ServerConfig.Snapshot(new RespServerOptions())
            .Select(pair => pair.Key)
            .Where(name => !Regex.IsMatch(text, $"^(# )?{Regex.Escape(name)} ", RegexOptions.Multiline))
            .ToList();

        Assert.True(missing.Count == 0, $"config/notistream.conf does not mention: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_example_commented_out_in_the_sample_is_a_valid_line()
    {
        // "# requirepass foobared" and the like: uncommented, each must load, so the examples stay true.
        var examples = File.ReadAllLines(SamplePath)
            .Select(line => Regex.Match(line, "^# ([a-z][a-z-]+ .+)$"))
            .Where(match => match.Success && !match.Groups[1].Value.Contains('<', StringComparison.Ordinal))
            .Select(match => match.Groups[1].Value)
            .Where(line => ServerConfig.Snapshot(new RespServerOptions()).Any(pair => line.StartsWith(pair.Key + " ", StringComparison.Ordinal))
                || line.StartsWith("user ", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(examples);
        foreach (var line in examples)
        {
            var options = new RespServerOptions();
            var parts = line.Split(' ', 2);
            var words = Regex.Matches(parts[1], "\"[^\"]*\"|\\S+").Select(m => m.Value.Trim('"')).ToArray();
            var reason = ServerConfig.ApplyDirective(options, parts[0], words, out _);
            Assert.True(reason is null, $"'{line}': {reason}");
        }
    }
}
