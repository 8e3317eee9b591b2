using Notistream.RespServer.Acl;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

internal delegate void CommandHandler(RespConnection client, in RespRequest request);

[Flags]
internal enum CommandFlags
{
    None = 0,

    /// <summary>Runs before AUTH (Redis CMD_NO_AUTH).</summary>
    NoAuth = 1,

    /// <summary>Allowed for a RESP2 client in subscribed mode.</summary>
    PubSubContext = 2,

    /// <summary>
    /// May leave the connection's history appends pending (PUBLISH); before any other command they are
    /// appended, so that command sees them.
    /// </summary>
    DefersHistory = 4,

    /// <summary>
    /// Changes the keyspace (Redis CMD_WRITE): refused with MISCONF while the append-only file cannot be written,
    /// and its records must be in the log, as appendfsync requires, before its reply is queued.
    /// </summary>
    Write = 8,
}

/// <summary>A command or subcommand: its name, Redis arity (negative = at least), flags and handler.</summary>
internal sealed class CommandDefinition
{
    public CommandDefinition(string name, int arity, CommandFlags flags, CommandHandler? handler,
        CommandDefinition? parent = null)
    {
        Name = name;
        Arity = arity;
        Flags = flags;
        Handler = handler;
        FullName = parent is null ? name : parent.Name + "|" + name;
    }

    /// <summary>Lower-case name as Redis declares it.</summary>
    public string Name { get; }

    /// <summary>"client|setname" for a subcommand, as Redis prints it in errors and CLIENT LIST.</summary>
    public string FullName { get; }

    public int Arity { get; }

    public CommandFlags Flags { get; }

    public CommandHandler? Handler { get; }

    /// <summary>The same command in Redis's table, whose bit ACL rules set (set once by the command table).</summary>
    public AclCommand? Acl { get; set; }

    /// <summary>Where the command's keys are (set once by the command table from <see cref="Commands.KeySpecs"/>).</summary>
    public KeySpec[] KeySpecs { get; set; } = [];

    public Dictionary<string, CommandDefinition>? Subcommands { get; private set; }

    public bool IsContainer => Subcommands is not null;

    public CommandDefinition Add(string name, int arity, CommandHandler handler, CommandFlags flags = CommandFlags.None)
    {
        Subcommands ??= new Dictionary<string, CommandDefinition>(StringComparer.OrdinalIgnoreCase);
        var sub = new CommandDefinition(name, arity, flags, handler, this);
        Subcommands.Add(name, sub);
        return this;
    }

    public bool CheckArity(int argc) => Arity > 0 ? argc == Arity : argc >= -Arity;
}
