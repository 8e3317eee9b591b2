namespace Notistream.Gateway.Tokens;

/// <summary>
/// Redis's glob (util.c stringmatchlen, case-sensitive), as the server's PSUBSCRIBE matches it:
/// <c>*</c>, <c>?</c>, <c>[set]</c>, <c>[^set]</c>, ranges, <c>\</c> escapes, on UTF-8 bytes.
/// A token's channel patterns use it, so a scope reads like the patterns a subscriber uses.
/// </summary>
internal static class ChannelGlob
{
    private const int MaxNesting = 1000;

    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> value)
    {
        var skipLongerMatches = false;
        return Match(pattern, value, ref skipLongerMatches, 0);
    }

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

    private static bool Match(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> s, ref bool skipLongerMatches, int nesting)
    {
        if (nesting > MaxNesting)
        {
            return false;
        }

        var p = 0;
        var i = 0;
        while (p < pattern.Length && i < s.Length)
        {
            switch (pattern[p])
            {
                case (byte)'*':
                    while (p < pattern.Length && At(pattern, p + 1) == '*')
                    {
                        p++;
                    }

                    if (pattern.Length - p == 1)
                    {
                        return true;
                    }

                    while (i < s.Length)
                    {
                        if (Match(pattern[(p + 1)..], s[i..], ref skipLongerMatches, nesting + 1))
                        {
                            return true;
                        }

                        if (skipLongerMatches)
                        {
                            return false;
                        }

                        i++;
                    }

                    skipLongerMatches = true;
                    return false;

                case (byte)'?':
                    i++;
                    break;

                case (byte)'[':
                    if (!MatchSet(pattern, ref p, s[i]))
                    {
                        return false;
                    }

                    i++;
                    break;

                case (byte)'\\':
                    if (pattern.Length - p >= 2)
                    {
                        p++;
                    }

                    if (pattern[p] != s[i])
                    {
                        return false;
                    }

                    i++;
                    break;

                default:
                    if (pattern[p] != s[i])
                    {
                        return false;
                    }

                    i++;
                    break;
            }

            p++;
            if (i == s.Length)
            {
                while (At(pattern, p) == '*')
                {
                    p++;
                }

                break;
            }
        }

        return p >= pattern.Length && i == s.Length;
    }

    /// <summary>Matches <paramref name="b"/> against the set at <paramref name="p"/> (its '['); leaves p on its ']'.</summary>
    private static bool MatchSet(ReadOnlySpan<byte> pattern, ref int p, byte b)
    {
        p++;
        var not = At(pattern, p) == '^';
        if (not)
        {
            p++;
        }

        var match = false;
        while (true)
        {
            var c = At(pattern, p);
            if (c == '\\' && pattern.Length - p >= 2)
            {
                p++;
                match |= pattern[p] == b;
            }
            else if (c == ']')
            {
                break;
            }
            else if (p >= pattern.Length)
            {
                p--;
                break;
            }
            else if (pattern.Length - p >= 3 && pattern[p + 1] == '-')
            {
                // C's char is signed: bytes >= 0x80 order below ASCII in ranges.
                int start = (sbyte)pattern[p];
                int end = (sbyte)pattern[p + 2];
                if (start > end)
                {
                    (start, end) = (end, start);
                }

                p += 2;
                var signed = (sbyte)b;
                match |= signed >= start && signed <= end;
            }
            else
            {
                match |= c == b;
            }

            p++;
        }

        return match != not;
    }

    private static int At(ReadOnlySpan<byte> s, int i) => i < s.Length ? s[i] : 0;
}
