using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Notistream.Gateway.Subscribing;

/// <summary>Where a subscription starts: a NOTI.SUBSCRIBE cursor, or "the latest message only".</summary>
/// <param name="From">NOTI.SUBSCRIBE's from: <c>$</c>, <c>0</c> or <c>ms-seq</c>.</param>
/// <param name="LatestOnly">since=latest: read from 0, hand on only the last message of the catch-up.</param>
internal readonly record struct SubscribeStart(string From, bool LatestOnly = false);

/// <summary>ntfy's message filters (<c>parseQueryFilters</c>): they apply to message events only.</summary>
internal sealed record SubscribeFilters(string? Id, string? Message, string? Title, IReadOnlyList<int> Priorities, IReadOnlyList<string> Tags)
{
    public bool Pass(NtfyMessage message)
    {
        if (!message.IsMessage)
        {
            return true;
        }

        if ((Id is not null && message.Id != Id) || (Message is not null && message.Message != Message) || (Title is not null && message.Title != Title))
        {
            return false;
        }

        // As ntfy: no priority is the default priority, 3.
        if (Priorities.Count > 0 && !Priorities.Contains(message.Priority == 0 ? 3 : message.Priority))
        {
            return false;
        }

        return Tags.Count == 0 || (message.Tags is { } tags && Tags.All(tags.Contains));
    }
}

/// <summary>A request's answer when it cannot be served: ntfy's error JSON <c>{"code","http","error","link"}</c>.</summary>
internal sealed record SubscribeError(int Http, int Code, string Error, string? Link = null);

/// <summary>
/// A parsed <c>GET /{channels}/{format}</c>: the channels and patterns from the path, ntfy's parameters
/// (each readable as a header <c>X-Name</c>, <c>Name</c> or alias, or as a query parameter, headers first,
/// as ntfy's <c>readParam</c>), and <c>Last-Event-ID</c>.
/// </summary>
internal sealed partial class SubscribeRequest
{
    private const string SinceLink = "https://ntfy.sh/docs/subscribe/api/#fetch-cached-messages";

    public required string Topics { get; init; }

    public required IReadOnlyList<string> Channels { get; init; }

    public required IReadOnlyList<string> Patterns { get; init; }

    public required bool Poll { get; init; }

    /// <summary>
    /// <c>catchup=1</c> (or <c>X-Catchup</c>), ours: <c>open</c> carries <c>last</c> and <c>keepalive</c>, and a <c>caughtup</c>
    /// event follows the catch-up. Without it the stream is ntfy's exactly.
    /// </summary>
    public bool CatchUpEvents { get; init; }

    public required SubscribeStart Start { get; init; }

    public required SubscribeFilters Filters { get; init; }

    /// <summary>A name with <c>*</c>, <c>?</c> or <c>[</c> is a pattern (Redis glob), as the notistream client reads its channel list.</summary>
    public static bool IsPattern(string name) => name.AsSpan().IndexOfAny('*', '?', '[') >= 0;

    /// <summary>The raw (still percent-encoded) topics segment of the request target: <c>/{topics}/{format}</c>.</summary>
    public static string? TopicsSegment(string rawTarget)
    {
        var path = rawTarget.AsSpan();
        var query = path.IndexOf('?');
        if (query >= 0)
        {
            path = path[..query];
        }

        if (path.Length < 2 || path[0] != '/')
        {
            return null;
        }

        path = path[1..];
        var slash = path.IndexOf('/');
        return slash <= 0 || path[(slash + 1)..].Contains('/') ? null : path[..slash].ToString();
    }

    public static SubscribeRequest Parse(HttpRequest request, string rawTopics, int maxChannels, int maxChannelBytes, TimeProvider time, out SubscribeError? error)
    {
        error = null;
        string topics;
        try
        {
            topics = Uri.UnescapeDataString(rawTopics);
        }
        catch (UriFormatException)
        {
            topics = string.Empty;
        }

        var names = topics.Split(',');
        if (names.Length > maxChannels)
        {
            error = new SubscribeError(400, 40009, $"invalid request: topic invalid: at most {maxChannels} channels and patterns per subscription");
            return null!;
        }

        var channels = new List<string>();
        var patterns = new List<string>();
        foreach (var name in names)
        {
            if (name.Length == 0 || name.Any(char.IsControl) || Encoding.UTF8.GetByteCount(name) > maxChannelBytes || name.Contains('\uFFFD'))
            {
                error = new SubscribeError(400, 40009, $"invalid request: topic invalid: '{name}' (empty, a control character, or over {maxChannelBytes} bytes)");
                return null!;
            }

            if (IsPattern(name))
            {
                if (Tokens.ChannelGlob.PatternError(name) is { } bad)
                {
                    error = new SubscribeError(400, 40009, $"invalid request: topic invalid: pattern '{name}' {bad}");
                    return null!;
                }

                if (!patterns.Contains(name))
                {
                    patterns.Add(name);
                }
            }
            else if (!channels.Contains(name))
            {
                channels.Add(name);
            }
        }

        var poll = ReadBool(request, "x-poll", "poll", "po");
        var start = ParseStart(request, poll, time, out error);
        if (error is not null)
        {
            return null!;
        }

        var priorities = new List<int>();
        foreach (var text in Split(ReadParam(request, "x-priority", "priority", "prio", "p")))
        {
            // ntfy's priority names and numbers, as the publish side reads them.
            if (Endpoints.NtfyRequest.ParsePriority(text, out var priority) is not null)
            {
                error = new SubscribeError(400, 40007, "invalid priority parameter", "https://ntfy.sh/docs/publish/#message-priority");
                return null!;
            }

            priorities.Add(priority ?? 3);
        }

        var filters = new SubscribeFilters(
            ReadParam(request, "x-id", "id"),
            ReadParam(request, "x-message", "message", "m"),
            ReadParam(request, "x-title", "title", "t"),
            priorities,
            Split(ReadParam(request, "x-tags", "tags", "tag", "ta")));
        return new SubscribeRequest
        {
            Topics = topics, Channels = channels, Patterns = patterns, Poll = poll, Start = start, Filters = filters,
            CatchUpEvents = ReadBool(request, "x-catchup", "catchup"),
        };
    }

    /// <summary>
    /// <c>Last-Event-ID</c> (an id this gateway sent) wins over <c>since</c>: a browser's EventSource sends both
    /// when it reconnects, the URL's since unchanged. Otherwise since: an id (<c>ms-seq</c>), <c>all</c>,
    /// <c>latest</c>, <c>none</c>, a Unix time in seconds, or a duration back from now (<c>30s</c>, <c>10m</c>,
    /// <c>1h</c>, <c>1h30m</c>). Unset: <c>none</c>, or <c>all</c> with poll, as in ntfy.
    /// </summary>
    internal static SubscribeStart ParseStart(HttpRequest request, bool poll, TimeProvider time, out SubscribeError? error)
    {
        error = null;
        var last = request.Headers["Last-Event-ID"].ToString().Trim();
        if (last.Length > 0)
        {
            if (IdPattern().IsMatch(last))
            {
                return new SubscribeStart(last);
            }

            error = new SubscribeError(400, 40008, "invalid Last-Event-ID header: an id such as 1765101234567-0", SinceLink);
            return default;
        }

        var since = ReadParam(request, "x-since", "since", "si");
        switch (since)
        {
            case null:
                return new SubscribeStart(poll ? "0" : "$");
            case "all":
                return new SubscribeStart("0");
            case "none":
                return new SubscribeStart("$");
            case "latest":
                return new SubscribeStart("0", LatestOnly: true);
        }

        if (IdPattern().IsMatch(since))
        {
            return new SubscribeStart(since);
        }

        if (long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds < long.MaxValue / 1000)
        {
            return FromMilliseconds(seconds * 1000);
        }

        if (ParseDuration(since) is { } duration)
        {
            return FromMilliseconds(Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds() - (long)duration.TotalMilliseconds));
        }

        error = new SubscribeError(400, 40008, "invalid since parameter", SinceLink);
        return default;
    }

    /// <summary>Everything with an id at or after <paramref name="ms"/>: from the last id of the millisecond before.</summary>
    private static SubscribeStart FromMilliseconds(long ms) =>
        new(ms <= 0 ? "0" : string.Create(CultureInfo.InvariantCulture, $"{ms - 1}-{ulong.MaxValue}"));

    /// <summary>Go's time.ParseDuration for what since= takes: whole numbers of h, m, s, ms, one after another.</summary>
    private static TimeSpan? ParseDuration(string text)
    {
        var match = DurationPattern().Match(text);
        if (!match.Success)
        {
            return null;
        }

        var total = TimeSpan.Zero;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unitAt = part.Value.IndexOfAny(['h', 'm', 's']);
            if (!long.TryParse(part.Value.AsSpan(0, unitAt), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > 1_000_000_000)
            {
                return null;
            }

            total += part.Value[unitAt..] switch
            {
                "h" => TimeSpan.FromHours(number),
                "m" => TimeSpan.FromMinutes(number),
                "s" => TimeSpan.FromSeconds(number),
                _ => TimeSpan.FromMilliseconds(number),
            };
        }

        return total;
    }

    private static string? ReadParam(HttpRequest request, params string[] names)
    {
        foreach (var name in names)
        {
            var value = request.Headers[name].ToString().Trim();
            if (value.Length > 0)
            {
                return value;
            }
        }

        foreach (var name in names)
        {
            var value = request.Query[name].ToString().Trim();
            if (value.Length > 0)
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>ntfy's readBoolParam: 1, yes, true (any case) are true.</summary>
    private static bool ReadBool(HttpRequest request, params string[] names) =>
        ReadParam(request, names)?.ToLowerInvariant() is "1" or "yes" or "true";

    private static List<string> Split(string? list) =>
        list is null ? [] : [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    [GeneratedRegex(@"^[0-9]{1,20}-[0-9]{1,20}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^(?<part>[0-9]+(h|ms|m|s))+$")]
    private static partial Regex DurationPattern();
}
