using System.Globalization;
using System.Text.RegularExpressions;
using Notistream.Client.Resume;

namespace Notistream.Client.Cli;

/// <summary>
/// <c>--since</c>: <c>all</c> (everything the server keeps: <c>0</c>), <c>now</c> (only what comes
/// next: <c>$</c>), a duration back from now (<c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c>: ids carry the
/// server's clock in milliseconds, so this is as exact as the two clocks agree), or a message id
/// (<c>ms-seq</c> or <c>ms</c>: everything after it).
/// </summary>
/// <remarks>
/// Every cursor is written <c>ms-seq</c>: NOTI.SUBSCRIBE reads a bare <c>ms</c> as <c>ms-0</c>, but the gateway's
/// <c>since=</c> (as ntfy's) reads a bare number as Unix seconds. A duration becomes the last possible id of the
/// millisecond before its start (<c>(t-1)-18446744073709551615</c>), so that every message from that time on,
/// <c>t-0</c> included, comes.
/// </remarks>
internal static partial class SinceOption
{
    public static bool TryParse(string text, DateTimeOffset now, out string from, out string error)
    {
        from = string.Empty;
        error = string.Empty;
        var value = text.Trim();
        switch (value.ToLowerInvariant())
        {
            case "all":
                from = "0";
                return true;
            case "now":
                from = "$";
                return true;
        }

        var duration = Duration().Match(value);
        if (duration.Success)
        {
            var amount = long.Parse(duration.Groups[1].Value, CultureInfo.InvariantCulture);
            var unit = duration.Groups[2].Value.ToLowerInvariant() switch
            {
                "s" => 1_000L,
                "m" => 60_000L,
                "h" => 3_600_000L,
                _ => 86_400_000L,
            };
            var back = amount > long.MaxValue / unit ? long.MaxValue : amount * unit;
            from = FromTime(Math.Max(0, now.ToUnixTimeMilliseconds() - back));
            return true;
        }

        if (MessageId.TryParse(value, out var id))
        {
            from = id.ToString();
            return true;
        }

        error = $"'{text}' is not all, now, a duration (90s, 30m, 24h, 7d) or a message id (ms-seq)";
        return false;
    }

    /// <summary>Everything with an id at or after <paramref name="ms"/>: from the last id of the millisecond before.</summary>
    internal static string FromTime(long ms) =>
        ms <= 0 ? "0" : new MessageId((ulong)ms - 1, ulong.MaxValue).ToString();

    [GeneratedRegex(@"^(\d{1,12})([smhdSMHD])$")]
    private static partial Regex Duration();
}
