using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Notistream.RespServer.Acl;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Commands;

/// <summary>ACL SETUSER/DELUSER/GETUSER/LIST/USERS/WHOAMI/CAT/LOAD/SAVE/GENPASS/DRYRUN/LOG/HELP (acl.c aclCommand).</summary>
internal static class AclCommands
{
    public static void Register(CommandTable table)
    {
        table.Add("acl", -2, null)
            .Add("setuser", -3, SetUser)
            .Add("deluser", -3, DelUser)
            .Add("getuser", 3, GetUser)
            .Add("list", 2, (c, in r) => List(c, names: false))
            .Add("users", 2, (c, in r) => List(c, names: true))
            .Add("whoami", 2, (c, in r) => c.Writer.WriteBulk(Encoding.Latin1.GetBytes(c.User.Name)))
            .Add("cat", -2, (c, in r) => Cat(c, r, table))
            .Add("load", 2, Load)
            .Add("save", 2, Save)
            .Add("genpass", -2, GenPass)
            .Add("dryrun", -4, (c, in r) => DryRun(c, r, table))
            .Add("log", -2, Log)
            .Add("help", 2, Help);
    }

    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    private static void SetUser(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        var name = Text(request[2]);
        if (AclRules.HasSpaces(name))
        {
            writer.WriteError("Usernames can't contain spaces or null characters");
            return;
        }

        var ops = new List<string>(request.Count - 3);
        for (var i = 3; i < request.Count; i++)
        {
            ops.Add(Text(request[i]));
        }

        var acl = client.Server.Acl;
        var failed = acl.SetUser(name, ops, out var user, out var before);
        if (failed is { } f)
        {
            writer.WriteErrorRaw([.. "-ERR Error in ACL SETUSER modifier '"u8, .. CommandTable.CString(Encoding.Latin1.GetBytes(f.Rule), int.MaxValue),
                .. Encoding.UTF8.GetBytes($"': {AclRules.ErrorText(f.Error)}")]);
            return;
        }

        if (before is not null)
        {
            KillPubSubClientsIfNeeded(client, user!, before);
        }

        writer.WriteRaw(RespConstants.Ok);
    }

    /// <summary>
    /// ACLKillPubsubClientsIfNeeded (Redis 7.0): when the user lost all channels or a pattern it had,
    /// its subscribed clients with a subscription no longer allowed are closed.
    /// </summary>
    private static void KillPubSubClientsIfNeeded(RespConnection current, AclUser user, AclRules before)
    {
        var after = user.Rules;
        if (after.AllChannels)
        {
            return;
        }

        var upcoming = after.Channels;
        if (!before.AllChannels && before.Channels.All(old => upcoming.Any(c => c.AsSpan().SequenceEqual(old))))
        {
            return;
        }

        foreach (var other in current.Server.Clients.Snapshot())
        {
            if (other.User != user)
            {
                continue;
            }

            // A follower's names never change while it follows, so reading them from here is safe.
            if (other.Following is { } follower
                && (follower.Patterns.Any(p => !AclCheck.ChannelAllowed(upcoming, p, literal: true))
                    || follower.Channels.Any(c => !AclCheck.ChannelAllowed(upcoming, c, literal: false))))
            {
                other.Abort(Output.ConnectionEnd.AclChanged, "its channel permissions changed");
                continue;
            }

            if (!other.IsPubSub)
            {
                continue;
            }

            var subscriptions = other.Subscriptions;
            var kill = subscriptions.Names(SubscriptionKind.Pattern).Any(p => !AclCheck.ChannelAllowed(upcoming, p, literal: true))
                || subscriptions.Names(SubscriptionKind.Channel).Any(c => !AclCheck.ChannelAllowed(upcoming, c, literal: false))
                || subscriptions.Names(SubscriptionKind.Shard).Any(c => !AclCheck.ChannelAllowed(upcoming, c, literal: false));
            if (kill)
            {
                other.Abort(Output.ConnectionEnd.AclChanged, "its channel permissions changed");
            }
        }
    }

    private static void DelUser(RespConnection client, in RespRequest request)
    {
        var names = new List<string>();
        for (var i = 2; i < request.Count; i++)
        {
            names.Add(Text(request[i]));
        }

        if (names.Contains("default"))
        {
            client.Writer.WriteError("The 'default' user cannot be removed");
            return;
        }

        var removed = client.Server.Acl.Delete(names);
        CloseClientsOf(client, removed);
        client.Writer.WriteInteger(removed.Count);
    }

    /// <summary>ACLFreeUserAndKillClients: the current client is closed after its reply, the others now.</summary>
    private static void CloseClientsOf(RespConnection current, List<AclUser> users)
    {
        if (users.Count == 0)
        {
            return;
        }

        foreach (var other in current.Server.Clients.Snapshot())
        {
            if (!users.Contains(other.User))
            {
                continue;
            }

            if (other == current)
            {
                current.CloseAfterReply = true;
            }
            else
            {
                other.Abort(Output.ConnectionEnd.AclChanged, "its user was removed");
            }
        }
    }

    private static void GetUser(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        var user = client.Server.Acl.Find(Text(request[2]));
        if (user is null)
        {
            writer.WriteNull();
            return;
        }

        var rules = user.Rules;
        writer.WriteMapHeader(6);
        writer.WriteBulk("flags"u8);
        var flags = rules.FlagNames();
        writer.WriteSetHeader(flags.Count);
        foreach (var flag in flags)
        {
            writer.WriteBulk(flag);
        }

        writer.WriteBulk("passwords"u8);
        writer.WriteArrayHeader(rules.Passwords.Count);
        foreach (var hash in rules.Passwords)
        {
            writer.WriteBulk(hash);
        }

        writer.WriteBulk("commands"u8);
        writer.WriteBulk(Encoding.Latin1.GetBytes(rules.DescribeCommands()));
        writer.WriteBulk("keys"u8);
        writer.WriteBulk(Encoding.Latin1.GetBytes(rules.DescribeKeys()));
        writer.WriteBulk("channels"u8);
        writer.WriteBulk(Encoding.Latin1.GetBytes(rules.DescribeChannels()));
        writer.WriteBulk("selectors"u8);
        writer.WriteArrayHeader(0);
    }

    private static void List(RespConnection client, bool names)
    {
        var writer = client.Writer;
        var acl = client.Server.Acl;
        var lines = names ? acl.Users().Select(u => u.Name).ToList() : acl.DescribeAll();
        writer.WriteArrayHeader(lines.Count);
        foreach (var line in lines)
        {
            writer.WriteBulk(Encoding.Latin1.GetBytes(line));
        }
    }

    private static void Cat(RespConnection client, in RespRequest request, CommandTable table)
    {
        var writer = client.Writer;
        if (request.Count > 3)
        {
            PubSubCommands.WriteSubcommandSyntaxError(writer, request[1], "ACL");
            return;
        }

        if (request.Count == 2)
        {
            writer.WriteArrayHeader(AclCommandSet.CategoryNames.Length);
            foreach (var category in AclCommandSet.CategoryNames)
            {
                writer.WriteBulk(category);
            }

            return;
        }

        var flag = AclCommandSet.CategoryFlag(Text(request[2]));
        if (flag == 0)
        {
            writer.WriteErrorRaw([.. "-ERR Unknown category '"u8, .. CommandTable.CString(request[2], 128), .. "'"u8]);
            return;
        }

        // The commands this server has in the category, each container followed by its subcommands; NOTI.*
        // commands are governed by the bit of the Redis command they extend, and listed under that name only.
        var names = new List<string>();
        foreach (var command in table.All.Values)
        {
            if (command.Acl is { } acl && (acl.Categories & flag) != 0 && acl.FullName == command.FullName)
            {
                names.Add(command.FullName);
            }

            foreach (var sub in command.Subcommands?.Values ?? Enumerable.Empty<CommandDefinition>())
            {
                if (sub.Acl is { } subAcl && (subAcl.Categories & flag) != 0)
                {
                    names.Add(sub.FullName);
                }
            }
        }

        writer.WriteArrayHeader(names.Count);
        foreach (var name in names)
        {
            writer.WriteBulk(name);
        }
    }

    private const string NoAclFile = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

    private static void Load(RespConnection client, in RespRequest request)
    {
        var acl = client.Server.Acl;
        if (acl.AclFile is null)
        {
            client.Writer.WriteError(NoAclFile);
            return;
        }

        var errors = acl.Load(out var replaced);
        if (errors is not null)
        {
            client.Writer.WriteError(errors);
            return;
        }

        CloseClientsOf(client, replaced);
        client.Writer.WriteRaw(RespConstants.Ok);
    }

    private static void Save(RespConnection client, in RespRequest request)
    {
        var acl = client.Server.Acl;
        if (acl.AclFile is null)
        {
            client.Writer.WriteError(NoAclFile);
            return;
        }

        if (acl.Save())
        {
            client.Writer.WriteRaw(RespConstants.Ok);
        }
        else
        {
            client.Writer.WriteError("There was an error trying to save the ACLs. Please check the server logs for more information");
        }
    }

    private static void GenPass(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        if (request.Count > 3)
        {
            PubSubCommands.WriteSubcommandSyntaxError(writer, request[1], "ACL");
            return;
        }

        long bits = 256;
        if (request.Count == 3 && !RespNumber.TryParseInt64(request[2], out bits))
        {
            writer.WriteRaw(RespConstants.NotInteger);
            return;
        }

        if (bits is <= 0 or > 4096)
        {
            writer.WriteError("ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
            return;
        }

        var chars = (int)((bits + 3) / 4);
        var hex = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes((chars + 1) / 2));
        writer.WriteBulk(hex[..chars]);
    }

    private static void Log(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        var log = client.Server.Acl.Log;
        if (request.Count > 3)
        {
            PubSubCommands.WriteSubcommandSyntaxError(writer, request[1], "ACL");
            return;
        }

        long count = 10;
        if (request.Count == 3)
        {
            if (request.Is(2, "RESET"u8))
            {
                log.Reset();
                writer.WriteRaw(RespConstants.Ok);
                return;
            }

            if (!RespNumber.TryParseInt64(request[2], out count))
            {
                writer.WriteRaw(RespConstants.NotInteger);
                return;
            }

            count = Math.Max(count, 0);
        }

        var entries = log.Newest(count);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        writer.WriteArrayHeader(entries.Count);
        foreach (var entry in entries)
        {
            writer.WriteMapHeader(7);
            writer.WriteBulk("count"u8);
            writer.WriteInteger(entry.Count);
            writer.WriteBulk("reason"u8);
            writer.WriteBulk(entry.Reason);
            writer.WriteBulk("context"u8);
            writer.WriteBulk("toplevel"u8);
            writer.WriteBulk("object"u8);
            writer.WriteBulk(Encoding.Latin1.GetBytes(entry.Object));
            writer.WriteBulk("username"u8);
            writer.WriteBulk(Encoding.Latin1.GetBytes(entry.Username));
            writer.WriteBulk("age-seconds"u8);
            var age = ((now - entry.Time) / 1000.0).ToString("G17", CultureInfo.InvariantCulture);
            if (client.Protocol == 3)
            {
                writer.WriteRaw(Encoding.ASCII.GetBytes($",{age}\r\n"));
            }
            else
            {
                writer.WriteBulk(age);
            }

            writer.WriteBulk("client-info"u8);
            writer.WriteBulk(Encoding.Latin1.GetBytes(entry.ClientInfo));
        }
    }

    private static void DryRun(RespConnection client, in RespRequest request, CommandTable table)
    {
        var writer = client.Writer;
        var user = client.Server.Acl.Find(Text(request[2]));
        if (user is null)
        {
            writer.WriteErrorRaw([.. "-ERR User '"u8, .. CommandTable.CString(request[2], int.MaxValue), .. "' not found"u8]);
            return;
        }

        var command = table.Find(request[3]);
        if (command is { IsContainer: true } && request.Count > 4)
        {
            command = command.Subcommands!.GetValueOrDefault(Text(request[4]));
        }

        if (command is null)
        {
            writer.WriteErrorRaw([.. "-ERR Command '"u8, .. CommandTable.CString(request[3], int.MaxValue), .. "' not found"u8]);
            return;
        }

        // Redis checks the arity before the permissions, so the key positions are always in range.
        if (!command.CheckArity(request.Count - 3))
        {
            writer.WriteError($"wrong number of arguments for '{command.FullName}' command");
            return;
        }

        var denial = AclCheck.Check(user.Rules, command, request, 3, out var index);
        switch (denial)
        {
            case AclDenial.None:
                writer.WriteRaw(RespConstants.Ok);
                break;
            case AclDenial.Command:
                writer.WriteBulk(Encoding.UTF8.GetBytes($"This user has no permissions to run the '{command.FullName}' command"));
                break;
            default:
                writer.WriteBulk([.. Encoding.UTF8.GetBytes($"This user has no permissions to access the '"),
                    .. CommandTable.CString(request[3 + index], int.MaxValue),
                    .. Encoding.UTF8.GetBytes(denial == AclDenial.Key ? "' key" : "' channel")]);
                break;
        }
    }

    private static void Help(RespConnection client, in RespRequest request) => HelpText.Write(client.Writer, "ACL",
    [
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
    ]);
}
