using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Notistream.Gateway.Subscribing;

/// <summary>
/// ntfy's message JSON (its server/types.go <c>message</c>: <c>id</c>, <c>time</c>, <c>event</c>,
/// <c>topic</c>, then <c>title</c>, <c>message</c>, <c>priority</c>, <c>tags</c>, <c>click</c>, <c>icon</c>,
/// <c>content_type</c>, <c>encoding</c>, empty ones left out as ntfy leaves them out), plus ours:
/// <c>channel</c> (the same as <c>topic</c>), <c>pattern</c> when a pattern matched, and a gap's
/// <c>missed</c>. Unknown fields and events are ignored by ntfy's clients.
/// </summary>
internal sealed class NtfyMessage
{
    public required string Id { get; init; }

    public required long Time { get; init; }

    public required string Event { get; init; }

    public required string Topic { get; init; }

    public string? Title { get; init; }

    public string? Message { get; init; }

    public int Priority { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    public string? Click { get; init; }

    public string? Icon { get; init; }

    public string? ContentType { get; init; }

    public string? Encoding { get; init; }

    public string? Channel { get; init; }

    public string? Pattern { get; init; }

    public bool IsGap { get; init; }

    public long? Missed { get; init; }

    public bool IsMessage => Event == "message";

    /// <summary><c>open</c> or <c>keepalive</c>, with a random id as ntfy gives them; <paramref name="topics"/> as the path listed them.</summary>
    public static NtfyMessage Control(string @event, string topics, TimeProvider time) =>
        new() { Id = RandomId(), Time = time.GetUtcNow().ToUnixTimeSeconds(), Event = @event, Topic = topics };

    /// <summary>A message event, its fields expanded from the payload when it is an ntfy-fields JSON object.</summary>
    public static NtfyMessage From(SubscriptionEvent e, TimeProvider time)
    {
        if (e.IsGap)
        {
            return new()
            {
                Id = RandomId(),
                Time = time.GetUtcNow().ToUnixTimeSeconds(),
                Event = "gap",
                Topic = e.Channel,
                Channel = e.Pattern is null ? e.Channel : null,
                Pattern = e.Pattern,
                IsGap = true,
                Missed = e.Missed,
            };
        }

        var payload = e.Payload!;
        if (SubscribePayload.TryDecodeNtfyFields(payload, out var fields))
        {
            return new()
            {
                Id = e.Id!,
                Time = e.Milliseconds / 1000,
                Event = "message",
                Topic = e.Channel,
                Title = fields.Title,
                Message = fields.Message,
                Priority = fields.Priority,
                Tags = fields.Tags,
                Click = fields.Click,
                Icon = fields.Icon,
                ContentType = fields.Markdown ? "text/markdown" : null,
                Channel = e.Channel,
                Pattern = e.Pattern,
            };
        }

        // Not UTF-8: base64, with ntfy's "encoding" field saying so.
        var text = SubscribePayload.Utf8OrNull(payload);
        return new()
        {
            Id = e.Id!,
            Time = e.Milliseconds / 1000,
            Event = "message",
            Topic = e.Channel,
            Message = text ?? Convert.ToBase64String(payload),
            Encoding = text is null ? "base64" : null,
            Channel = e.Channel,
            Pattern = e.Pattern,
        };
    }

    /// <summary>The JSON object, on one line, without a newline.</summary>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", Id);
            json.WriteNumber("time", Time);
            json.WriteString("event", Event);
            json.WriteString("topic", Topic);
            WriteIfAny(json, "title", Title);
            WriteIfAny(json, "message", Message);
            if (Priority != 0)
            {
                json.WriteNumber("priority", Priority);
            }

            if (Tags is { Count: > 0 })
            {
                json.WriteStartArray("tags");
                foreach (var tag in Tags)
                {
                    json.WriteStringValue(tag);
                }

                json.WriteEndArray();
            }

            WriteIfAny(json, "click", Click);
            WriteIfAny(json, "icon", Icon);
            WriteIfAny(json, "content_type", ContentType);
            WriteIfAny(json, "encoding", Encoding);
            WriteIfAny(json, "channel", Channel);
            WriteIfAny(json, "pattern", Pattern);
            if (IsGap)
            {
                if (Missed is { } missed)
                {
                    json.WriteNumber("missed", missed);
                }
                else
                {
                    json.WriteNull("missed");
                }
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteIfAny(Utf8JsonWriter json, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            json.WriteString(name, value);
        }
    }

    /// <summary>12 letters and digits, as ntfy's own ids look; for events that are no stored message.</summary>
    private static string RandomId() => RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 12);
}

/// <summary>The ntfy fields a payload may carry (see <see cref="SubscribePayload.TryDecodeNtfyFields"/>).</summary>
internal sealed record NtfyFields(string? Message, string? Title, int Priority, IReadOnlyList<string>? Tags, string? Click, string? Icon, bool Markdown);

/// <summary>
/// The payload contract of the ntfy-compatible routes, as the subscribe side reads it: a message that is a
/// UTF-8 JSON object whose keys are only among <c>message</c>, <c>title</c>, <c>priority</c> (an integer
/// 1–5), <c>tags</c> (an array of strings), <c>click</c>, <c>icon</c>, <c>markdown</c> (a boolean) is
/// expanded into those fields; any other payload is the message text as it is. Kept private to the
/// subscribe code until the publish side's decoder is shared.
/// </summary>
internal static class SubscribePayload
{
    private static readonly UTF8Encoding _strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string? Utf8OrNull(byte[] payload)
    {
        try
        {
            return _strict.GetString(payload);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>True, with the fields, when <paramref name="payload"/> is such an object with at least one key; false for anything else.</summary>
    public static bool TryDecodeNtfyFields(ReadOnlySpan<byte> payload, out NtfyFields fields)
    {
        fields = null!;
        var trimmed = payload.Trim(" \t\r\n"u8);
        if (trimmed.Length < 2 || trimmed[0] != (byte)'{')
        {
            return false;
        }

        string? message = null, title = null, click = null, icon = null;
        int priority = 0;
        List<string>? tags = null;
        var markdown = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(trimmed.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    return false;
                }

                var value = property.Value;
                switch (property.Name)
                {
                    case "message" when value.ValueKind == JsonValueKind.String:
                        message = value.GetString();
                        break;
                    case "title" when value.ValueKind == JsonValueKind.String:
                        title = value.GetString();
                        break;
                    case "click" when value.ValueKind == JsonValueKind.String:
                        click = value.GetString();
                        break;
                    case "icon" when value.ValueKind == JsonValueKind.String:
                        icon = value.GetString();
                        break;
                    case "priority" when value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var p) && p is >= 1 and <= 5:
                        priority = p;
                        break;
                    case "markdown" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                        markdown = value.GetBoolean();
                        break;
                    case "tags" when value.ValueKind == JsonValueKind.Array:
                        tags = [];
                        foreach (var tag in value.EnumerateArray())
                        {
                            if (tag.ValueKind != JsonValueKind.String)
                            {
                                return false;
                            }

                            tags.Add(tag.GetString()!);
                        }

                        break;
                    default:
                        return false;
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            return false;
        }

        if (seen.Count == 0)
        {
            return false;
        }

        fields = new NtfyFields(message, title, priority, tags, click, icon, markdown);
        return true;
    }

    /// <summary>ntfy's priority names and numbers (<c>util.ParsePriority</c>): 1–5, min, low, default, high, max, urgent.</summary>
    public static int? ParsePriority(string text) => text.Trim().ToLowerInvariant() switch
    {
        "1" or "min" => 1,
        "2" or "low" => 2,
        "" or "3" or "default" => 3,
        "4" or "high" => 4,
        "5" or "max" or "urgent" => 5,
        _ => null,
    };

    internal static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
