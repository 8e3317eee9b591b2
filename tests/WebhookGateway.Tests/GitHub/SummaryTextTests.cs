using System.Text.Json;
using Notistream.Gateway.GitHub;

namespace Notistream.Gateway.Tests.GitHub;

public sealed class SummaryTextTests
{
    [Theory]
    [InlineData("refs/heads/main", "main")]
    [InlineData("refs/heads/feature/x", "feature/x")]
    [InlineData("refs/tags/v1.0", "v1.0")]
    [InlineData("main", "main")]
    [InlineData(null, "?")]
    public void Ref_names_lose_their_prefix(string? gitRef, string expected) => Assert.Equal(expected, SummaryText.RefName(gitRef));

    [Fact]
    public void First_line_skips_blank_lines_collapses_whitespace_and_cuts()
    {
        Assert.Equal("Fix login", SummaryText.FirstLine("\n\n  Fix   login\t\nbody"));
        Assert.Equal(72, SummaryText.FirstLine(new string('x', 100)).Length);
        Assert.EndsWith("…", SummaryText.FirstLine(new string('x', 100)), StringComparison.Ordinal);
        Assert.Equal("", SummaryText.FirstLine(null));
    }

    [Fact]
    public void Commit_list_is_newest_first_and_says_how_many_more()
    {
        var commits = new List<(string?, string?)> { ("1111111aaa", "one"), ("2222222bbb", "two\n\nbody"), ("3333333", "three"), ("4444444", "four") };

        Assert.Equal("4444444 four; 3333333 three; 2222222 two; … (+1 more)", SummaryText.CommitList(commits));
        Assert.Equal("1111111 one", SummaryText.CommitList(commits.Take(1).ToList()));
    }

    [Fact]
    public void Finished_summary_is_one_line_without_control_characters_and_bounded()
    {
        var finished = SummaryText.Finish("a\r\nb\u0007c " + new string('x', 1000));

        Assert.StartsWith("a b c x", finished, StringComparison.Ordinal);
        Assert.Equal(SummaryText.MaxLength, finished.Length);
        Assert.DoesNotContain(finished, char.IsControl);
    }

    [Theory]
    [InlineData("success", "succeeded")]
    [InlineData("failure", "failed")]
    [InlineData("cancelled", "was cancelled")]
    [InlineData(null, "completed")]
    [InlineData("startup_failure", "completed (startup_failure)")]
    public void Workflow_conclusions_read_as_english(string? conclusion, string expected)
        => Assert.Equal(expected, GitHubEventSummarizer.Conclusion(conclusion));

    [Fact]
    public void Fallback_summary_reads_what_it_can_from_the_raw_json()
    {
        using var push = JsonDocument.Parse("""{"ref":"refs/heads/main","forced":true,"pusher":{"name":"bob"}}""");
        using var bare = JsonDocument.Parse("{}");

        Assert.Equal("bob force-pushed branch main", GitHubEventSummarizer.Fallback("push", null, "o/r", push.RootElement));
        Assert.Equal("someone sent pull request", GitHubEventSummarizer.Fallback("pull_request", null, "o/r", bare.RootElement));
    }

    [Fact]
    public void Channel_is_the_repository_else_the_organization()
    {
        using var both = JsonDocument.Parse("""{"repository":{"full_name":"o/r"},"organization":{"login":"o"}}""");
        using var org = JsonDocument.Parse("""{"organization":{"login":"o"}}""");
        using var none = JsonDocument.Parse("""{"repository":{"full_name":""}}""");

        Assert.Equal("o/r", GitHubEventSummarizer.ChannelOf(both.RootElement));
        Assert.Equal("o", GitHubEventSummarizer.ChannelOf(org.RootElement));
        Assert.Null(GitHubEventSummarizer.ChannelOf(none.RootElement));
    }
}
