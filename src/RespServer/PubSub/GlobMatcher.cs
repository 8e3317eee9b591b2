namespace Notistream.RespServer.PubSub;

/// <summary>
/// Redis's glob (util.c stringmatchlen, case-sensitive) byte for byte: <c>*</c>, <c>?</c>,
/// <c>[set]</c>, <c>[^set]</c>, ranges (reversed ranges allowed), <c>\</c> escapes, an unclosed
/// <c>[</c> taken as a set, binary-safe, with the same guard against abusive nesting and the same
/// early exit once a '*' has failed. Reading past the end of the pattern sees 0, as C sees the
/// terminating NUL. This is the reference the channel trie is tested against.
/// </summary>
internal static class GlobMatcher
{
    private const int MaxNesting = 1000;

    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> value)
    {
        var skipLongerMatches = false;
        return Match(pattern, value, ref skipLongerMatches, 0);
    }

    /// <summary>True when the pattern holds any glob metacharacter.</summary>
    public static bool HasGlob(ReadOnlySpan<byte> pattern) => pattern.IndexOfAny("*?[\\"u8) >= 0;

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
                            if (pattern[p] == s[i])
                            {
                                match = true;
                            }
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
                            var c2 = (sbyte)s[i];
                            if (c2 >= start && c2 <= end)
                            {
                                match = true;
                            }
                        }
                        else if (c == s[i])
                        {
                            match = true;
                        }

                        p++;
                    }

                    if (not)
                    {
                        match = !match;
                    }

                    if (!match)
                    {
                        return false;
                    }

                    i++;
                    break;
                }

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

    private static int At(ReadOnlySpan<byte> s, int i) => i < s.Length ? s[i] : 0;
}
