using System.Text;
using System.Text.RegularExpressions;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Docs;

/// <summary>
/// README.md and docs/*.md link to each other and to files of the repository: every relative link
/// must name a file or folder that exists, and every <c>#anchor</c> a heading of the page it points to
/// (anchors as GitHub makes them from headings). Links to web addresses are not followed.
/// </summary>
public sealed partial class DocumentationLinkTests
{
    /// <summary>Pages README links to that are written alongside and may not be in this tree yet; once present they are checked like any other.</summary>
    private static readonly HashSet<string> PendingPages = [];

    private static readonly string Root = DocPage.Root;

    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string> { "README.md" };
        foreach (var path in Directory.GetFiles(Path.Join(Root, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            pages.Add("docs/" + Path.GetFileName(path));
        }

        return pages;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_relative_link_and_anchor_resolves(string page)
    {
        var text = File.ReadAllText(Path.Join(Root, page));
        var broken = new List<string>();
        foreach (Match link in LinkPattern().Matches(WithoutCode(text)))
        {
            var target = link.Groups[1].Value;
            if (SchemePattern().IsMatch(target))
            {
                continue;
            }

            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var path = hash < 0 ? target : target[..hash];
            var anchor = hash < 0 ? null : target[(hash + 1)..];
            var resolved = path.Length == 0
                ? page
                : Path.GetRelativePath(Root, Path.GetFullPath(Path.Join(Root, Path.GetDirectoryName(page), Uri.UnescapeDataString(path)))).Replace('\\', '/');
            var full = Path.Join(Root, resolved);
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                if (!PendingPages.Contains(resolved))
                {
                    broken.Add($"{target}: no file {resolved}");
                }

                continue;
            }

            if (anchor is not null && resolved.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(full)).Contains(anchor))
            {
                broken.Add($"{target}: {resolved} has no heading with anchor #{anchor}");
            }
        }

        Assert.True(broken.Count == 0, $"{page} has broken links:\n" + string.Join('\n', broken));
    }

    [Fact]
    public void The_readme_gives_the_test_command_that_ci_runs()
    {
        // .ci/run runs "the same test command README.md gives".
        Assert.Contains("\ndotnet test notistream.sln -m:1 ", File.ReadAllText(Path.Join(Root, "README.md")), StringComparison.Ordinal);
        Assert.Contains("\ndotnet test notistream.sln -m:1 ", File.ReadAllText(Path.Join(Root, ".ci", "run")), StringComparison.Ordinal);
    }

    [Fact]
    public void Anchors_are_made_from_headings_as_GitHub_makes_them()
    {
        var anchors = Anchors("# Webhook gateway (src/WebhookGateway)\n## Differences from Redis 7.0 you may notice\n### `--since` and NOTI.SUBSCRIBE\n## Logs\n## Logs\n```\n# not a heading\n```\n");
        Assert.Equal(["--since-and-notisubscribe", "differences-from-redis-70-you-may-notice", "logs", "logs-1", "webhook-gateway-srcwebhookgateway"], anchors.Order(StringComparer.Ordinal));
    }

    /// <summary>The anchors of a page's headings: lower case, punctuation removed, spaces as hyphens, repeats numbered.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match heading in HeadingPattern().Matches(WithoutFences(markdown)))
        {
            var slug = new StringBuilder();
            foreach (var c in heading.Groups[1].Value.Trim().ToLowerInvariant())
            {
                if (char.IsLetterOrDigit(c) || c is '-' or '_')
                {
                    slug.Append(c);
                }
                else if (c == ' ')
                {
                    slug.Append('-');
                }
            }

            var anchor = slug.ToString();
            var count = seen.GetValueOrDefault(anchor);
            seen[anchor] = count + 1;
            anchors.Add(count == 0 ? anchor : $"{anchor}-{count}");
        }

        return anchors;
    }

    private static string WithoutFences(string markdown) => FencePattern().Replace(markdown, string.Empty);

    private static string WithoutCode(string markdown) => InlineCodePattern().Replace(WithoutFences(markdown), string.Empty);

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex LinkPattern();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.-]*:")]
    private static partial Regex SchemePattern();

    [GeneratedRegex(@"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"^[ \t]*```.*?^[ \t]*```[^\n]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencePattern();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCodePattern();
}
