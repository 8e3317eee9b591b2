using System.Text;
using Notistream.RespServer.Acl;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

/// <summary>
/// Looks a request's command up and runs the checks Redis runs before it (server.c processCommand),
/// in Redis's order: existence, arity, authentication, ACL permissions, the RESP2 subscribed-mode restriction.
/// </summary>
internal sealed class CommandTable
{
    private readonly Dictionary<string, CommandDefinition> _commands = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, CommandDefinition>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public CommandTable()
    {
        PubSubCommands.Register(this);
        ConnectionCommands.Register(this);
        ClientCommands.Register(this);
        ServerCommands.Register(this);
        AclCommands.Register(this);
        KeyspaceCommands.Register(this);
        StreamCommands.Register(this);
        NotiCommands.Register(this);
        foreach (var command in _commands.Values.Concat(_commands.Values.SelectMany(c => c.Subcommands?.Values ?? Enumerable.Empty<CommandDefinition>())))
        {
            command.Acl = AclCommandSet.Redis.Find(NotiCommands.AclNameOf(command.FullName));
            command.KeySpecs = Commands.KeySpecs.For(command.FullName);
        }

        _lookup = _commands.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public IReadOnlyDictionary<string, CommandDefinition> All => _commands;

    public CommandDefinition Add(string name, int arity, CommandHandler? handler, CommandFlags flags = CommandFlags.None)
    {
        var command = new CommandDefinition(name, arity, flags, handler);
        _commands.Add(name, command);
        return command;
    }

    public CommandDefinition? Find(ReadOnlySpan<byte> name)
    {
        if (name.Length is 0 or > 32)
        {
            return null;
        }

        Span<char> chars = stackalloc char[name.Length];
        for (var i = 0; i < name.Length; i++)
        {
            if (name[i] >= 0x80)
            {
                return null;
            }

            chars[i] = (char)name[i];
        }

        return _lookup.TryGetValue(chars, out var command) ? command : null;
    }

    /// <summary>
    /// A command by the name COMMAND INFO and COMMAND DOCS take (lookupCommandBySds): "xinfo|stream" names a
    /// subcommand; a name of more than two parts, or of two whose first is not a container, names nothing.
    /// </summary>
    public CommandDefinition? FindByFullName(ReadOnlySpan<byte> name)
    {
        var bar = name.IndexOf((byte)'|');
        if (bar < 0)
        {
            return Find(name);
        }

        var rest = name[(bar + 1)..];
        if (rest.Contains((byte)'|') || Find(name[..bar]) is not { Subcommands: { } subcommands })
        {
            return null;
        }

        return subcommands.TryGetValue(Encoding.Latin1.GetString(rest), out var sub) ? sub : null;
    }

    /// <summary>Runs one request; returns the full name of the command run, for CLIENT LIST's cmd=.</summary>
    public string Execute(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        var name = request[0];
        if (RespRequest.EqualsIgnoreCase(name, "HOST:"u8) || RespRequest.EqualsIgnoreCase(name, "POST"u8))
        {
            client.SecurityWarning();
            return client.LastCommand;
        }

        var command = Find(name);
        if (command is { IsContainer: true } && request.Count >= 2)
        {
            var container = command;
            command = FindSub(container, request[1]);
            if (command is null)
            {
                var error = Encoding.UTF8.GetBytes($"-ERR unknown subcommand '");
                writer.WriteErrorRaw([.. error, .. CString(request[1], 128),
                    .. Encoding.UTF8.GetBytes($"'. Try {container.Name.ToUpperInvariant()} HELP.")]);
                return client.LastCommand;
            }
        }

        if (command is null)
        {
            WriteUnknownCommand(writer, request);
            return client.LastCommand;
        }

        if (!command.CheckArity(request.Count))
        {
            writer.WriteError($"wrong number of arguments for '{command.FullName}' command");
            return command.FullName;
        }

        if (client.AuthRequired && (command.Flags & CommandFlags.NoAuth) == 0)
        {
            writer.WriteRaw(RespConstants.NoAuth);
            return command.FullName;
        }

        var denial = AclCheck.Check(client.User.Rules, command, request, 0, out var deniedIndex);
        if (denial != AclDenial.None)
        {
            client.LastCommand = command.FullName;
            client.Server.Acl.Log.Add(
                denial switch { AclDenial.Command => "command", AclDenial.Key => "key", _ => "channel" },
                denial == AclDenial.Command ? command.FullName : Encoding.Latin1.GetString(request[deniedIndex]),
                client.User.Name, client.Describe());
            writer.WriteErrorRaw(AclCheck.Error(denial, command));
            return command.FullName;
        }

        if ((command.Flags & CommandFlags.Write) != 0 && client.Server.Aof.WriteRefusal is { } refusal)
        {
            // Redis's processCommand refuses writes here, after the ACL check, while the AOF cannot be written.
            client.LastCommand = command.FullName;
            writer.WriteError(refusal);
            return command.FullName;
        }

        if (client.IsPubSub && client.Protocol == 2 && (command.Flags & CommandFlags.PubSubContext) == 0)
        {
            writer.WriteError($"Can't execute '{command.FullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
            return command.FullName;
        }

        if (client.IsFollowing && command.FullName is not ("ping" or "quit" or "reset"))
        {
            writer.WriteError($"Can't execute '{command.FullName}': only PING / QUIT / RESET are allowed while following (NOTI.SUBSCRIBE)");
            return command.FullName;
        }

        client.LastCommand = command.FullName;
        if ((command.Flags & CommandFlags.DefersHistory) == 0)
        {
            client.History.Flush();
        }

        command.Handler!(client, request);
        if ((command.Flags & CommandFlags.Write) != 0)
        {
            // Its records, if any, are before this position: the reply waits until the log is there (FlushReplies).
            client.NoteLogged(client.Server.Aof.AppendedPosition);
        }

        return command.FullName;
    }

    private static CommandDefinition? FindSub(CommandDefinition container, ReadOnlySpan<byte> name)
    {
        if (name.Length is 0 or > 32 || name.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0)
        {
            return null;
        }

        return container.Subcommands!.TryGetValue(Encoding.ASCII.GetString(name), out var sub) ? sub : null;
    }

    /// <summary>"unknown command '%.128s', with args beginning with: '%.*s' ..." as Redis formats it.</summary>
    private static void WriteUnknownCommand(RespWriter writer, in RespRequest request)
    {
        var args = new List<byte>();
        for (var i = 1; i < request.Count && args.Count < 128; i++)
        {
            args.Add((byte)'\'');
            args.AddRange(CString(request[i], 128 - args.Count + 1));
            args.Add((byte)'\'');
            args.Add((byte)' ');
        }

        writer.WriteErrorRaw([.. "-ERR unknown command '"u8, .. CString(request[0], 128),
            .. "', with args beginning with: "u8, .. args]);
    }

    /// <summary>What C's "%.Ns" prints of a binary argument: at most N bytes, up to the first NUL.</summary>
    public static ReadOnlySpan<byte> CString(ReadOnlySpan<byte> value, int max)
    {
        var nul = value.IndexOf((byte)0);
        if (nul >= 0)
        {
            value = value[..nul];
        }

        return value.Length > max ? value[..max] : value;
    }
}
