using System.Text;
using System.Text.Json;
using Microsoft.Net.Http.Headers;

namespace Notistream.Gateway.Endpoints;

/// <summary>A channel and a message taken from a request, or the 400 text saying what is wrong.</summary>
internal readonly record struct PublishRequest(string? Channel, ReadOnlyMemory<byte> Message, string? Error)
{
    public static PublishRequest Invalid(string error) => new(null, default, error);

    /// <summary>The body formats <c>POST /</c> takes; null for anything else (415).</summary>
    public static string? BodyFormat(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media))
        {
            return null;
        }

        return media.MediaType.Value?.ToLowerInvariant() switch
        {
            "application/x-www-form-urlencoded" or "multipart/form-data" => "form",
            "application/json" => "json",
            _ => media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase) ? "json" : null,
        };
    }

    /// <summary>Fields <c>channel</c> and <c>message</c> of a form; each given exactly once.</summary>
    public static PublishRequest FromForm(IFormCollection form)
    {
        if (Single(form, "channel", out var channel) is { } channelError)
        {
            return Invalid(channelError);
        }

        if (Single(form, "message", out var message) is { } messageError)
        {
            return Invalid(messageError);
        }

        return new PublishRequest(channel, Encoding.UTF8.GetBytes(message!), null);
    }

    /// <summary>A JSON object <c>{"channel": "…", "message": "…"}</c>; other properties are ignored.</summary>
    public static PublishRequest FromJson(byte[] body)
    {
        if (JsonBody.Parse(body, "the body", out var error) is not { } document)
        {
            return Invalid(error!);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Invalid("the JSON body must be an object {\"channel\": \"…\", \"message\": \"…\"}");
            }

            if (JsonString(root, "channel", out var channel) is { } channelError)
            {
                return Invalid(channelError);
            }

            if (JsonString(root, "message", out var message) is { } messageError)
            {
                return Invalid(messageError);
            }

            return new PublishRequest(channel, Encoding.UTF8.GetBytes(message!), null);
        }
    }

    /// <summary>Null when <paramref name="channel"/> can be published to; otherwise the reason.</summary>
    public static string? ChannelError(string? channel, int maxBytes)
    {
        if (channel is null)
        {
            return "channel is missing";
        }

        if (string.IsNullOrWhiteSpace(channel))
        {
            return "channel is empty";
        }

        if (Encoding.UTF8.GetByteCount(channel) > maxBytes)
        {
            return $"channel is longer than {maxBytes} bytes";
        }

        foreach (var c in channel)
        {
            if (char.IsControl(c))
            {
                return "channel contains a control character";
            }

            if (char.IsSurrogate(c) && !IsWellFormed(channel))
            {
                return "channel is not valid UTF-16 text";
            }
        }

        return null;
    }

    private static bool IsWellFormed(string text)
    {
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetByteCount(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    private static string? Single(IFormCollection form, string name, out string? value)
    {
        value = null;
        if (!form.TryGetValue(name, out var values) || values.Count == 0)
        {
            return $"{name} is missing";
        }

        if (values.Count > 1)
        {
            return $"{name} is given {values.Count} times; give it once";
        }

        value = values[0] ?? string.Empty;
        return value.Length == 0 ? $"{name} is empty" : null;
    }

    private static string? JsonString(JsonElement root, string name, out string? value)
    {
        value = null;
        if (!root.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            return $"{name} is missing";
        }

        if (property.ValueKind != JsonValueKind.String)
        {
            return $"{name} must be a JSON string, not {property.ValueKind.ToString().ToLowerInvariant()}";
        }

        value = property.GetString() ?? string.Empty; // decodes: JsonBody.Parse refused lone surrogates
        return value.Length == 0 ? $"{name} is empty" : null;
    }
}
