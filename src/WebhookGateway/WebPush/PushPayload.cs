using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lib.Net.Http.WebPush;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// What a published message says, read by the payload contract the gateway's routes share
/// (<see cref="Publishing.NtfyPayload"/>): the fields of an ntfy message, or the whole payload as its text.
/// </summary>
internal sealed record NotificationFields(string Message, string? Title, int? Priority, IReadOnlyList<string> Tags, string? Click, string? Icon)
{
    /// <summary>The fields of <paramref name="payload"/> as <see cref="Publishing.NtfyPayload.TryDecode"/> reads them; any other payload is the message text.</summary>
    public static NotificationFields Decode(ReadOnlySpan<byte> payload) =>
        Publishing.NtfyPayload.TryDecode(payload, out var fields)
            ? new NotificationFields(fields.Message ?? "", fields.Title, fields.Priority, fields.Tags, fields.Click, fields.Icon)
            : new NotificationFields(Encoding.UTF8.GetString(payload), null, null, [], null, null);

    /// <summary>ntfy's priorities as RFC 8030 urgencies: 1 very-low, 2 low, 3 (and none) normal, 4 and 5 high.</summary>
    public PushMessageUrgency Urgency => Priority switch
    {
        1 => PushMessageUrgency.VeryLow,
        2 => PushMessageUrgency.Low,
        4 or 5 => PushMessageUrgency.High,
        _ => PushMessageUrgency.Normal,
    };
}

/// <summary>The JSON a push carries, kept small enough for every push service.</summary>
internal static class PushPayload
{
    /// <summary>
    /// Push services take 4096 bytes of encrypted body (RFC 8291 section 4): one aes128gcm record of
    /// a 86-byte header (salt, record size, key id length, the gateway's 65-byte key), the text, its
    /// one-byte padding delimiter and the 16-byte tag.
    /// </summary>
    public const int MaxPlaintextBytes = 4096 - 86 - 1 - 16;

    private const string Ellipsis = "…";

    /// <summary>
    /// <c>{"channel","time","title","message","priority","tags","click","icon"?,"missed"}</c>, within
    /// <see cref="MaxPlaintextBytes"/>: the message is cut (ending in an ellipsis) to fit, then the title,
    /// and a click URL or tags that still do not fit are left out.
    /// </summary>
    public static byte[] Build(string channel, DateTimeOffset time, NotificationFields fields, int missed)
    {
        var message = fields.Message;
        var title = fields.Title;
        var click = fields.Click;
        var icon = fields.Icon;
        var tags = fields.Tags;
        for (var attempt = 0; ; attempt++)
        {
            var bytes = Serialize(channel, time, title, message, fields.Priority, tags, click, icon, missed);
            var over = bytes.Length - MaxPlaintextBytes;
            if (over <= 0)
            {
                return bytes;
            }

            if (Encoding.UTF8.GetByteCount(message) > Ellipsis.Length * 3 && attempt < 8)
            {
                message = Cut(message, over);
            }
            else if (title is not null && Encoding.UTF8.GetByteCount(title) > Ellipsis.Length * 3 && attempt < 16)
            {
                title = Cut(title, over);
            }
            else if (click is not null || icon is not null)
            {
                (click, icon) = (null, null);
            }
            else if (tags.Count > 0)
            {
                tags = [];
            }
            else
            {
                // A channel name over 3.9 KB: the gateway's channel bound keeps this from happening.
                return Serialize(channel[..Math.Min(channel.Length, 256)], time, null, Ellipsis, fields.Priority, [], null, null, missed);
            }
        }
    }

    /// <summary>A per-channel Topic header (RFC 8030 section 5.4): 32 base64url characters of the channel's SHA-256.</summary>
    public static string Topic(string channel) =>
        System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(channel)).AsSpan(0, 24));

    /// <summary><paramref name="text"/> shorter by at least <paramref name="overBytes"/> UTF-8 bytes (escaping may cost more: the caller measures again), ending in an ellipsis.</summary>
    private static string Cut(string text, int overBytes)
    {
        var keep = Math.Max(0, Encoding.UTF8.GetByteCount(text) - overBytes - Encoding.UTF8.GetByteCount(Ellipsis));
        var chars = 0;
        var bytes = 0;
        while (chars < text.Length)
        {
            var width = char.IsHighSurrogate(text[chars]) && chars + 1 < text.Length ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(text.AsSpan(chars, width));
            if (bytes + size > keep)
            {
                break;
            }

            bytes += size;
            chars += width;
        }

        return string.Concat(text.AsSpan(0, chars), Ellipsis);
    }

    private static byte[] Serialize(string channel, DateTimeOffset time, string? title, string message, int? priority, IReadOnlyList<string> tags, string? click, string? icon, int missed)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("channel", channel);
            json.WriteNumber("time", time.ToUnixTimeSeconds());
            json.WriteString("title", title);
            json.WriteString("message", message);
            json.WriteNumber("priority", priority ?? 3);
            json.WriteStartArray("tags");
            foreach (var tag in tags)
            {
                json.WriteStringValue(tag);
            }

            json.WriteEndArray();
            json.WriteString("click", click);
            if (icon is not null)
            {
                json.WriteString("icon", icon);
            }

            json.WriteNumber("missed", missed);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
