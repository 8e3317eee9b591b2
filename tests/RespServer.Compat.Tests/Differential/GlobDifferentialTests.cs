using System.Text;
using Notistream.RespServer.Compat.Tests.Harness;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Differential;

/// <summary>
/// Redis glob semantics: one connection PSUBSCRIBEs every pattern, a second publishes every channel;
/// the receiver count and the set of pmessage frames (which patterns matched) must equal redis-server's.
/// </summary>
public sealed class GlobDifferentialTests(ServerPair servers) : IClassFixture<ServerPair>
{
    internal static readonly string[] Patterns =
    [
        "*", "**", "*?*", "?*", "?", "??", "a*", "*a", "a?c", "a*c", "*b*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo",
        "h[a-b]llo", "[abc]", "[^abc]", "[a-c]", "[c-a]", "[^a-c]", "[^c-a]", "[a-]", "[-a]", "[]", "[]a]", "[a]]",
        "[\\]]", "[\\-]", "[\\^a]", "[!a]", "\\*", "\\?", "\\[", "\\\\", "a\\", "\\", "a\\bc", "[", "[a", "[a-", "a[",
        "*[", "[^", "x\\[y", "[\u0080-\u00ff]", "[^\u0000-\u007f]", "\u00ff*", "*\u00ff", "?\u0080", "[\u00ff-\u0080]",
        "[a-c-e]", "[[]", "[*]", "[?]", "a*b*c", "*abc", "abc*", "[ab][cd]", "\u0000*", "[\u0000]", "ab]", "a[b-c",
        "\\a\\b\\c", "*\\", "[\\", "x*y*z", "[^]]", "[^]", "h[^a-f]llo",
    ];

    internal static readonly string[] Channels =
    [
        "", "a", "b", "c", "d", "-", "]", "[", "*", "?", "\\", "^", "!", "ab", "abc", "aXc", "aXYc", "ac", "abbc", "ba",
        "hello", "hallo", "hbllo", "hxllo", "hllo", "heeeello", "a\\", "a\\b", "abc]", "ab]", "x[y", "xyz", "xaybzc",
        "\u00ff", "\u0080", "\u0080abc", "\u007f", "\u00ffz", "z\u00ff", "\u0000", "\u0000a", "e", "[a", "a[", "aa",
        "abcabc", "ace", "abxc", "]a", "[]",
    ];

    [Fact]
    public async Task Receiver_counts_and_matches_equal_redis()
    {
        var expected = await RunAsync(servers.RedisPort);
        var actual = await RunAsync(servers.OurPort);
        var failures = new List<string>();
        foreach (var channel in Channels)
        {
            if (expected[channel] != actual[channel])
            {
                failures.Add($"channel {Escape(channel)}\n  redis: {expected[channel]}\n  ours:  {actual[channel]}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {Channels.Length} channels differ ({Patterns.Length} patterns):\n" + string.Join("\n", failures));
    }

    /// <summary>For each channel: PUBLISH's count, then the sorted patterns whose pmessage arrived.</summary>
    private static async Task<Dictionary<string, string>> RunAsync(int port)
    {
        await using var subscriber = await RawConnection.ConnectAsync(port);
        await using var publisher = await RawConnection.ConnectAsync(port);
        await subscriber.SendAsync(Script.Encode(["PSUBSCRIBE", .. Patterns]));
        await subscriber.ReadFramesAsync(Patterns.Distinct().Count(), TaskTimeoutExtensions());
        var results = new Dictionary<string, string>();
        foreach (var channel in Channels)
        {
            await publisher.SendAsync(Script.Encode("PUBLISH", channel, "m"));
            var count = (await publisher.ReadFramesAsync(1, TaskTimeoutExtensions()))[0];
            var receivers = int.Parse(count.Text, System.Globalization.CultureInfo.InvariantCulture);
            var frames = await subscriber.ReadFramesAsync(receivers, TaskTimeoutExtensions());
            var matched = frames.Select(f => Escape(Encoding.Latin1.GetString(f.Children[1].Payload!))).Order(StringComparer.Ordinal);
            results[channel] = $"{count} [{string.Join(", ", matched)}]";
        }

        return results;
    }

    private static TimeSpan TaskTimeoutExtensions() => Notistream.Testing.TaskTimeoutExtensions.DefaultTimeout;

    private static string Escape(string s) => RespFrame.Escape(Encoding.Latin1.GetBytes(s));
}
