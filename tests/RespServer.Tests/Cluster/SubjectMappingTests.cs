using System.Text;
using CsCheck;
using Notistream.RespServer.Cluster;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Tests.Cluster;

/// <summary>Channel names to NATS subjects and back (docs/cluster.md#subjects).</summary>
public sealed class SubjectMappingTests
{
    private static readonly SubjectMapping Mapping = new("notistream");

    [Theory]
    [InlineData("alerts", "notistream.c.alerts")]
    [InlineData("owner/repo", "notistream.c.owner/repo")]
    [InlineData("a.b.c", "notistream.c.a.b.c")]
    [InlineData("a..b", "notistream.c.a.~.b")]
    [InlineData(".", "notistream.c.~.~")]
    [InlineData("", "notistream.c.~")]
    [InlineData("x y", "notistream.c.x~20y")]
    [InlineData("*", "notistream.c.~2A")]
    [InlineData(">", "notistream.c.~3E")]
    [InlineData("~", "notistream.c.~7E")]
    [InlineData("é", "notistream.c.~C3~A9")]
    [InlineData("user:1@x+y=z,w-_", "notistream.c.user:1@x+y=z,w-_")]
    public void A_channel_maps_to_a_valid_subject_and_back(string channel, string subject)
    {
        var bytes = Encoding.UTF8.GetBytes(channel);
        Assert.Equal(subject, Mapping.SubjectFor(bytes, out var hashed));
        Assert.False(hashed);
        Assert.Equal(bytes, Mapping.ChannelOf(subject));
    }

    [Fact]
    public void A_shard_channel_has_subjects_of_its_own_that_no_channel_subject_or_pattern_wildcard_covers()
    {
        Assert.Equal("notistream.sc.a.~.b", Mapping.SubjectFor("a..b"u8, out var hashed, shard: true));
        Assert.False(hashed);
        var longName = new byte[4096];
        Assert.StartsWith("notistream.sh.", Mapping.SubjectFor(longName, out hashed, shard: true), StringComparison.Ordinal);
        Assert.True(hashed);
        Assert.True(Mapping.IsHashed(Mapping.SubjectFor(longName, out _, shard: true)));
        Assert.NotEqual(Mapping.SubjectFor(longName, out _), Mapping.SubjectFor(longName, out _, shard: true));

        Pick(".*>~ a\0\xFF").Array[0, 40].Sample(channel =>
        {
            var subject = Mapping.SubjectFor(channel, out _, shard: true);
            AssertValidSubject(subject);
            Assert.Null(Mapping.ChannelOf(subject));
            Assert.False(SubjectMatches(Mapping.WildcardFor([]), subject));
            Assert.False(SubjectMatches(Mapping.HashedWildcard, subject));
        });
    }

    [Fact]
    public void Every_binary_channel_round_trips_and_every_token_is_valid_in_NATS()
    {
        Gen.Byte.Array[0, 300].Sample(channel =>
        {
            var subject = Mapping.SubjectFor(channel, out var hashed);
            Assert.False(hashed);
            AssertValidSubject(subject);
            Assert.Equal(channel, Mapping.ChannelOf(subject));
        });
    }

    [Fact]
    public void Channels_with_dots_and_glob_bytes_round_trip()
    {
        Pick(".*>~ a\0\xFF").Array[0, 40].Sample(channel =>
        {
            var subject = Mapping.SubjectFor(channel, out _);
            AssertValidSubject(subject);
            Assert.Equal(channel, Mapping.ChannelOf(subject));
        });
    }

    [Fact]
    public void A_long_channel_goes_to_a_hashed_subject_and_travels_in_the_payload()
    {
        var channel = new byte[64 * 1024];
        new Random(7).NextBytes(channel);
        var subject = Mapping.SubjectFor(channel, out var hashed);
        Assert.True(hashed);
        Assert.StartsWith("notistream.h.", subject, StringComparison.Ordinal);
        Assert.True(subject.Length < 100);
        AssertValidSubject(subject);
        Assert.Null(Mapping.ChannelOf(subject));
        Assert.Equal(subject, Mapping.SubjectFor(channel, out _));

        var payload = SubjectMapping.WritePayload(channel, "hello"u8, hashed: true);
        Assert.Equal(4 + channel.Length + 5, payload.Length);
        Assert.True(SubjectMapping.TryReadPayload(payload, out var name, out var message));
        Assert.Equal(channel, name.ToArray());
        Assert.Equal("hello"u8.ToArray(), message.ToArray());
        Assert.False(SubjectMapping.TryReadPayload(new byte[] { 0, 0, 1, 0, 1 }, out _, out _));
    }

    [Fact]
    public void A_subject_just_under_the_limit_stays_exact()
    {
        var channel = Encoding.ASCII.GetBytes(new string('a', SubjectMapping.MaxExactSubject - "notistream.c.".Length));
        Assert.Equal(SubjectMapping.MaxExactSubject, Mapping.SubjectFor(channel, out var hashed).Length);
        Assert.False(hashed);
        Assert.StartsWith("notistream.h.", Mapping.SubjectFor([.. channel, (byte)'a'], out _), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alerts.*", "notistream.c.alerts.>")]
    [InlineData("a*", "notistream.c.>")]
    [InlineData("*", "notistream.c.>")]
    [InlineData("a.b.c*", "notistream.c.a.b.>")]
    [InlineData("a.b.c", "notistream.c.a.b.>")]
    [InlineData("a.b?.c", "notistream.c.a.>")]
    [InlineData("a.[bc].d", "notistream.c.a.>")]
    [InlineData("a\\*.b", "notistream.c.>")]
    [InlineData(".*", "notistream.c.~.>")]
    [InlineData("x y.*", "notistream.c.x~20y.>")]
    public void A_pattern_is_covered_by_the_narrowest_wildcard_of_its_literal_segments(string pattern, string wildcard)
    {
        var bytes = Encoding.UTF8.GetBytes(pattern);
        var scope = bytes[..SubjectMapping.PatternScopeLength(bytes)];
        Assert.Equal(wildcard, Mapping.WildcardFor(scope));
        Assert.Equal(scope, Mapping.ScopeOf(wildcard));
        Assert.True(SubjectMapping.InScope(bytes, scope));
    }

    [Fact]
    public void Every_channel_a_pattern_matches_is_under_its_wildcard()
    {
        var alphabet = Pick("ab.*? ");
        Gen.Select(alphabet.Array[0, 12], Pick("ab. ").Array[0, 12]).Sample((pattern, channel) =>
        {
            if (!GlobMatcher.IsMatch(pattern, channel))
            {
                return;
            }

            var wildcard = Mapping.WildcardFor(pattern.AsSpan(0, SubjectMapping.PatternScopeLength(pattern)));
            Assert.True(SubjectMatches(wildcard, Mapping.SubjectFor(channel, out _)), $"{wildcard} does not cover {Encoding.UTF8.GetString(channel)}");
        });
    }

    [Fact]
    public void Patterns_share_a_wildcard_exactly_when_their_scopes_are_equal()
    {
        var alerts = "alerts."u8.ToArray();
        Assert.True(SubjectMapping.InScope("alerts.*"u8, alerts));
        Assert.True(SubjectMapping.InScope("alerts.x?"u8, alerts));
        Assert.False(SubjectMapping.InScope("alerts.x.*"u8, alerts));
        Assert.False(SubjectMapping.InScope("al*"u8, alerts));
        Assert.True(SubjectMapping.InScope("al*"u8, []));
    }

    [Fact]
    public void A_pattern_with_a_very_long_literal_prefix_gets_a_shorter_wildcard()
    {
        var pattern = Encoding.ASCII.GetBytes(string.Join('.', Enumerable.Repeat(new string('z', 100), 50)) + ".*");
        var wildcard = Mapping.WildcardFor(pattern.AsSpan(0, SubjectMapping.PatternScopeLength(pattern)));
        Assert.True(wildcard.Length <= SubjectMapping.MaxExactSubject);
        Assert.EndsWith(".>", wildcard, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a..b")]
    [InlineData("a.*")]
    [InlineData("a b")]
    [InlineData(">")]
    public void A_bad_prefix_is_refused(string prefix) => Assert.NotNull(SubjectMapping.ValidatePrefix(prefix));

    [Fact]
    public void Subjects_of_another_prefix_or_with_bad_escapes_are_not_channels()
    {
        Assert.Null(Mapping.ChannelOf("other.c.alerts"));
        Assert.Null(Mapping.ChannelOf("notistream.c.a~4"));
        Assert.Null(Mapping.ChannelOf("notistream.c.a~zz"));
        Assert.Null(Mapping.ChannelOf("notistream.c.a*"));
    }

    private static Gen<byte> Pick(string bytes) => Gen.Int[0, bytes.Length - 1].Select(i => (byte)bytes[i]);

    /// <summary>A NATS subject: non-empty tokens without whitespace, and no wildcard token.</summary>
    private static void AssertValidSubject(string subject)
    {
        foreach (var token in subject.Split('.'))
        {
            Assert.NotEmpty(token);
            Assert.DoesNotContain(token, c => c <= ' ' || c > '~' || c is '*' or '>');
        }
    }

    /// <summary>NATS's matching of a subject against a subscription with '*' and '>' tokens.</summary>
    private static bool SubjectMatches(string filter, string subject)
    {
        var f = filter.Split('.');
        var s = subject.Split('.');
        for (var i = 0; i < f.Length; i++)
        {
            if (f[i] == ">")
            {
                return s.Length > i;
            }

            if (i >= s.Length || (f[i] != "*" && f[i] != s[i]))
            {
                return false;
            }
        }

        return f.Length == s.Length;
    }

    [Fact]
    public void A_channel_key_is_its_name_s_bytes_and_its_kind()
    {
        var name = "a.b"u8.ToArray();
        Assert.Equal(new ChannelKey(name, false), new ChannelKey("a.b"u8.ToArray(), false));
        Assert.Equal(new ChannelKey(name, true).GetHashCode(), new ChannelKey("a.b"u8.ToArray(), true).GetHashCode());
        Assert.NotEqual(new ChannelKey(name, false), new ChannelKey(name, true));
        Assert.Single(new HashSet<ChannelKey> { new(name, true), new("a.b"u8.ToArray(), true) });
    }
}
