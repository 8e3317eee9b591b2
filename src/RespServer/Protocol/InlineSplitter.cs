namespace Notistream.RespServer.Protocol;

/// <summary>
/// Splits an inline command line (telnet) or a config-file line into arguments exactly as Redis's
/// sdssplitargs: blanks separate, "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes,
/// 'single quotes' take \', and a closing quote must be followed by a blank or the end.
/// The line ends at its first NUL byte, as the C original reads it.
/// </summary>
internal static class InlineSplitter
{
    /// <summary>Returns null for unbalanced quotes.</summary>
    public static List<byte[]>? Split(ReadOnlySpan<byte> line)
    {
        var bytes = new byte[line.Length];
        var slots = Array.Empty<ArgSlot>();
        if (!TrySplit(line, bytes, ref slots, out var count))
        {
            return null;
        }

        var result = new List<byte[]>(count);
        foreach (var slot in slots.AsSpan(0, count))
        {
            result.Add(bytes.AsSpan(slot.Offset, slot.Length).ToArray());
        }

        return result;
    }

    /// <summary>
    /// Splits without allocating: the unescaped arguments go back to back into <paramref name="output"/>
    /// (at least as long as the line; an argument is never longer than its source) and
    /// <paramref name="slots"/> (grown when too small) says where each lies. False for unbalanced quotes.
    /// </summary>
    public static bool TrySplit(ReadOnlySpan<byte> line, Span<byte> output, ref ArgSlot[] slots, out int count)
    {
        var nul = line.IndexOf((byte)0);
        if (nul >= 0)
        {
            line = line[..nul];
        }

        count = 0;
        var written = 0;
        var p = 0;
        while (true)
        {
            while (p < line.Length && IsSpace(line[p]))
            {
                p++;
            }

            if (p >= line.Length)
            {
                return true;
            }

            var inDouble = false;
            var inSingle = false;
            var done = false;
            var start = written;
            while (!done)
            {
                var c = At(line, p);
                if (inDouble)
                {
                    if (c == '\\' && At(line, p + 1) == 'x' && IsHex(At(line, p + 2)) && IsHex(At(line, p + 3)))
                    {
                        output[written++] = (byte)((HexValue(At(line, p + 2)) * 16) + HexValue(At(line, p + 3)));
                        p += 3;
                    }
                    else if (c == '\\' && At(line, p + 1) != 0)
                    {
                        p++;
                        output[written++] = At(line, p) switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var other => other,
                        };
                    }
                    else if (c == '"')
                    {
                        if (At(line, p + 1) != 0 && !IsSpace(At(line, p + 1)))
                        {
                            return false;
                        }

                        done = true;
                    }
                    else if (c == 0)
                    {
                        return false;
                    }
                    else
                    {
                        output[written++] = c;
                    }
                }
                else if (inSingle)
                {
                    if (c == '\\' && At(line, p + 1) == '\'')
                    {
                        p++;
                        output[written++] = (byte)'\'';
                    }
                    else if (c == '\'')
                    {
                        if (At(line, p + 1) != 0 && !IsSpace(At(line, p + 1)))
                        {
                            return false;
                        }

                        done = true;
                    }
                    else if (c == 0)
                    {
                        return false;
                    }
                    else
                    {
                        output[written++] = c;
                    }
                }
                else
                {
                    switch (c)
                    {
                        case (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or 0:
                            done = true;
                            break;
                        case (byte)'"':
                            inDouble = true;
                            break;
                        case (byte)'\'':
                            inSingle = true;
                            break;
                        default:
                            output[written++] = c;
                            break;
                    }
                }

                if (At(line, p) != 0)
                {
                    p++;
                }
            }

            if (count == slots.Length)
            {
                Array.Resize(ref slots, Math.Max(8, slots.Length * 2));
            }

            slots[count++] = new ArgSlot(start, written - start);
        }
    }

    private static byte At(ReadOnlySpan<byte> s, int i) => i < s.Length ? s[i] : (byte)0;

    /// <summary>C isspace in the "C" locale.</summary>
    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    private static bool IsHex(byte c) => c is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => c - 'A' + 10,
    };
}
