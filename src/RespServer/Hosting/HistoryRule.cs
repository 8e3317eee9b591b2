using System.Globalization;
using System.Text;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Hosting;

/// <summary>
/// One <c>channel-history &lt;glob&gt; &lt;max-entries&gt; &lt;max-age&gt;</c> rule: a PUBLISH to a channel the glob
/// matches appends the message to the stream of the same name, which keeps at most
/// <see cref="MaxEntries"/> entries (0: no count limit) no older than <see cref="MaxAge"/> (zero: no age
/// limit). The first rule that matches a channel applies.
/// </summary>
internal sealed record HistoryRule(string Pattern, long MaxEntries, TimeSpan MaxAge)
{
    private readonly byte[] _pattern = Encoding.UTF8.GetBytes(Pattern);

    /// <summary>The default: every channel keeps its last 1000 messages of the last 24 hours.</summary>
    public static IReadOnlyList<HistoryRule> Defaults { get; } = [new("*", 1000, TimeSpan.FromHours(24))];

    public bool Matches(ReadOnlySpan<byte> channel) => _pattern is [(byte)'*'] || GlobMatcher.IsMatch(_pattern, channel);

    /// <summary>The rule for <paramref name="channel"/>: the first that matches, or null (no history).</summary>
    public static HistoryRule? For(IReadOnlyList<HistoryRule> rules, ReadOnlySpan<byte> channel)
    {
        foreach (var rule in rules)
        {
            if (rule.Matches(channel))
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>
    /// Rules from words in threes (<c>glob max-entries max-age</c>); a single word <c>none</c>, or nothing,
    /// is no history. Returns the reason the words are refused, or null.
    /// </summary>
    public static string? TryParse(IReadOnlyList<string> words, out List<HistoryRule> rules)
    {
        rules = [];
        if (words.Count == 0 || (words.Count == 1 && words[0].Equals("none", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        if (words.Count % 3 != 0)
        {
            return "channel-history needs a glob, a maximum number of entries and a maximum age, e.g. '* 1000 24h' ('none' for no history)";
        }

        for (var i = 0; i < words.Count; i += 3)
        {
            if (!long.TryParse(words[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var entries))
            {
                return $"channel-history: '{words[i + 1]}' is not a number of entries (0 for no limit)";
            }

            if (TryParseAge(words[i + 2]) is not { } age)
            {
                return $"channel-history: '{words[i + 2]}' is not an age such as 90s, 30m, 24h or 7d (0 for no limit)";
            }

            rules.Add(new HistoryRule(words[i], entries, age));
        }

        return null;
    }

    /// <summary>A number with ms, s, m, h or d (seconds without a unit), up to about 290 million years; 0 is no limit.</summary>
    public static TimeSpan? TryParseAge(string text)
    {
        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits]))
        {
            digits++;
        }

        if (digits == 0 || !long.TryParse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }

        long? unit = text[digits..].ToLowerInvariant() switch
        {
            "ms" => 1,
            "" or "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => null,
        };
        if (unit is null || value > long.MaxValue / 10_000 / unit)
        {
            return null;
        }

        return TimeSpan.FromMilliseconds(value * unit.Value);
    }

    /// <summary>As CONFIG GET prints it: the age in its largest whole unit.</summary>
    public override string ToString()
    {
        var ms = (long)MaxAge.TotalMilliseconds;
        var age = ms == 0 ? "0"
            : ms % 86_400_000 == 0 ? $"{ms / 86_400_000}d"
            : ms % 3_600_000 == 0 ? $"{ms / 3_600_000}h"
            : ms % 60_000 == 0 ? $"{ms / 60_000}m"
            : ms % 1000 == 0 ? $"{ms / 1000}s"
            : $"{ms}ms";
        return string.Create(CultureInfo.InvariantCulture, $"{Pattern} {MaxEntries} {age}");
    }

    public static string Format(IReadOnlyList<HistoryRule> rules) => string.Join(' ', rules.Select(r => r.ToString()));
}
