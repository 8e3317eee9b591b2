using System.Text.RegularExpressions;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Docs;

/// <summary>
/// docs/testing.md's long fuzz runs are run by hand (ten minutes each); the suite runs the same fuzz
/// tests for a few seconds. Checked here: each line names a test project that exists, its filter
/// selects fuzz test classes of that project, and those tests read the variables the line sets.
/// </summary>
public sealed partial class FuzzCommandTests
{
    [Fact]
    public void Every_fuzz_line_names_a_project_a_filter_and_variables_its_fuzz_tests_read()
    {
        var lines = DocPage.Blocks("docs/testing.md", "sh").SelectMany(b => b.Split('\n')).Where(l => l.StartsWith("NOTISTREAM_FUZZ_", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, lines.Length);
        foreach (var line in lines)
        {
            var match = FuzzLine().Match(DocPage.WithoutComment(line));
            Assert.True(match.Success, $"not a fuzz line of the expected shape: {line}");
            var project = Path.Join(DocPage.Root, match.Groups["project"].Value);
            Assert.True(Directory.Exists(project), $"{line}: no project folder {match.Groups["project"].Value}");
            var sources = Directory.GetFiles(project, "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Select(File.ReadAllText)
                .ToArray();
            var selected = sources.Where(s => Namespace(s) is { } ns && ClassNames(s).Any(c => $"{ns}.{c}".Contains(match.Groups["filter"].Value, StringComparison.Ordinal))).ToArray();
            Assert.True(selected.Any(s => s.Contains("[Fact", StringComparison.Ordinal) || s.Contains("[Theory", StringComparison.Ordinal)), $"{line}: the filter selects no test class");
            var variable = match.Groups["variable"].Value;
            Assert.True(sources.Any(s => s.Contains($"GetEnvironmentVariable(\"{variable}\")", StringComparison.Ordinal)), $"{line}: no test of the project reads {variable}");
        }
    }

    private static string? Namespace(string source) => NamespacePattern().Match(source) is { Success: true } m ? m.Groups[1].Value : null;

    private static IEnumerable<string> ClassNames(string source) => ClassPattern().Matches(source).Select(m => m.Groups[1].Value);

    [GeneratedRegex(@"^(?<variable>NOTISTREAM_FUZZ_[A-Z]+)=\d+ dotnet test (?<project>tests/[A-Za-z.]+) --filter 'FullyQualifiedName~(?<filter>[A-Za-z.]+)'$")]
    private static partial Regex FuzzLine();

    [GeneratedRegex(@"^namespace ([A-Za-z.]+)", RegexOptions.Multiline)]
    private static partial Regex NamespacePattern();

    [GeneratedRegex(@"\bclass ([A-Za-z]+)")]
    private static partial Regex ClassPattern();
}
