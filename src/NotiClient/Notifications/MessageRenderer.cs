using System.Globalization;
using System.Text.Json;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Notifications;

/// <summary>
/// Turns a message into a notification. Title = channel, body = message; a message that is a JSON
/// object with <c>title</c>, <c>message</c> or <c>body</c>, <c>url</c> (or ntfy's <c>click</c>),
/// <c>priority</c>, <c>tags</c> uses those. Tags are shown as ntfy shows them: a tag that names one
/// of ntfy's emoji (<c>warning</c>, <c>skull</c>, …) becomes that emoji before the title, the others a
/// last <c>Tags: a, b</c> line of the body.
/// </summary>
internal static class MessageRenderer
{
    public const int MaxTitleLength = 120;
    public const int MaxBodyLength = 500;
    public const int MaxBodyLines = 8;
    public const int MaxUrlLength = 300;

    public const int MaxTags = 16;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 16 };

    /// <summary>The emoji short codes ntfy's tags use most (ntfy's full list is gemoji's): others are shown as text.</summary>
    private static readonly Dictionary<string, string> TagEmoji = new(StringComparer.Ordinal)
    {
        ["+1"] = "👍", ["-1"] = "👎", ["bell"] = "🔔", ["bug"] = "🐛", ["calendar"] = "📅", ["cd"] = "💿",
        ["chart_with_downwards_trend"] = "📉", ["chart_with_upwards_trend"] = "📈", ["checkered_flag"] = "🏁",
        ["cloud"] = "☁️", ["computer"] = "💻", ["construction"] = "🚧", ["email"] = "📧", ["exclamation"] = "❗",
        ["fire"] = "🔥", ["floppy_disk"] = "💾", ["green_circle"] = "🟢", ["heart"] = "❤️", ["heavy_check_mark"] = "✔️",
        ["hourglass"] = "⌛", ["house"] = "🏠", ["information_source"] = "ℹ️", ["key"] = "🔑", ["lock"] = "🔒",
        ["loudspeaker"] = "📢", ["mailbox"] = "📫", ["moneybag"] = "💰", ["no_entry"] = "⛔", ["no_entry_sign"] = "🚫",
        ["package"] = "📦", ["partying_face"] = "🥳", ["question"] = "❓", ["red_circle"] = "🔴", ["robot"] = "🤖",
        ["rocket"] = "🚀", ["rotating_light"] = "🚨", ["skull"] = "💀", ["snowflake"] = "❄️", ["star"] = "⭐",
        ["sunny"] = "☀️", ["tada"] = "🎉", ["umbrella"] = "☔", ["warning"] = "⚠️", ["white_check_mark"] = "✅",
        ["x"] = "❌", ["yellow_circle"] = "🟡", ["zap"] = "⚡",
    };

    public static Notification Render(IncomingMessage message)
    {
        var title = message.Channel;
        var body = message.Payload;
        string? url = null;
        var urgency = Urgency.Normal;

        IReadOnlyList<string> tags = [];
        if (TryReadJsonFields(message.Payload, out var fields))
        {
            title = fields.Title ?? title;
            body = fields.Body ?? string.Empty;
            url = fields.Url;
            urgency = fields.Urgency ?? urgency;
            tags = fields.Tags;
        }

        var emoji = tags.Where(TagEmoji.ContainsKey).Select(tag => TagEmoji[tag]).ToList();
        var textTags = tags.Where(tag => !TagEmoji.ContainsKey(tag)).ToList();
        var cleanTitle = TextSanitizer.SingleLine(title, MaxTitleLength);
        if (cleanTitle.Length == 0)
        {
            cleanTitle = TextSanitizer.SingleLine(message.Channel, MaxTitleLength);
        }

        if (emoji.Count > 0)
        {
            cleanTitle = TextSanitizer.SingleLine($"{string.Concat(emoji)} {cleanTitle}", MaxTitleLength);
        }

        var cleanBody = TextSanitizer.MultiLine(body, MaxBodyLength, MaxBodyLines);
        if (textTags.Count > 0)
        {
            var line = TextSanitizer.SingleLine($"Tags: {string.Join(", ", textTags)}", MaxTitleLength);
            cleanBody = cleanBody.Length == 0 ? line : $"{cleanBody}\n{line}";
        }
        if (url is not null)
        {
            cleanBody = cleanBody.Length == 0 ? url : $"{cleanBody}\n{url}";
        }

        return new Notification(cleanTitle, cleanBody, urgency, message.Channel, url);
    }

    /// <summary>
    /// Priority as words (min, low, normal/default, high, urgent, critical, max) or as ntfy's 1–5:
    /// 1–2 low, 3 normal, 4–5 critical (a notification that stays until dismissed).
    /// </summary>
    public static Urgency? ParsePriority(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number))
        {
            return FromNumber(number);
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        var text = value.GetString()!.Trim().ToLowerInvariant();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var fromText))
        {
            return FromNumber(fromText);
        }

        return text switch
        {
            "min" or "low" or "quiet" => Urgency.Low,
            "normal" or "default" or "medium" => Urgency.Normal,
            "high" or "urgent" or "critical" or "max" or "emergency" => Urgency.Critical,
            _ => null,
        };
    }

    private static Urgency? FromNumber(double number) => number switch
    {
        double.NaN => null,
        <= 2 => Urgency.Low,
        < 4 => Urgency.Normal,
        _ => Urgency.Critical,
    };

    private readonly record struct JsonFields(string? Title, string? Body, string? Url, Urgency? Urgency, IReadOnlyList<string> Tags);

    private static bool TryReadJsonFields(string payload, out JsonFields fields)
    {
        fields = default;
        var trimmed = payload.AsSpan().TrimStart();
        if (trimmed.Length == 0 || trimmed[0] != '{')
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(payload, JsonOptions);
            var root = document.RootElement;
            string? title = null, body = null, url = null, click = null;
            Urgency? urgency = null;
            var tags = new List<string>();
            var known = false;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name.ToLowerInvariant())
                {
                    case "title":
                        title = AsText(property.Value);
                        known |= title is not null;
                        break;
                    case "message" or "body":
                        body ??= AsText(property.Value);
                        known |= body is not null;
                        break;
                    case "url":
                        url = AsHttpUrl(property.Value);
                        break;
                    case "click":
                        click = AsHttpUrl(property.Value);
                        break;
                    case "tags" when property.Value.ValueKind == JsonValueKind.Array:
                        foreach (var tag in property.Value.EnumerateArray())
                        {
                            if (tags.Count < MaxTags && tag.ValueKind == JsonValueKind.String && tag.GetString()!.Trim() is { Length: > 0 } text)
                            {
                                tags.Add(text);
                            }
                        }

                        break;
                    case "priority":
                        urgency = ParsePriority(property.Value);
                        break;
                }
            }

            // A JSON object with none of our fields is shown as it is: it is still a message.
            if (!known)
            {
                return false;
            }

            // ntfy's click is the URL to open, when there is no url of our own.
            fields = new JsonFields(title, body, url ?? click, urgency, tags);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? AsText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
        _ => null,
    };

    /// <summary>Only absolute http(s) URLs; anything else (javascript:, file:, relative) is dropped.</summary>
    private static string? AsHttpUrl(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String
            || !Uri.TryCreate(value.GetString()!.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return null;
        }

        var text = uri.AbsoluteUri;
        return text.Length <= MaxUrlLength ? text : null;
    }
}
