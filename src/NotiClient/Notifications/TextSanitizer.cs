using System.Globalization;
using System.Text;

namespace Notistream.Client.Notifications;

/// <summary>
/// Makes untrusted message text safe to show: no control characters (no terminal escape sequences,
/// no NULs for a command line), no bidirectional overrides that could disguise text, bounded length
/// cut on a whole character with an ellipsis.
/// </summary>
internal static class TextSanitizer
{
    public const string Ellipsis = "…";

    /// <summary>A single line: every line break and tab becomes a space, runs of spaces shrink to one.</summary>
    public static string SingleLine(string text, int maxLength) => Truncate(Clean(text, keepNewLines: false), maxLength);

    /// <summary>At most <paramref name="maxLines"/> lines and <paramref name="maxLength"/> characters.</summary>
    public static string MultiLine(string text, int maxLength, int maxLines)
    {
        var cleaned = Clean(text, keepNewLines: true);
        var lines = cleaned.Split('\n');
        if (lines.Length > maxLines)
        {
            cleaned = string.Join('\n', lines.Take(maxLines)).TrimEnd() + Ellipsis;
        }

        return Truncate(cleaned, maxLength);
    }

    /// <summary>Removes control characters except line breaks and tabs; nothing else changes, nothing is cut.</summary>
    public static string StripControls(string text)
    {
        if (!text.Any(c => char.IsControl(c) && c is not '\n' and not '\t'))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (!char.IsControl(c) || c is '\n' or '\t')
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Cuts to at most <paramref name="maxLength"/> UTF-16 units, never inside a surrogate pair or combining sequence.</summary>
    public static string Truncate(string text, int maxLength)
    {
        if (text.Length <= maxLength)
        {
            return text;
        }

        var limit = maxLength - Ellipsis.Length;
        var cut = 0;
        var enumerator = StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext())
        {
            var end = enumerator.ElementIndex + ((string)enumerator.Current).Length;
            if (end > limit)
            {
                break;
            }

            cut = end;
        }

        return text[..cut].TrimEnd() + Ellipsis;
    }

    private static string Clean(string text, bool keepNewLines)
    {
        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        var newLines = 0;
        foreach (var rune in text.Replace("\r\n", "\n", StringComparison.Ordinal).EnumerateRunes())
        {
            if (rune.Value == '\n' && keepNewLines)
            {
                pendingSpace = false;
                if (newLines < 2 && builder.Length > 0)
                {
                    // Trailing spaces before a break are noise.
                    while (builder.Length > 0 && builder[^1] == ' ')
                    {
                        builder.Length--;
                    }

                    builder.Append('\n');
                }

                newLines++;
                continue;
            }

            if (rune.Value is '\n' or '\r' or '\t' or ' ' || Rune.IsWhiteSpace(rune))
            {
                pendingSpace = builder.Length > 0 && builder[^1] != '\n';
                continue;
            }

            if (Rune.IsControl(rune) || IsInvisibleFormatting(rune))
            {
                continue;
            }

            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }

            newLines = 0;
            builder.Append(rune.ToString());
        }

        return builder.ToString().TrimEnd('\n', ' ');
    }

    // Bidi embeddings/overrides/isolates and the byte-order mark.
    private static bool IsInvisibleFormatting(Rune rune) =>
        rune.Value is (>= 0x202A and <= 0x202E) or (>= 0x2066 and <= 0x2069) or 0x200E or 0x200F or 0xFEFF;
}
