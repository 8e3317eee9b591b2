using System.Reflection;

namespace Notistream.RespServer.Acl;

/// <summary>One entry of Redis's command table as ACL rules see it: a bit number, a full name, categories.</summary>
internal sealed class AclCommand(int id, string fullName, ulong categories, AclCommand? parent)
{
    public int Id { get; } = id;

    /// <summary>"publish", or "client|kill" for a subcommand.</summary>
    public string FullName { get; } = fullName;

    public ulong Categories { get; } = categories;

    public AclCommand? Parent { get; } = parent;

    public List<AclCommand> Subcommands { get; } = [];
}

/// <summary>
/// Redis 7.0's ACL categories and its whole command table (acl.c ACLCommandCategories, server.c
/// orig_commands). Rules and their descriptions work on all of Redis's commands, so that a user
/// written for Redis (<c>+get</c>, <c>-@write</c>) loads unchanged and ACL LIST prints what Redis prints.
/// </summary>
internal sealed class AclCommandSet
{
    /// <summary>Redis's USER_COMMAND_BITS_COUNT; its last bit stands for commands added later (set only by +@all).</summary>
    public const int Bits = 1024;

    public const int FutureBit = Bits - 1;

    /// <summary>In Redis's order: ACL CAT prints them so, and descriptions try them so.</summary>
    public static readonly string[] CategoryNames =
    [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog", "geo",
        "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
    ];

    private readonly Dictionary<string, AclCommand> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<AclCommand> _topLevel = [];
    private readonly List<AclCommand> _all = [];

    public static AclCommandSet Redis { get; } = Load();

    /// <summary>Top-level commands in table order; each command's subcommands follow in <see cref="AclCommand.Subcommands"/>.</summary>
    public IReadOnlyList<AclCommand> TopLevel => _topLevel;

    /// <summary>Every command and subcommand.</summary>
    public IReadOnlyList<AclCommand> All => _all;

    /// <summary>The category's bit, or 0 when the name is not a category (case-insensitive, as Redis).</summary>
    public static ulong CategoryFlag(string name)
    {
        for (var i = 0; i < CategoryNames.Length; i++)
        {
            if (CategoryNames[i].Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return 1UL << i;
            }
        }

        return 0;
    }

    /// <summary>Redis's lookupCommandBySds: "name" or "container|sub", case-insensitive; null otherwise.</summary>
    public AclCommand? Find(string name)
    {
        if (name.Split('|').Length > 2)
        {
            return null;
        }

        return _byName.GetValueOrDefault(name);
    }

    private static AclCommandSet Load()
    {
        var set = new AclCommandSet();
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Notistream.RespServer.Acl.RedisCommands.txt")
            ?? throw new InvalidOperationException("the Redis command table resource is missing");
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            set.Add(words[0], words.Skip(1).Aggregate(0UL, (flags, c) => flags | CategoryFlag(c)));
        }

        return set;
    }

    private AclCommand Add(string fullName, ulong categories)
    {
        var bar = fullName.IndexOf('|', StringComparison.Ordinal);
        var parent = bar < 0 ? null : _byName[fullName[..bar]];
        var command = new AclCommand(_all.Count, fullName, categories, parent);
        if (command.Id >= FutureBit)
        {
            throw new InvalidOperationException("more commands than ACL bits");
        }

        _all.Add(command);
        _byName.Add(fullName, command);
        if (parent is null)
        {
            _topLevel.Add(command);
        }
        else
        {
            parent.Subcommands.Add(command);
        }

        return command;
    }
}
