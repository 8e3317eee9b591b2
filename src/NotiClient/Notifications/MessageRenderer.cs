using System.Globalization;
using System.Text.Json;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Notifications;

/// <summary>
/// Turns a message into a notification. Title = channel, body = message; a message that is a JSON
/// object with <c>title</c>, <c>message</c> or <c>body</c>, <c>url</c>, <c>priority</c> uses those.
/// </summary>
internal static class MessageRenderer
{
    public const int MaxTitleLength = 120;
    public const int MaxBodyLength = 500;
    public const int MaxBodyLines = 8;
    public const int MaxUrlLength = 300;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 16 };

    public static Notification Render(IncomingMessage message)
    {
        var title = message.Channel;
        var body = message.Payload;
        string? url = null;
        var urgency = Urgency.Normal;

        if (TryReadJsonFields(message.Payload, out var fields))
        {
            title = fields.Title ?? title;
            body = fields.Body ?? string.Empty;
            url = fields.Url;
            urgency = fields.Urgency ?? urgency;
        }

        var cleanTitle = TextSanitizer.SingleLine(title, MaxTitleLength);
        if (cleanTitle.Length == 0)
        {
            cleanTitle = TextSanitizer.SingleLine(message.Channel, MaxTitleLength);
        }

        var cleanBody = TextSanitizer.MultiLine(body, MaxBodyLength, MaxBodyLines);
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

    private readonly record struct JsonFields(string? Title, string? Body, string? Url, Urgency? Urgency);

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
            string? title = null, body = null, url = null;
            Urgency? urgency = null;
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

            fields = new JsonFields(title, body, url, urgency);
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
