using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Notistream.Gateway.Options;
using Notistream.Gateway.Publishing;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// ntfy's error body, <c>{"code":40007,"http":400,"error":"invalid priority parameter","link":"…"}</c>, with
/// ntfy's own codes and texts (server/errors.go); <see cref="Code"/> 0 is left out, as ntfy does, for
/// the errors ntfy has no code for.
/// </summary>
internal readonly record struct NtfyError(int Code, string Error, string? Link = null)
{
    public static readonly NtfyError BadRequest = new(40000, "invalid request");
    public static readonly NtfyError PriorityInvalid = new(40007, "invalid priority parameter", "https://ntfy.sh/docs/publish/#message-priority");
    public static readonly NtfyError TopicInvalid = new(40009, "invalid request: topic invalid");
    public static readonly NtfyError MessageNotUtf8 = new(40011, "invalid request: message must be UTF-8 encoded");
    public static readonly NtfyError IconUrlInvalid = new(40021, "invalid request: icon URL is invalid", "https://ntfy.sh/docs/publish/#icons");
    public static readonly NtfyError JsonInvalid = new(40024, "invalid request: request body must be valid JSON");
    public static readonly NtfyError Unauthorized = new(40101, "unauthorized", "https://ntfy.sh/docs/publish/#authentication");
    public static readonly NtfyError Forbidden = new(40301, "forbidden", "https://ntfy.sh/docs/publish/#authentication");
    public static readonly NtfyError TooManyRequests = new(42901, "limit reached: too many requests", "https://ntfy.sh/docs/publish/#limitations");

    /// <summary>ntfy's <c>Wrap</c>: the error's text, then what exactly is wrong.</summary>
    public NtfyError Wrap(string detail) => this with { Error = $"{Error}; {detail}" };

    /// <summary>An error ntfy has no code for: the text alone.</summary>
    public static NtfyError Uncoded(string error) => new(0, error);
}

/// <summary>A refused publish: the status, the problem's <c>detail</c>, and ntfy's error beside it.</summary>
internal sealed record NtfyProblem(int Status, string Detail, NtfyError Ntfy)
{
    public static NtfyProblem BadRequest(string detail) => new(StatusCodes.Status400BadRequest, detail, NtfyError.BadRequest.Wrap(detail));

    public IResult ToResult() => GatewayResults.Problem(Status, Detail, Ntfy);
}

/// <summary>
/// The answer to an ntfy-style publish: ntfy's message JSON (server/types.go, same names and order, empty
/// fields left out) with our <c>channel</c> and <c>receivers</c> after it. <c>id</c> is the message's id in
/// the channel's history ("ms-seq"), or 12 random letters and digits, as ntfy's own, when the server keeps
/// none; <c>time</c> is the id's time in unix seconds (the time of the reply without history).
/// </summary>
internal sealed record NtfyPublishedResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("time")] long Time,
    [property: JsonPropertyName("event")] string Event,
    [property: JsonPropertyName("topic")] string Topic,
    [property: JsonPropertyName("title"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Title,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("priority"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Priority,
    [property: JsonPropertyName("tags"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Tags,
    [property: JsonPropertyName("click"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Click,
    [property: JsonPropertyName("icon"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Icon,
    [property: JsonPropertyName("content_type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ContentType,
    [property: JsonPropertyName("encoding"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Encoding,
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("receivers")] long Receivers)
{
    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <param name="priority">As given (3 too, as ntfy answers it); null when none was.</param>
    /// <param name="message">The published message: UTF-8 text, or bytes that are not, sent back as base64 with <c>encoding</c>.</param>
    public static NtfyPublishedResponse Create(PublishOutcome outcome, string channel, NtfyFields fields, int? priority, ReadOnlySpan<byte> message)
    {
        var (id, time) = outcome.Id is { } historyId ? (historyId, TimeOf(historyId)) : (RandomId(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        string? encoding = null;
        var text = fields.Message;
        if (text is null && !NtfyRequest.TryDecodeUtf8(message, out text))
        {
            (text, encoding) = (Convert.ToBase64String(message), "base64");
        }

        return new NtfyPublishedResponse(id, time, "message", channel, fields.Title, text, priority,
            fields.Tags.Count > 0 ? fields.Tags : null, fields.Click, fields.Icon,
            fields.Markdown ? "text/markdown" : null, encoding, channel, outcome.Receivers);
    }

    private static long TimeOf(string historyId)
    {
        var dash = historyId.IndexOf('-', StringComparison.Ordinal);
        return long.TryParse(dash < 0 ? historyId : historyId[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? ms / 1000
            : DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    private static string RandomId() => new(RandomNumberGenerator.GetItems<char>(IdAlphabet, 12));
}

/// <summary>
/// Reads ntfy's publish parameters as ntfy does (server/util.go <c>readParam</c>): each from the first of
/// its names given as a header (RFC 2047 encoded words decoded), else the first given as a query
/// parameter; values are trimmed and an empty one counts as absent. A value over its bound is a 400
/// naming it, never truncated: the body and a Message parameter are bounded by MaxMessageBytes, the rest here.
/// </summary>
internal static partial class NtfyRequest
{
    /// <summary>Longest title in UTF-8 bytes.</summary>
    public const int MaxTitleBytes = 256;

    /// <summary>Longest Click or Icon URL in UTF-8 bytes.</summary>
    public const int MaxUrlBytes = 2048;

    /// <summary>Most tags on one message.</summary>
    public const int MaxTags = 16;

    /// <summary>Longest tag in UTF-8 bytes.</summary>
    public const int MaxTagBytes = 64;

    private static readonly string[] _titleNames = ["x-title", "title", "t"];
    private static readonly string[] _messageNames = ["x-message", "message", "m"];
    private static readonly string[] _priorityNames = ["x-priority", "priority", "prio", "p"];
    private static readonly string[] _tagNames = ["x-tags", "tags", "tag", "ta"];
    private static readonly string[] _clickNames = ["x-click", "click"];
    private static readonly string[] _iconNames = ["x-icon", "icon"];
    private static readonly string[] _markdownNames = ["x-markdown", "markdown", "md"];
    private static readonly string[] _contentTypeNames = ["content-type", "content_type"];

    private static readonly UTF8Encoding _strictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>
    /// The fields the request's headers and query give, the message from <c>Message</c>/<c>m</c> if any
    /// (ntfy's <c>\n</c> becomes a line break), and the priority as given; or the problem.
    /// </summary>
    public static NtfyProblem? FromParameters(HttpRequest request, int maxMessageBytes, out NtfyFields fields, out int? priority)
    {
        fields = new NtfyFields();
        priority = null;
        var message = Read(request, _messageNames)?.Replace("\\n", "\n", StringComparison.Ordinal);
        if (message is not null && Encoding.UTF8.GetByteCount(message) > maxMessageBytes)
        {
            return new NtfyProblem(StatusCodes.Status413PayloadTooLarge,
                string.Create(CultureInfo.InvariantCulture, $"the message is larger than the limit of {maxMessageBytes} bytes"),
                NtfyError.Uncoded($"the message is larger than the limit of {maxMessageBytes} bytes"));
        }

        if (ParsePriority(Read(request, _priorityNames), out priority) is { } priorityProblem)
        {
            return priorityProblem;
        }

        var tags = Read(request, _tagNames) is { } tagList
            ? tagList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : [];
        var markdown = Read(request, _markdownNames)?.ToLowerInvariant() is "1" or "yes" or "true"
            || string.Equals(Read(request, _contentTypeNames), "text/markdown", StringComparison.OrdinalIgnoreCase);
        fields = new NtfyFields
        {
            Message = message,
            Title = Read(request, _titleNames),
            Priority = priority,
            Tags = tags,
            Click = Read(request, _clickNames),
            Icon = Read(request, _iconNames),
            Markdown = markdown,
        };
        return Bounds(fields);
    }

    /// <summary>
    /// ntfy's publish JSON (<c>topic</c>, <c>message</c>, <c>title</c>, <c>priority</c> as a number 0–5,
    /// <c>tags</c>, <c>click</c>, <c>icon</c>, <c>markdown</c>; other properties ignored, as ntfy does).
    /// </summary>
    public static NtfyProblem? FromJson(JsonElement root, GatewayOptions settings, out string topic, out NtfyFields fields, out int? priority)
    {
        topic = string.Empty;
        fields = new NtfyFields();
        priority = null;
        string? givenTopic = null;
        if (root.TryGetProperty("topic", out var topicValue) && topicValue.ValueKind != JsonValueKind.Null)
        {
            if (topicValue.ValueKind != JsonValueKind.String)
            {
                return TypeProblem("topic", "a string");
            }

            givenTopic = topicValue.GetString();
        }

        if (PublishRequest.ChannelError(givenTopic, settings.MaxChannelBytes) is { } channelError)
        {
            return new NtfyProblem(StatusCodes.Status400BadRequest, $"topic: {channelError}", NtfyError.TopicInvalid.Wrap(channelError));
        }

        topic = givenTopic!;
        string? message = null, title = null, click = null, icon = null;
        var problem = String(root, "message", out message) ?? String(root, "title", out title)
            ?? String(root, "click", out click) ?? String(root, "icon", out icon);
        if (problem is not null)
        {
            return problem;
        }

        if (root.TryGetProperty("priority", out var priorityValue) && priorityValue.ValueKind != JsonValueKind.Null)
        {
            if (priorityValue.ValueKind != JsonValueKind.Number || !priorityValue.TryGetInt32(out var number))
            {
                return TypeProblem("priority", "a number 1–5");
            }

            if (ParsePriority(number == 0 ? null : number.ToString(CultureInfo.InvariantCulture), out priority) is { } priorityProblem)
            {
                return priorityProblem;
            }
        }

        var tags = new List<string>();
        if (root.TryGetProperty("tags", out var tagValues) && tagValues.ValueKind != JsonValueKind.Null)
        {
            if (tagValues.ValueKind != JsonValueKind.Array)
            {
                return TypeProblem("tags", "an array of strings");
            }

            foreach (var tag in tagValues.EnumerateArray())
            {
                if (tag.ValueKind != JsonValueKind.String)
                {
                    return TypeProblem("tags", "an array of strings");
                }

                if (tag.GetString()!.Trim() is { Length: > 0 } trimmed)
                {
                    tags.Add(trimmed);
                }
            }
        }

        var markdown = false;
        if (root.TryGetProperty("markdown", out var markdownValue) && markdownValue.ValueKind != JsonValueKind.Null)
        {
            if (markdownValue.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return TypeProblem("markdown", "true or false");
            }

            markdown = markdownValue.GetBoolean();
        }

        fields = new NtfyFields
        {
            Message = message,
            Title = title,
            Priority = priority,
            Tags = tags,
            Click = click,
            Icon = icon,
            Markdown = markdown,
        };
        return Bounds(fields) ?? (message is null
            ? NtfyProblem.BadRequest("message is empty: give \"message\"")
            : null);
    }

    /// <summary>True and the text when <paramref name="bytes"/> is valid UTF-8; false and null otherwise.</summary>
    public static bool TryDecodeUtf8(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out string? text)
    {
        try
        {
            text = _strictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = null;
            return false;
        }
    }

    /// <summary>ntfy's <c>ParsePriority</c>: 1–5, min, low, default, high, max, urgent (any case); empty is none.</summary>
    public static NtfyProblem? ParsePriority(string? value, out int? priority)
    {
        priority = value?.Trim().ToLowerInvariant() switch
        {
            null or "" => null,
            "1" or "min" => 1,
            "2" or "low" => 2,
            "3" or "default" => 3,
            "4" or "high" => 4,
            "5" or "max" or "urgent" => 5,
            _ => -1,
        };
        if (priority != -1)
        {
            return null;
        }

        priority = null;
        return new NtfyProblem(StatusCodes.Status400BadRequest,
            $"priority '{value}' is not one of 1–5, min, low, default, high, max, urgent", NtfyError.PriorityInvalid);
    }

    private static NtfyProblem? Bounds(NtfyFields fields)
    {
        if (fields.Title is { } title && Encoding.UTF8.GetByteCount(title) > MaxTitleBytes)
        {
            return NtfyProblem.BadRequest($"title is longer than {MaxTitleBytes} bytes");
        }

        if (fields.Click is { } click && Encoding.UTF8.GetByteCount(click) > MaxUrlBytes)
        {
            return NtfyProblem.BadRequest($"click is longer than {MaxUrlBytes} bytes");
        }

        if (fields.Icon is { } icon)
        {
            if (Encoding.UTF8.GetByteCount(icon) > MaxUrlBytes)
            {
                return NtfyProblem.BadRequest($"icon is longer than {MaxUrlBytes} bytes");
            }

            if (!icon.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !icon.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                return new NtfyProblem(StatusCodes.Status400BadRequest, "icon must be an http:// or https:// URL", NtfyError.IconUrlInvalid);
            }
        }

        if (fields.Tags.Count > MaxTags)
        {
            return NtfyProblem.BadRequest($"tags: {fields.Tags.Count} given, at most {MaxTags}");
        }

        foreach (var tag in fields.Tags)
        {
            if (Encoding.UTF8.GetByteCount(tag) > MaxTagBytes)
            {
                return NtfyProblem.BadRequest($"a tag is longer than {MaxTagBytes} bytes");
            }
        }

        return null;
    }

    private static NtfyProblem? String(JsonElement root, string name, out string? value)
    {
        value = null;
        if (!root.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (property.ValueKind != JsonValueKind.String)
        {
            return TypeProblem(name, "a string");
        }

        var text = property.GetString()!; // decodes: JsonBody.Parse refused lone surrogates
        value = text.Length == 0 ? null : text;
        return null;
    }

    private static NtfyProblem TypeProblem(string name, string expected)
    {
        var detail = $"{name} must be {expected}";
        return new NtfyProblem(StatusCodes.Status400BadRequest, detail, NtfyError.JsonInvalid.Wrap(detail));
    }

    /// <summary>The first non-empty value among <paramref name="names"/> as headers, then as query parameters.</summary>
    private static string? Read(HttpRequest request, string[] names)
    {
        foreach (var name in names)
        {
            if (request.Headers.TryGetValue(name, out var values) && values.Count > 0)
            {
                var value = DecodeEncodedWords(values[0] ?? string.Empty).Trim();
                // Proxies (Cloudflare) add RFC 9218's "Priority: u=3, i": not ntfy's priority.
                if (name == "priority" && Rfc9218Priority().IsMatch(value))
                {
                    continue;
                }

                if (value.Length > 0)
                {
                    return value;
                }
            }
        }

        foreach (var name in names)
        {
            if (request.Query.TryGetValue(name, out var values) && values.Count > 0 && values[0]?.Trim() is { Length: > 0 } value)
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>RFC 2047 encoded words (<c>=?UTF-8?B?8J+HqfCfh6o=?=</c>, <c>=?UTF-8?Q?caf=C3=A9?=</c>), as ntfy decodes headers; a word that does not decode stays as it is.</summary>
    internal static string DecodeEncodedWords(string value)
    {
        if (!value.Contains("=?", StringComparison.Ordinal))
        {
            return value;
        }

        // Whitespace between two encoded words is dropped (RFC 2047 section 6.2).
        var joined = BetweenEncodedWords().Replace(value, "?==?");
        return EncodedWord().Replace(joined, match =>
        {
            Encoding encoding;
            try
            {
                encoding = Encoding.GetEncoding(match.Groups["charset"].Value);
            }
            catch (ArgumentException)
            {
                return match.Value;
            }

            var text = match.Groups["text"].Value;
            byte[] bytes;
            if (match.Groups["encoding"].Value is "B" or "b")
            {
                var padded = text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
                var buffer = new byte[padded.Length];
                if (!Convert.TryFromBase64String(padded, buffer, out var written))
                {
                    return match.Value;
                }

                bytes = buffer[..written];
            }
            else if (!TryDecodeQ(text, out bytes))
            {
                return match.Value;
            }

            try
            {
                return encoding.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                return match.Value;
            }
        });
    }

    private static bool TryDecodeQ(string text, out byte[] bytes)
    {
        var output = new List<byte>(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '_')
            {
                output.Add((byte)' ');
            }
            else if (c == '=')
            {
                if (i + 2 >= text.Length || !byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
                {
                    bytes = [];
                    return false;
                }

                output.Add(b);
                i += 2;
            }
            else if (c > 0x7F)
            {
                bytes = [];
                return false;
            }
            else
            {
                output.Add((byte)c);
            }
        }

        bytes = [.. output];
        return true;
    }

    [GeneratedRegex(@"^u=\d,\s*(i|\d)$|^u=\d$")]
    private static partial Regex Rfc9218Priority();

    [GeneratedRegex(@"=\?(?<charset>[^?*]+)(\*[^?]*)?\?(?<encoding>[BbQq])\?(?<text>[^?\s]*)\?=")]
    private static partial Regex EncodedWord();

    [GeneratedRegex(@"\?=\s+=\?")]
    private static partial Regex BetweenEncodedWords();
}
