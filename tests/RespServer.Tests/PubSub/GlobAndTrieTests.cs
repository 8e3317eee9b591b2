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

    [Fact]
    public void Patterns_longer_than_the_depth_cap_match_exactly_what_the_glob_matcher_finds()
    {
        // Patterns and channels around the cap: a shared literal start just short of it, then bytes
        // that cross it. Patterns deeper than the cap share its last node and only the glob tells them apart.
        var start = Encoding.ASCII.GetBytes(new string('s', ChannelTrie.MaxDepth - 3));
        Gen.Select(PatternByte.Array[0, 8].Array[1, 30], ChannelByte.Array[0, 10].Array[1, 20])
            .Sample((suffixes, channelSuffixes) =>
            {
                var trie = new ChannelTrie();
                var entries = suffixes.Select(s => start.Concat(s).ToArray()).DistinctBy(Convert.ToHexString)
                    .Select(p => new PatternSubscription(p)).ToList();
                entries.ForEach(trie.Add);
                foreach (var channel in channelSuffixes.Select(s => start.Concat(s).ToArray()))
                {
                    var found = new List<PatternSubscription>();
                    trie.Collect(channel, found);
                    var expected = entries.Where(e => GlobMatcher.IsMatch(e.Pattern, channel)).Select(e => Convert.ToHexString(e.Pattern)).Order();
                    Assert.Equal(expected, found.Select(e => Convert.ToHexString(e.Pattern)).Order());
                }
            }, iter: 2000);
    }

    [Fact]
    public void A_pattern_longer_than_the_cap_matches_channels_equal_to_longer_than_and_differing_after_the_cap()
    {
        var literal = new string('a', ChannelTrie.MaxDepth) + "bcd";
        var trie = new ChannelTrie();
        var exact = new PatternSubscription(Encoding.ASCII.GetBytes(literal));
        var glob = new PatternSubscription(Encoding.ASCII.GetBytes(literal + "*"));
        trie.Add(exact);
        trie.Add(glob);

        string[] Matches(string channel)
        {
            var found = new List<PatternSubscription>();
            trie.Collect(Encoding.ASCII.GetBytes(channel), found);
            return [.. found.Select(e => Encoding.ASCII.GetString(e.Pattern)).Order()];
        }

        Assert.Equal([literal, literal + "*"], Matches(literal));
        Assert.Equal([literal + "*"], Matches(literal + "e"));
        Assert.Empty(Matches(new string('a', ChannelTrie.MaxDepth) + "bce"));
        Assert.Empty(Matches(new string('a', ChannelTrie.MaxDepth) + "xcde"));
        Assert.Empty(Matches(new string('a', ChannelTrie.MaxDepth)));
        Assert.Empty(Matches(new string('a', ChannelTrie.MaxDepth - 1) + "b"));
    }

    [Fact]
    public void Removing_deep_patterns_prunes_the_trie_back_to_empty()
    {
        var trie = new ChannelTrie();
        var entries = new[] { "", "x", "a*", "?" }
            .SelectMany(tail => new[] { 10, ChannelTrie.MaxDepth - 1, ChannelTrie.MaxDepth, ChannelTrie.MaxDepth + 1, 500 }
                .Select(length => new PatternSubscription(Encoding.ASCII.GetBytes(new string('p', length) + tail))))
            .ToList();
        entries.ForEach(trie.Add);

        // The root, one chain of 'p's as deep as the cap, and an 'x' and an 'a' off p{10} and off p{63}.
        Assert.Equal(1 + ChannelTrie.MaxDepth + 4, trie.NodeCount());
        var kept = entries.ToList();
        foreach (var entry in entries.AsEnumerable().Reverse())
        {
            Assert.True(trie.Remove(entry));
            Assert.False(trie.Remove(entry));
            kept.Remove(entry);

            // Pruning took nothing the others hang on: each still matches a channel spelled like it.
            foreach (var other in kept)
            {
                var found = new List<PatternSubscription>();
                trie.Collect(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(other.Pattern).Replace("*", "").Replace("?", "q")), found);
                Assert.Contains(other, found);
            }
        }

        Assert.Equal(0, trie.Count);
        Assert.Equal(1, trie.NodeCount());
    }

    [Fact]
    public void A_megabyte_literal_prefix_is_added_and_removed_without_a_node_or_a_stack_frame_per_byte()
    {
        // Before the cap this built a million nodes and removing it recursed a million frames deep,
        // a stack overflow that ends the process.
        var pattern = new byte[1024 * 1024];
        pattern.AsSpan().Fill((byte)'m');
        var entry = new PatternSubscription(pattern);
        var trie = new ChannelTrie();
        trie.Add(entry);
        Assert.Equal(ChannelTrie.MaxDepth + 1, trie.NodeCount());

        var found = new List<PatternSubscription>();
        trie.Collect(pattern, found);
        Assert.Same(entry, Assert.Single(found));
        found.Clear();
        trie.Collect(pattern.AsSpan(0, pattern.Length - 1), found);
        Assert.Empty(found);

        Assert.True(trie.Remove(entry));
        Assert.Equal(0, trie.Count);
        Assert.Equal(1, trie.NodeCount());
    }
}
