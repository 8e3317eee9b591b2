using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// Parses a JSON request body, refusing what <see cref="JsonDocument"/> accepts but no reader can use:
/// a <c>\u</c> escape of a lone UTF-16 surrogate (<c>"\ud800"</c>). The document takes it, and reading
/// that string later, or looking up any property past such a property name, throws; here it is a
/// 400 like any other malformed body.
/// </summary>
internal static class JsonBody
{
    /// <summary>The document, or null and the reason (<paramref name="subject"/> names the body in it).</summary>
    public static JsonDocument? Parse(byte[] utf8, string subject, out string? error)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8);
        }
        catch (JsonException ex)
        {
            error = $"{subject} is not valid JSON: {ex.Message}";
            return null;
        }

        error = InvalidText(utf8, subject);
        if (error is null)
        {
            return document;
        }

        document.Dispose();
        return null;
    }

    /// <summary>Null when every escaped string and property name decodes; otherwise which one does not.</summary>
    private static string? InvalidText(byte[] utf8, string subject)
    {
        var reader = new Utf8JsonReader(utf8);
        var nameStart = -1;
        var nameLength = 0;
        char[]? scratch = null;
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                if (token is JsonTokenType.PropertyName or JsonTokenType.String && reader.ValueIsEscaped)
                {
                    var length = reader.ValueSpan.Length;
                    if (scratch is null || scratch.Length < length)
                    {
                        if (scratch is not null)
                        {
                            ArrayPool<char>.Shared.Return(scratch);
                        }

                        scratch = ArrayPool<char>.Shared.Rent(length);
                    }

                    try
                    {
                        reader.CopyString(scratch);
                    }
                    catch (InvalidOperationException)
                    {
                        return token == JsonTokenType.PropertyName
                            ? $"a property name in {subject} is not valid UTF-16 text"
                            : nameStart >= 0
                                ? $"{Encoding.UTF8.GetString(utf8, nameStart, nameLength)} is not valid UTF-16 text"
                                : $"a string in {subject} is not valid UTF-16 text";
                    }
                }

                // The raw name of the property whose value comes next, for the message above.
                (nameStart, nameLength) = token == JsonTokenType.PropertyName
                    ? ((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length)
                    : (-1, 0);
            }
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<char>.Shared.Return(scratch);
            }
        }

        return null;
    }
}
