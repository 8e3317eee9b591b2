using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

/// <summary>XADD's and XTRIM's options, as Redis's streamAddTrimArgs.</summary>
internal struct StreamTrimArguments
{
    public StreamTrimStrategy Strategy;
    public bool Approximate;
    public long MaxLength;
    public StreamId MinId;

    /// <summary>Most entries to remove; 0 is no limit.</summary>
    public long Limit;

    public bool NoMakeStream;

    /// <summary>An id other than "*" was given (XADD).</summary>
    public bool IdGiven;

    /// <summary>The id's sequence was given, not "ms-*" (XADD).</summary>
    public bool SeqGiven;

    public StreamId Id;
}

/// <summary>The argument grammar of the stream commands, with Redis 7.0's errors (t_stream.c).</summary>
internal static class StreamArguments
{
    public static readonly byte[] InvalidId = "-ERR Invalid stream ID specified as stream command argument\r\n"u8.ToArray();

    /// <summary>
    /// Redis compares most options as C strings: an argument counts up to its first NUL byte, so
    /// "MAXLEN\0x" is MAXLEN.
    /// </summary>
    public static ReadOnlySpan<byte> CString(ReadOnlySpan<byte> value)
    {
        var nul = value.IndexOf((byte)0);
        return nul >= 0 ? value[..nul] : value;
    }

    /// <summary>strcasecmp(argument, option) == 0.</summary>
    public static bool IsOption(ReadOnlySpan<byte> argument, ReadOnlySpan<byte> upper)
        => RespRequest.EqualsIgnoreCase(CString(argument), upper);

    /// <summary>
    /// streamGenericParseIDOrReply: "-", "+" (unless <paramref name="strict"/>), "ms", "ms-seq", and with
    /// <paramref name="allowSeqStar"/> "ms-*" (then <paramref name="seqGiven"/> is false). A missing seq is
    /// <paramref name="missingSeq"/>. Each number is read as Redis's string2ull reads it.
    /// </summary>
    public static bool TryParseId(ReadOnlySpan<byte> argument, ulong missingSeq, bool strict, bool allowSeqStar, out StreamId id, out bool seqGiven)
    {
        id = default;
        seqGiven = true;
        if (argument.Length > 127)
        {
            return false;
        }

        var text = CString(argument);
        if (text.Length == 1 && text[0] is (byte)'-' or (byte)'+')
        {
            if (strict)
            {
                return false;
            }

            id = text[0] == '-' ? StreamId.Min : StreamId.Max;
            return true;
        }

        var dash = text.IndexOf((byte)'-');
        if (!TryParseUnsigned(dash >= 0 ? text[..dash] : text, out var ms))
        {
            return false;
        }

        ulong seq;
        if (dash < 0)
        {
            seq = missingSeq;
        }
        else if (allowSeqStar && text.Length - dash - 1 == 1 && text[dash + 1] == '*')
        {
            seq = 0;
            seqGiven = false;
        }
        else if (!TryParseUnsigned(text[(dash + 1)..], out seq))
        {
            return false;
        }

        id = new StreamId(ms, seq);
        return true;
    }

    public static bool TryParseId(ReadOnlySpan<byte> argument, ulong missingSeq, bool strict, out StreamId id)
        => TryParseId(argument, missingSeq, strict, allowSeqStar: false, out id, out _);

    /// <summary>
    /// Redis's string2ull: a canonical integer (negative ones refused), else whatever strtoull accepts in
    /// full: leading white space, a sign (a minus wraps around), leading zeros, up to 2^64 - 1.
    /// </summary>
    public static bool TryParseUnsigned(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        if (RespNumber.TryParseInt64(text, out var signed))
        {
            value = (ulong)signed;
            return signed >= 0;
        }

        var i = 0;
        while (i < text.Length && text[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r')
        {
            i++;
        }

        return RespNumber.TryParseStrtoull(text[i..], out value);
    }

    /// <summary>
    /// streamParseAddOrTrimArgsOrReply: the options from argument 2 on, for XADD (<paramref name="xadd"/>,
    /// up to and including the id) or XTRIM. Returns the id's position for XADD, or -1 after writing the error.
    /// </summary>
    public static int ParseAddOrTrim(RespWriter writer, in RespRequest request, bool xadd, out StreamTrimArguments args)
    {
        args = default;
        var limitGiven = false;
        var i = 2;
        for (; i < request.Count; i++)
        {
            var more = request.Count - 1 - i;
            var option = request[i];
            var text = CString(option);
            if (xadd && text is [(byte)'*'])
            {
                break;
            }

            if (more > 0 && (IsOption(option, "MAXLEN"u8) || IsOption(option, "MINID"u8)))
            {
                if (args.Strategy != StreamTrimStrategy.None)
                {
                    writer.WriteError("syntax error, MAXLEN and MINID options at the same time are not compatible");
                    return -1;
                }

                var maxLen = IsOption(option, "MAXLEN"u8);
                args.Approximate = false;
                var next = CString(request[i + 1]);
                if (more >= 2 && next is [(byte)'~'])
                {
                    args.Approximate = true;
                    i++;
                }
                else if (more >= 2 && next is [(byte)'='])
                {
                    i++;
                }

                if (maxLen)
                {
                    if (!RespNumber.TryParseInt64(request[i + 1], out args.MaxLength))
                    {
                        writer.WriteRaw(RespConstants.NotInteger);
                        return -1;
                    }

                    if (args.MaxLength < 0)
                    {
                        writer.WriteError("The MAXLEN argument must be >= 0.");
                        return -1;
                    }
                }
                else if (!TryParseId(request[i + 1], 0, strict: true, out args.MinId))
                {
                    writer.WriteRaw(InvalidId);
                    return -1;
                }

                i++;
                args.Strategy = maxLen ? StreamTrimStrategy.MaxLen : StreamTrimStrategy.MinId;
            }
            else if (more > 0 && IsOption(option, "LIMIT"u8))
            {
                if (!RespNumber.TryParseInt64(request[i + 1], out args.Limit))
                {
                    writer.WriteRaw(RespConstants.NotInteger);
                    return -1;
                }

                if (args.Limit < 0)
                {
                    writer.WriteError("The LIMIT argument must be >= 0.");
                    return -1;
                }

                limitGiven = true;
                i++;
            }
            else if (xadd && IsOption(option, "NOMKSTREAM"u8))
            {
                args.NoMakeStream = true;
            }
            else if (xadd)
            {
                // Not an option: the id, or a syntax error reported as a bad id.
                if (!TryParseId(option, 0, strict: true, allowSeqStar: true, out args.Id, out args.SeqGiven))
                {
                    writer.WriteRaw(InvalidId);
                    return -1;
                }

                args.IdGiven = true;
                break;
            }
            else
            {
                writer.WriteRaw(RespConstants.SyntaxError);
                return -1;
            }
        }

        if (args.Limit != 0 && args.Strategy == StreamTrimStrategy.None)
        {
            writer.WriteError("syntax error, LIMIT cannot be used without specifying a trimming strategy");
            return -1;
        }

        if (!xadd && args.Strategy == StreamTrimStrategy.None)
        {
            writer.WriteError("syntax error, XTRIM must be called with a trimming strategy");
            return -1;
        }

        if (limitGiven)
        {
            if (!args.Approximate)
            {
                writer.WriteError("syntax error, LIMIT cannot be used without the special ~ option");
                return -1;
            }
        }
        else
        {
            // Redis caps an approximate trim's work at 100 nodes' worth of entries by default.
            args.Limit = args.Approximate ? 100L * StreamValue.NodeMaxEntries : 0;
        }

        return i;
    }
}
