using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Notistream.Gateway.Publishing;

/// <summary>
/// The fields of an ntfy message that travel with it over RESP. <see cref="Priority"/> is 1–5, or null
/// for the default (3); <see cref="Tags"/> is empty when none were given.
/// </summary>
internal sealed record NtfyFields
{
    public string? Message { get; init; }

    public string? Title { get; init; }

    public int? Priority { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    public string? Click { get; init; }

    public string? Icon { get; init; }

    public bool Markdown { get; init; }

    /// <summary>True when nothing but the message is set (a priority of 3 is the default, so nothing).</summary>
    public bool IsPlain => Title is null && Priority is null or NtfyPayload.DefaultPriority && Tags.Count == 0
        && Click is null && Icon is null && !Markdown;
}

/// <summary>
/// What a RESP subscriber receives for a message published the ntfy way. The one format, shared by
/// the publish routes (which encode) and the subscribe routes (which decode):
/// <list type="bullet">
/// <item>the message itself, byte for byte, when nothing but the message was given;</item>
/// <item>otherwise a compact UTF-8 JSON object with only the keys present, in this order:
/// <c>message</c> (string), <c>title</c> (string), <c>priority</c> (integer 1–5, left out for 3),
/// <c>tags</c> (array of strings), <c>click</c> (string), <c>icon</c> (string), <c>markdown</c> (true).
/// No id or time: a message's id is its id in the channel's history.</item>
/// </list>
/// Both methods are pure and thread-safe.
/// </summary>
internal static class NtfyPayload
{
    public const int DefaultPriority = 3;

    /// <summary>
    /// The payload for <paramref name="fields"/>: the message's UTF-8 bytes when <see cref="NtfyFields.IsPlain"/>,
    /// otherwise the JSON object. <see cref="NtfyFields.Message"/> must be set.
    /// </summary>
    public static byte[] Encode(NtfyFields fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(fields.Message, "fields.Message");
        if (fields.IsPlain)
        {
            return Encoding.UTF8.GetBytes(fields.Message);
        }

        var json = new StringBuilder(fields.Message.Length + 64).Append('{');
        Property(json, "message", fields.Message);
        if (fields.Title is not null)
        {
            Property(json.Append(','), "title", fields.Title);
        }

        if (fields.Priority is { } priority and not DefaultPriority)
        {
            json.Append(",\"priority\":").Append(priority.ToString(CultureInfo.InvariantCulture));
        }

        if (fields.Tags.Count > 0)
        {
            json.Append(",\"tags\":[");
            for (var i = 0; i < fields.Tags.Count; i++)
            {
                String(i == 0 ? json : json.Append(','), fields.Tags[i]);
            }

            json.Append(']');
        }

        if (fields.Click is not null)
        {
            Property(json.Append(','), "click", fields.Click);
        }

        if (fields.Icon is not null)
        {
            Property(json.Append(','), "icon", fields.Icon);
        }

        if (fields.Markdown)
        {
            json.Append(",\"markdown\":true");
        }

        return Encoding.UTF8.GetBytes(json.Append('}').ToString());
    }

    private static void Property(StringBuilder json, string name, string value) => String(json.Append('"').Append(name).Append("\":"), value);

    /// <summary>
    /// A JSON string with only what JSON requires escaped (quote, backslash, control characters): the
    /// rest, emoji too, stays as it is, so the payload is plain UTF-8 text about the message's size.
    /// </summary>
    private static void String(StringBuilder json, string value)
    {
        json.Append('"');
        foreach (var c in value)
        {
            _ = c switch
            {
                '"' => json.Append("\\\""),
                '\\' => json.Append("\\\\"),
                '\n' => json.Append("\\n"),
                '\r' => json.Append("\\r"),
                '\t' => json.Append("\\t"),
                < ' ' => json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => json.Append(c),
            };
        }

        json.Append('"');
    }

    /// <summary>
    /// True when <paramref name="payload"/> is a JSON object in the format above: a string <c>message</c>,
    /// and besides it only the keys above, each once, of its type (a priority of 3 and <c>"markdown": false</c>
    /// are taken too). Anything else — text, other JSON, malformed JSON — is a plain message: false.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out NtfyFields fields)
    {
        fields = null!;
        var start = 0;
        while (start < payload.Length && payload[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            start++;
        }

        if (start == payload.Length || payload[start] != (byte)'{')
        {
            return false;
        }

        try
        {
            return TryRead(payload, out fields);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Malformed JSON, or a string that does not decode (an escaped lone surrogate).
            fields = null!;
            return false;
        }
    }

    private static bool TryRead(ReadOnlySpan<byte> payload, out NtfyFields fields)
    {
        fields = null!;
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 4 });
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        string? message = null, title = null, click = null, icon = null;
        int? priority = null;
        List<string>? tags = null;
        var markdown = false;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.ValueTextEquals("message"u8) ? 1
                : reader.ValueTextEquals("title"u8) ? 2
                : reader.ValueTextEquals("priority"u8) ? 4
                : reader.ValueTextEquals("tags"u8) ? 8
                : reader.ValueTextEquals("click"u8) ? 16
                : reader.ValueTextEquals("icon"u8) ? 32
                : reader.ValueTextEquals("markdown"u8) ? 64
                : 0;
            if (key == 0 || (seen & key) != 0)
            {
                return false;
            }

            seen |= key;
            reader.Read();
            switch (key)
            {
                case 1 or 2 or 16 or 32:
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        return false;
                    }

                    var text = reader.GetString()!;
                    if (key == 1)
                    {
                        message = text;
                    }
                    else if (key == 2)
                    {
                        title = text;
                    }
                    else if (key == 16)
                    {
                        click = text;
                    }
                    else
                    {
                        icon = text;
                    }

                    break;
                case 4:
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var number) || number is < 1 or > 5)
                    {
                        return false;
                    }

                    priority = number == DefaultPriority ? null : number;
                    break;
                case 8:
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        return false;
                    }

                    tags = [];
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.String)
                        {
                            return false;
                        }

                        tags.Add(reader.GetString()!);
                    }

                    break;
                default:
                    if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                    {
                        return false;
                    }

                    markdown = reader.GetBoolean();
                    break;
            }
        }

        // The object must end here, with nothing after it but whitespace.
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || message is null)
        {
            return false;
        }

        fields = new NtfyFields
        {
            Message = message,
            Title = title,
            Priority = priority,
            Tags = tags ?? [],
            Click = click,
            Icon = icon,
            Markdown = markdown,
        };
        return true;
    }
}
