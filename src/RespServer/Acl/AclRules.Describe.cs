using System.Text;

namespace Notistream.RespServer.Acl;

/// <summary>The rules written back as text, as ACL LIST and ACL GETUSER print them (acl.c ACLDescribeUser).</summary>
internal sealed partial class AclRules
{
    /// <summary>Flag names in Redis's order (ACLUserFlags): on, off, nopass, skip-sanitize-payload, sanitize-payload.</summary>
    public List<string> FlagNames()
    {
        var flags = new List<string> { Enabled ? "on" : "off" };
        if (NoPass)
        {
            flags.Add("nopass");
        }

        if (Sanitize == 2)
        {
            flags.Add("skip-sanitize-payload");
        }
        else if (Sanitize == 1)
        {
            flags.Add("sanitize-payload");
        }

        return flags;
    }

    /// <summary>"on nopass ~* &amp;* +@all": what follows "user name " in ACL LIST.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var flag in FlagNames())
        {
            text.Append(flag).Append(' ');
        }

        foreach (var hash in Passwords)
        {
            text.Append('#').Append(hash).Append(' ');
        }

        if (AllKeys)
        {
            text.Append("~* ");
        }
        else
        {
            foreach (var pattern in KeyPatterns)
            {
                text.Append(DescribeKeyPattern(pattern)).Append(' ');
            }
        }

        if (AllChannels)
        {
            text.Append("&* ");
        }
        else
        {
            text.Append("resetchannels ");
            foreach (var channel in Channels)
            {
                text.Append('&').Append(Encoding.Latin1.GetString(channel)).Append(' ');
            }
        }

        return text.Append(DescribeCommands()).ToString();
    }

    /// <summary>The "keys" field of ACL GETUSER.</summary>
    public string DescribeKeys() => AllKeys ? "~*" : string.Join(' ', KeyPatterns.Select(DescribeKeyPattern));

    /// <summary>The "channels" field of ACL GETUSER.</summary>
    public string DescribeChannels()
        => AllChannels ? "&*" : string.Join(' ', Channels.Select(c => "&" + Encoding.Latin1.GetString(c)));

    private static string DescribeKeyPattern((string Pattern, KeyPermission Permission) pattern) => pattern.Permission switch
    {
        KeyPermission.All => "~",
        KeyPermission.Read => "%R~",
        KeyPermission.Write => "%W~",
        _ => "%~",
    } + pattern.Pattern;

    /// <summary>
    /// ACLDescribeSelectorCommandRules: +@all or -@all, then the categories that fit best (fewest
    /// exceptions first, Redis's category order on ties), then single commands and first arguments.
    /// </summary>
    public string DescribeCommands()
    {
        var additive = !HasCommandBit(AclCommandSet.FutureBit);
        var text = new StringBuilder(additive ? "-@all " : "+@all ");
        var fake = new AclRules();
        fake.Apply(additive ? "-@all" : "+@all");
        var temp = new AclRules();
        _commands.CopyTo(temp._commands, 0);
        var applied = new bool[AclCommandSet.CategoryNames.Length];
        while (true)
        {
            var best = -1;
            long minDiff = int.MaxValue, maxSame = 0;
            for (var j = 0; j < AclCommandSet.CategoryNames.Length; j++)
            {
                if (applied[j])
                {
                    continue;
                }

                var (on, off) = temp.CountCategory(1UL << j);
                var diff = additive ? off : on;
                var same = additive ? on : off;
                if (same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)))
                {
                    best = j;
                    minDiff = diff;
                    maxSame = same;
                }
            }

            if (best < 0)
            {
                break;
            }

            fake.SetCategory(1UL << best, additive);
            temp.SetCategory(1UL << best, !additive);
            text.Append(additive ? "+@" : "-@").Append(AclCommandSet.CategoryNames[best]).Append(' ');
            applied[best] = true;
        }

        foreach (var command in AclCommandSet.Redis.TopLevel)
        {
            DescribeSingle(command, fake, text);
            foreach (var sub in command.Subcommands)
            {
                DescribeSingle(sub, fake, text);
            }

            if (!HasCommandBit(command.Id) && _firstArgs is not null && _firstArgs.TryGetValue(command.Id, out var args))
            {
                foreach (var arg in args)
                {
                    text.Append('+').Append(command.FullName).Append('|').Append(arg).Append(' ');
                }
            }
        }

        return text.ToString(0, text.Length - 1);
    }

    private void DescribeSingle(AclCommand command, AclRules fake, StringBuilder text)
    {
        var mine = HasCommandBit(command.Id);
        if (mine != fake.HasCommandBit(command.Id))
        {
            text.Append(mine ? '+' : '-').Append(command.FullName).Append(' ');
            fake.ChangePermission(command, mine);
        }
    }

    private (long On, long Off) CountCategory(ulong flag)
    {
        long on = 0, off = 0;
        foreach (var command in AclCommandSet.Redis.All)
        {
            if ((command.Categories & flag) != 0)
            {
                if (HasCommandBit(command.Id))
                {
                    on++;
                }
                else
                {
                    off++;
                }
            }
        }

        return (on, off);
    }
}
