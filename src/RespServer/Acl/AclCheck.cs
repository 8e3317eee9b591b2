using System.Text;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Acl;

/// <summary>Redis's ACL_OK / ACL_DENIED_* results, worst last as Redis ranks them.</summary>
internal enum AclDenial
{
    None,
    Command,
    Key,
    Channel,
}

/// <summary>Whether a user may run one command with its arguments (acl.c ACLSelectorCheckCmd).</summary>
internal static class AclCheck
{
    /// <summary>
    /// Checks <paramref name="command"/> with the arguments at <paramref name="offset"/>.. of the
    /// request (0 for a request, 3 for ACL DRYRUN). <paramref name="index"/> is the refused argument's
    /// index relative to the offset.
    /// </summary>
    public static AclDenial Check(AclRules rules, CommandDefinition command, in RespRequest request, int offset, out int index)
    {
        index = 0;
        var argc = request.Count - offset;
        if (!rules.AllCommands && (command.Flags & CommandFlags.NoAuth) == 0 && command.Acl is { } acl && !rules.HasCommandBit(acl.Id))
        {
            var argIndex = command.FullName.Contains('|', StringComparison.Ordinal) ? 2 : 1;
            if (argc < 2 || argIndex >= argc || !rules.AllowsFirstArg(acl.Id, request[offset + argIndex]))
            {
                return AclDenial.Command;
            }
        }

        // ACLSelectorCheckCmd's order: the command, then each key in key-spec order, then channels.
        if (!rules.AllKeys && command.KeySpecs.Length > 0)
        {
            Span<KeyRange> ranges = stackalloc KeyRange[command.KeySpecs.Length];
            var found = KeySpec.Locate(command.KeySpecs, request, offset, ranges);
            foreach (var range in ranges[..found])
            {
                var needed = Needed(range.Flags);
                for (var j = range.First; j <= range.Last; j += range.Step)
                {
                    if (!KeyAllowed(rules, request[offset + j], needed))
                    {
                        index = j;
                        return AclDenial.Key;
                    }
                }
            }
        }

        if (rules.AllChannels)
        {
            return AclDenial.None;
        }

        var (first, count, literal) = command.FullName switch
        {
            "publish" or "spublish" or "noti.publish" => (1, 1, false),
            "subscribe" or "ssubscribe" => (1, argc - 1, false),
            "psubscribe" => (1, argc - 1, true),
            _ => (0, 0, false),
        };
        for (var j = first; j < first + count; j++)
        {
            if (!ChannelAllowed(rules.Channels, request[offset + j], literal))
            {
                index = j;
                return AclDenial.Channel;
            }
        }

        return AclDenial.None;
    }

    /// <summary>
    /// ACLCheckChannelAgainstList: a channel is allowed when one of the user's patterns matches it;
    /// a PSUBSCRIBE pattern only when it is literally one of the user's patterns.
    /// </summary>
    public static bool ChannelAllowed(IReadOnlyList<byte[]> allowed, ReadOnlySpan<byte> channel, bool literal)
    {
        foreach (var pattern in allowed)
        {
            if (literal ? CString(pattern).SequenceEqual(CString(channel)) : GlobMatcher.IsMatch(pattern, channel))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The NOPERM error Redis's processCommand sends for a refusal.</summary>
    public static byte[] Error(AclDenial denial, CommandDefinition command) => denial switch
    {
        AclDenial.Command => Encoding.UTF8.GetBytes($"-NOPERM this user has no permissions to run the '{command.FullName}' command"),
        AclDenial.Key => "-NOPERM this user has no permissions to access one of the keys used as arguments"u8.ToArray(),
        _ => "-NOPERM this user has no permissions to access one of the channels used as arguments"u8.ToArray(),
    };

    /// <summary>
    /// What a key of these key-spec flags needs of a pattern (ACLSelectorCheckKey): the logical flags decide,
    /// not RO/RW/OW/RM, so a key with none (EXISTS, TYPE, XLEN) is allowed by any pattern that matches it.
    /// </summary>
    private static KeyPermission Needed(KeySpecFlags flags)
    {
        var needed = KeyPermission.None;
        if ((flags & KeySpecFlags.Access) != 0)
        {
            needed |= KeyPermission.Read;
        }

        if ((flags & (KeySpecFlags.Insert | KeySpecFlags.Delete | KeySpecFlags.Update)) != 0)
        {
            needed |= KeyPermission.Write;
        }

        return needed;
    }

    private static bool KeyAllowed(AclRules rules, ReadOnlySpan<byte> key, KeyPermission needed)
    {
        foreach (var (pattern, permission) in rules.KeyPatterns)
        {
            if ((permission & needed) == needed && GlobMatcher.IsMatch(Encoding.Latin1.GetBytes(pattern), key))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>strcmp compares up to the first NUL.</summary>
    private static ReadOnlySpan<byte> CString(ReadOnlySpan<byte> value)
    {
        var nul = value.IndexOf((byte)0);
        return nul >= 0 ? value[..nul] : value;
    }
}
