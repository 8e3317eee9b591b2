using Notistream.RespServer.PubSub;

namespace Notistream.Gateway.Tokens;

/// <summary>
/// Redis's glob (util.c stringmatchlen, case-sensitive), as the server's PSUBSCRIBE matches it:
/// <c>*</c>, <c>?</c>, <c>[set]</c>, <c>[^set]</c>, ranges, <c>\</c> escapes, on UTF-8 bytes.
/// A token's channel patterns use it, so a scope reads like the patterns a subscriber uses.
/// </summary>
internal static class ChannelGlob
{
    /// <summary>The server's own matcher (compiled in from src/RespServer), so a scope matches exactly what PSUBSCRIBE would.</summary>
    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> value) => GlobMatcher.IsMatch(pattern, value);

    /// <summary>
    /// Null when <paramref name="pattern"/> may scope a token; otherwise why not. Redis takes any
    /// bytes, but a scope must mean what it says: no empty pattern, no control characters, no
    /// unclosed <c>[</c> and no dangling <c>\</c>, which Redis silently reads as something else.
    /// </summary>
    public static string? PatternError(string? pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern))
        {
            return "is empty";
        }

        if (pattern.Any(char.IsControl))
        {
            return "contains a control character";
        }

        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\')
            {
                if (i == pattern.Length - 1)
                {
                    return "ends in a lone '\\'";
                }

                i++;
            }
            else if (pattern[i] == '[')
            {
                var close = SetEnd(pattern, i + 1);
                if (close < 0)
                {
                    return "has a '[' without its ']'";
                }

                i = close;
            }
        }

        return null;
    }

    /// <summary>Index of the <c>]</c> closing a set that starts at <paramref name="start"/>, or -1.</summary>
    private static int SetEnd(string pattern, int start)
    {
        var i = start;
        if (i < pattern.Length && pattern[i] == '^')
        {
            i++;
        }

        for (; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\' && i + 1 < pattern.Length)
            {
                i++;
            }
            else if (pattern[i] == ']')
            {
                return i;
            }
        }

        return -1;
    }
}
