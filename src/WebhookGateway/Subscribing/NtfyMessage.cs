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

    /// <summary>
    /// On <c>open</c>: where the server starts (NOTI.SUBSCRIBE's confirmed from): the cursor asked for, or, for a
    /// cursor above any id the server has given, its last id (a gap of unknown size is reported then).
    /// </summary>
    public string? FromId { get; init; }

    /// <summary>On <c>open</c>: the server's last id when the subscription started (messages up to it are the catch-up).</summary>
    public string? Last { get; init; }

    /// <summary>On <c>open</c>: the seconds between keepalives, so a client can tell a silent connection from an idle one.</summary>
    public double? Keepalive { get; init; }

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
        if (Publishing.NtfyPayload.TryDecode(payload, out var fields))
        {
            return new()
            {
                Id = e.Id!,
                Time = e.Milliseconds / 1000,
                Event = "message",
                Topic = e.Channel,
                Title = fields.Title,
                Message = fields.Message,
                Priority = fields.Priority ?? 0,
                Tags = fields.Tags.Count == 0 ? null : fields.Tags,
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
            WriteJson(json);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the JSON object to <paramref name="json"/> and flushes it.</summary>
    public void WriteJson(Utf8JsonWriter json)
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
        WriteIfAny(json, "from", FromId);
        WriteIfAny(json, "last", Last);
        if (Keepalive is { } keepalive)
        {
            json.WriteNumber("keepalive", keepalive);
        }

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
        json.Flush();
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

/// <summary>
/// A payload's text: the ntfy fields are read by <see cref="Publishing.NtfyPayload.TryDecode"/>; any other
/// payload is the message text as it is, or base64 when it is not UTF-8.
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
}
