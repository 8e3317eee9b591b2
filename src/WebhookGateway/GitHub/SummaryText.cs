using System.Globalization;
using System.Text;

namespace Notistream.Gateway.GitHub;

/// <summary>Small text helpers shared by the typed and the fallback summaries.</summary>
internal static class SummaryText
{
    /// <summary>A notification is one line; long titles and comments are cut here.</summary>
    public const int MaxLength = 300;
    public const int MaxCommitsListed = 3;
    private const int MaxCommitSubject = 72;
    private const int MaxExcerpt = 120;

    public static string ShortSha(string? sha) => string.IsNullOrEmpty(sha) ? "???????" : sha.Length <= 7 ? sha : sha[..7];

    /// <summary><c>refs/heads/main</c> → <c>main</c>, <c>refs/tags/v1</c> → <c>v1</c>.</summary>
    public static string RefName(string? gitRef)
    {
        if (string.IsNullOrEmpty(gitRef))
        {
            return "?";
        }

        foreach (var prefix in (ReadOnlySpan<string>)["refs/heads/", "refs/tags/"])
        {
            if (gitRef.StartsWith(prefix, StringComparison.Ordinal))
            {
                return gitRef[prefix.Length..];
            }
        }

        return gitRef;
    }

    public static bool IsTag(string? gitRef) => gitRef?.StartsWith("refs/tags/", StringComparison.Ordinal) == true;

    public static string Count(long n, string noun) => string.Create(CultureInfo.InvariantCulture, $"{n} {noun}{(n == 1 ? "" : "s")}");

    /// <summary>First non-empty line, whitespace collapsed, cut to <paramref name="max"/> characters.</summary>
    public static string FirstLine(string? text, int max = MaxCommitSubject)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return string.Empty;
        }

        foreach (var line in text.AsSpan().EnumerateLines())
        {
            var trimmed = line.Trim();
            if (!trimmed.IsEmpty)
            {
                return Cut(Collapse(trimmed), max);
            }
        }

        return string.Empty;
    }

    public static string Excerpt(string? text) => FirstLine(text, MaxExcerpt);

    /// <summary>
    /// Newest first, as <c>git log</c> shows them (a push payload lists them oldest first):
    /// "a216838 Merge pull request #3; 7b5a809 hehe; 7d1b24d Update README.md; … (+2 more)".
    /// </summary>
    public static string CommitList(IReadOnlyList<(string? Sha, string? Message)> commits)
    {
        var text = new StringBuilder();
        var listed = Math.Min(commits.Count, MaxCommitsListed);
        for (var i = 0; i < listed; i++)
        {
            var (sha, message) = commits[commits.Count - 1 - i];
            if (i > 0)
            {
                text.Append("; ");
            }

            text.Append(ShortSha(sha)).Append(' ').Append(FirstLine(message));
        }

        if (commits.Count > listed)
        {
            text.Append(CultureInfo.InvariantCulture, $"; … (+{commits.Count - listed} more)");
        }

        return text.ToString();
    }

    /// <summary>The whole summary on one line, no control characters, at most <see cref="MaxLength"/>.</summary>
    public static string Finish(string summary) => Cut(Collapse(summary), MaxLength);

    private static string Collapse(ReadOnlySpan<char> text)
    {
        var result = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = result.Length > 0;
                continue;
            }

            if (space)
            {
                result.Append(' ');
                space = false;
            }

            result.Append(c);
        }

        return result.ToString();
    }

    private static string Cut(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1).TrimEnd(), "…");
}
