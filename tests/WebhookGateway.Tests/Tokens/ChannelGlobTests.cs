using System.Text;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.Tests.Tokens;

/// <summary>The gateway's copy of Redis's glob, on the cases Redis's own stringmatchlen answers.</summary>
public sealed class ChannelGlobTests
{
    [Theory]
    [InlineData("alerts:*", "alerts:disk", true)]
    [InlineData("alerts:*", "alerts:", true)]
    [InlineData("alerts:*", "alerts", false)]
    [InlineData("alerts:*", "Alerts:disk", false)]
    [InlineData("builds/*", "builds/a/b/c", true)]
    [InlineData("home", "home", true)]
    [InlineData("home", "home/x", false)]
    [InlineData("home", "hom", false)]
    [InlineData("h?me", "hame", true)]
    [InlineData("h?me", "hme", false)]
    [InlineData("h[ao]me", "home", true)]
    [InlineData("h[ao]me", "hume", false)]
    [InlineData("h[^ao]me", "hume", true)]
    [InlineData("h[^ao]me", "home", false)]
    [InlineData("room[0-9]", "room7", true)]
    [InlineData("room[9-0]", "room7", true)]
    [InlineData("room[0-9]", "roomx", false)]
    [InlineData("a\\*b", "a*b", true)]
    [InlineData("a\\*b", "axb", false)]
    [InlineData("[\\]]", "]", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("**x", "yyx", true)]
    [InlineData("é*", "été", true)]
    [InlineData("?", "é", false)] // Redis matches bytes: é is two
    [InlineData("??", "é", true)]
    public void Matches_like_redis(string pattern, string channel, bool expected)
        => Assert.Equal(expected, ChannelGlob.IsMatch(Encoding.UTF8.GetBytes(pattern), Encoding.UTF8.GetBytes(channel)));

    [Fact]
    public void Many_stars_fail_quickly_instead_of_backtracking_exponentially()
    {
        var pattern = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("*a", 30)) + "b");
        var channel = Encoding.ASCII.GetBytes(new string('a', 200));

        Assert.False(ChannelGlob.IsMatch(pattern, channel));
    }

    [Theory]
    [InlineData("alerts:*", null)]
    [InlineData("h[ao]me", null)]
    [InlineData("a\\[b", null)]
    [InlineData("[\\]]", null)]
    [InlineData("", "is empty")]
    [InlineData("  ", "is empty")]
    [InlineData(null, "is empty")]
    [InlineData("a\nb", "contains a control character")]
    [InlineData("home[", "has a '[' without its ']'")]
    [InlineData("[^", "has a '[' without its ']'")]
    [InlineData("[\\]", "has a '[' without its ']'")]
    [InlineData("home\\", "ends in a lone '\\'")]
    public void Pattern_errors_name_what_is_wrong(string? pattern, string? expected)
        => Assert.Equal(expected, ChannelGlob.PatternError(pattern));
}
