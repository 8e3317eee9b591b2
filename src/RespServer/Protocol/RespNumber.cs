using System.Buffers.Text;

namespace Notistream.RespServer.Protocol;

/// <summary>Redis's own integer grammar (util.c string2ll): no '+', no leading zeros, no spaces.</summary>
internal static class RespNumber
{
    /// <summary>
    /// C's strtoull in base 10 over all of <paramref name="text"/>, which starts where the number does (no
    /// leading white space): an optional sign, a minus wrapping around, then at least one digit up to the
    /// end. False on any other character or past 2^64 - 1 (ERANGE). Redis reads SCAN cursors and the parts
    /// of stream ids this way.
    /// </summary>
    public static bool TryParseStrtoull(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        var negative = false;
        if (!text.IsEmpty && text[0] is (byte)'+' or (byte)'-')
        {
            negative = text[0] == '-';
            text = text[1..];
        }

        if (text.IsEmpty)
        {
            return false;
        }

        foreach (var b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            var digit = (ulong)(b - '0');
            if (value > (ulong.MaxValue - digit) / 10)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        if (negative)
        {
            value = unchecked(0 - value);
        }

        return true;
    }

    public static bool TryParseInt64(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 20)
        {
            return false;
        }

        if (s.Length == 1 && s[0] == (byte)'0')
        {
            return true;
        }

        var negative = s[0] == (byte)'-';
        var digits = negative ? s[1..] : s;
        if (digits.IsEmpty || digits[0] is < (byte)'1' or > (byte)'9')
        {
            return false;
        }

        ulong v = 0;
        foreach (var b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            if (v > ulong.MaxValue / 10)
            {
                return false;
            }

            v *= 10;
            var d = (uint)(b - '0');
            if (v > ulong.MaxValue - d)
            {
                return false;
            }

            v += d;
        }

        if (negative)
        {
            if (v > (ulong)long.MaxValue + 1)
            {
                return false;
            }

            value = (long)(0 - v);
        }
        else
        {
            if (v > long.MaxValue)
            {
                return false;
            }

            value = (long)v;
        }

        return true;
    }

    public static int DigitCount(long value)
    {
        if (value < 0)
        {
            return value == long.MinValue ? 20 : 1 + DigitCount(-value);
        }

        var n = 1;
        while (value >= 10)
        {
            value /= 10;
            n++;
        }

        return n;
    }

    public static int Format(long value, Span<byte> destination)
    {
        Utf8Formatter.TryFormat(value, destination, out var written);
        return written;
    }
}
