using System.Text;
using CsCheck;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Tests.PubSub;

public class GlobAndTrieTests
{
    [Theory]
    [InlineData("*", "abc", true)]
    [InlineData("*", "", false)] // Redis: '*' never matches the empty string
    [InlineData("a*", "a", true)]
    [InlineData("news.*", "news.tech", true)]
    [InlineData("news.*", "news", false)]
    [InlineData("h?llo", "hello", true)]
    [InlineData("h?llo", "hllo", false)]
    [InlineData("h[ae]llo", "hallo", true)]
    [InlineData("h[^e]llo", "hello", false)]
    [InlineData("h[^e]llo", "hallo", true)]
    [InlineData("h[a-b]llo", "hbllo", true)]
    [InlineData("h[b-a]llo", "hbllo", true)] // reversed ranges are swapped
    [InlineData("h\\*llo", "h*llo", true)]
    [InlineData("h\\*llo", "hello", false)]
    [InlineData("[abc", "a", true)] // an unclosed set is still a set
    [InlineData("a\\", "a\\", true)] // a trailing backslash is literal
    [InlineData("*a*b*c*", "xxaxxbxxcxx", true)]
    [InlineData("*a*b*c", "abcabcab", false)]
    public void GlobMatcher_follows_Redis_stringmatchlen(string pattern, string channel, bool expected)
        => Assert.Equal(expected, GlobMatcher.IsMatch(Encoding.Latin1.GetBytes(pattern), Encoding.Latin1.GetBytes(channel)));

    [Fact]
    public void High_bytes_order_below_ASCII_in_ranges_as_C_signed_chars()
    {
        // [a-\xff]: in C, 0xff is -1, the range becomes [-1..'a'] and 'b' is outside it.
        Assert.False(GlobMatcher.IsMatch([(byte)'[', (byte)'a', (byte)'-', 0xff, (byte)']'], "b"u8));
        Assert.True(GlobMatcher.IsMatch([(byte)'[', (byte)'a', (byte)'-', 0xff, (byte)']'], "A"u8));
    }

    [Fact]
    public void Abusive_nesting_gives_up_instead_of_blowing_the_stack()
    {
        var pattern = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a*", 5000)) + "b");
        var channel = Encoding.ASCII.GetBytes(new string('a', 6000));
        Assert.False(GlobMatcher.IsMatch(pattern, channel));
    }

    private static readonly Gen<byte> PatternByte = Gen.OneOf<byte>("a"u8[0], "b"u8[0], "."u8[0], "*"u8[0], "?"u8[0], "["u8[0], "]"u8[0], "^"u8[0], "-"u8[0], "\\"u8[0], (byte)0xe9, (byte)0);
    private static readonly Gen<byte> ChannelByte = Gen.OneOf<byte>("a"u8[0], "b"u8[0], "."u8[0], "*"u8[0], "["u8[0], "-"u8[0], (byte)0xe9, (byte)0);

    [Fact]
    public void Trie_finds_exactly_the_patterns_the_plain_matcher_finds()
    {
        Gen.Select(PatternByte.Array[0, 8].Array[1, 60], ChannelByte.Array[0, 10].Array[1, 20])
            .Sample((patterns, channels) =>
            {
                var trie = new ChannelTrie();
                var distinct = patterns.DistinctBy(Convert.ToHexString).ToList();
                var entries = distinct.Select(p => new PatternSubscription(p)).ToList();
                entries.ForEach(trie.Add);
                foreach (var channel in channels)
                {
                    var found = new List<PatternSubscription>();
                    trie.Collect(channel, found);
                    var expected = entries.Where(e => GlobMatcher.IsMatch(e.Pattern, channel)).Select(e => Convert.ToHexString(e.Pattern)).Order();
                    Assert.Equal(expected, found.Select(e => Convert.ToHexString(e.Pattern)).Order());
                }

                // Removing half keeps the two in agreement.
                foreach (var entry in entries.Where((_, i) => i % 2 == 0))
                {
                    Assert.True(trie.Remove(entry));
                }

                var kept = entries.Where((_, i) => i % 2 == 1).ToList();
                Assert.Equal(kept.Count, trie.Count);
                foreach (var channel in channels)
                {
                    var found = new List<PatternSubscription>();
                    trie.Collect(channel, found);
                    Assert.Equal(kept.Count(e => GlobMatcher.IsMatch(e.Pattern, channel)), found.Count);
                }
            }, iter: 3000);
    }

    [Fact]
    public void Publish_tests_only_patterns_whose_literal_prefix_matches()
    {
        var trie = new ChannelTrie();
        for (var i = 0; i < 10_000; i++)
        {
            trie.Add(new PatternSubscription(Encoding.ASCII.GetBytes($"bench.{i}.*")));
        }

        Assert.Equal(1, trie.CandidateCount("bench.42.x"u8));
        var found = new List<PatternSubscription>();
        trie.Collect("bench.42.x"u8, found);
        Assert.Equal("bench.42.*", Encoding.ASCII.GetString(Assert.Single(found).Pattern));
    }
}
