using System.Security.Cryptography;
using System.Text;

namespace Notistream.RespServer.Acl;

/// <summary>Why a rule was refused; <see cref="AclRules.ErrorText"/> gives Redis's wording (ACLSetUserStringError).</summary>
internal enum AclRuleError
{
    None,
    UnknownCommand,
    Syntax,
    KeyAfterAllKeys,
    ChannelAfterAllChannels,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

/// <summary>Key pattern permissions of %R~ / %W~ / ~.</summary>
[Flags]
internal enum KeyPermission
{
    None = 0,
    Read = 1,
    Write = 2,
    All = Read | Write,
}

/// <summary>
/// A user's flags, password hashes and permissions (Redis's user with its root selector). Built
/// and changed by one thread (ACL SETUSER works on a copy); once published on an
/// <see cref="AclUser"/> it is only read. Strings hold bytes as Latin-1 characters, so that
/// passwords, patterns and channel names stay binary-safe.
/// </summary>
internal sealed partial class AclRules
{
    private readonly ulong[] _commands = new ulong[AclCommandSet.Bits / 64];
    private Dictionary<int, List<string>>? _firstArgs;

    public bool Enabled { get; private set; }

    public bool NoPass { get; private set; }

    /// <summary>0 = neither, 1 = sanitize-payload, 2 = skip-sanitize-payload.</summary>
    public int Sanitize { get; private set; }

    /// <summary>SHA-256 hex of each password, in the order added.</summary>
    public List<string> Passwords { get; private set; } = [];

    public bool AllKeys { get; private set; }

    public List<(string Pattern, KeyPermission Permission)> KeyPatterns { get; private set; } = [];

    public bool AllChannels { get; private set; }

    public List<byte[]> Channels { get; private set; } = [];

    /// <summary>Redis's SELECTOR_FLAG_ALLCOMMANDS: +@all and not a command taken away since.</summary>
    public bool AllCommands { get; private set; }

    /// <summary>A new user as ACLCreateUser makes it: off, no passwords, no commands, no keys; channels per acl-pubsub-default.</summary>
    public static AclRules NewUser(bool allChannelsByDefault) => new() { AllChannels = allChannelsByDefault };

    /// <summary>The default user of a fresh server: on nopass ~* &amp;* +@all.</summary>
    public static AclRules DefaultUser()
    {
        var rules = new AclRules();
        foreach (var op in (string[])["+@all", "~*", "&*", "on", "nopass"])
        {
            rules.Apply(op);
        }

        return rules;
    }

    public AclRules Clone()
    {
        var copy = new AclRules
        {
            Enabled = Enabled,
            NoPass = NoPass,
            Sanitize = Sanitize,
            Passwords = [.. Passwords],
            AllKeys = AllKeys,
            KeyPatterns = [.. KeyPatterns],
            AllChannels = AllChannels,
            Channels = [.. Channels],
            AllCommands = AllCommands,
        };
        _commands.CopyTo(copy._commands, 0);
        if (_firstArgs is not null)
        {
            copy._firstArgs = _firstArgs.ToDictionary(p => p.Key, p => new List<string>(p.Value));
        }

        return copy;
    }

    public static string ErrorText(AclRuleError error) => error switch
    {
        AclRuleError.UnknownCommand => "Unknown command or category name in ACL",
        AclRuleError.Syntax => "Syntax error",
        AclRuleError.KeyAfterAllKeys => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
        AclRuleError.ChannelAfterAllChannels => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
        AclRuleError.NoSuchPassword => "The password you are trying to remove from the user does not exist",
        AclRuleError.BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
        AclRuleError.FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        _ => "Wrong format",
    };

    /// <summary>SHA-256 of the password bytes, as lower-case hex (ACLHashPassword).</summary>
    public static string HashPassword(ReadOnlySpan<byte> password) => Convert.ToHexStringLower(SHA256.HashData(password));

    /// <summary>Whether <paramref name="password"/> is one of the user's; compares hashes in constant time.</summary>
    public bool CheckPassword(ReadOnlySpan<byte> password)
    {
        if (NoPass)
        {
            return true;
        }

        var hex = Encoding.Latin1.GetBytes(HashPassword(password));
        var ok = false;
        foreach (var stored in Passwords)
        {
            ok |= CryptographicOperations.FixedTimeEquals(hex, Encoding.Latin1.GetBytes(stored));
        }

        return ok;
    }

    /// <summary>One rule (ACLSetUser + ACLSetSelector). The rule is Latin-1 text of the argument's bytes.</summary>
    public AclRuleError Apply(string op)
    {
        if (op.Length == 0)
        {
            return AclRuleError.None;
        }

        if (Is(op, "on"))
        {
            Enabled = true;
        }
        else if (Is(op, "off"))
        {
            Enabled = false;
        }
        else if (Is(op, "skip-sanitize-payload"))
        {
            Sanitize = 2;
        }
        else if (Is(op, "sanitize-payload"))
        {
            Sanitize = 1;
        }
        else if (Is(op, "nopass"))
        {
            NoPass = true;
            Passwords.Clear();
        }
        else if (Is(op, "resetpass"))
        {
            NoPass = false;
            Passwords.Clear();
        }
        else if (op[0] is '>' or '#')
        {
            string hash;
            if (op[0] == '>')
            {
                hash = HashPassword(Encoding.Latin1.GetBytes(op[1..]));
            }
            else if (!IsHash(op.AsSpan(1)))
            {
                return AclRuleError.BadHash;
            }
            else
            {
                hash = op[1..];
            }

            if (!Passwords.Contains(hash))
            {
                Passwords.Add(hash);
            }

            NoPass = false;
        }
        else if (op[0] is '<' or '!')
        {
            string hash;
            if (op[0] == '<')
            {
                hash = HashPassword(Encoding.Latin1.GetBytes(op[1..]));
            }
            else if (!IsHash(op.AsSpan(1)))
            {
                return AclRuleError.BadHash;
            }
            else
            {
                hash = op[1..];
            }

            if (!Passwords.Remove(hash))
            {
                return AclRuleError.NoSuchPassword;
            }
        }
        else if (Is(op, "clearselectors"))
        {
            // Only the root selector exists here.
        }
        else if (Is(op, "reset"))
        {
            throw new InvalidOperationException("reset depends on acl-pubsub-default: use Reset");
        }
        else
        {
            return ApplySelectorRule(op);
        }

        return AclRuleError.None;
    }

    /// <summary>The "reset" rule: resetpass resetkeys resetchannels [allchannels] off sanitize-payload -@all.</summary>
    public void Reset(bool allChannelsByDefault)
    {
        Apply("resetpass");
        Apply("resetkeys");
        Apply("resetchannels");
        if (allChannelsByDefault)
        {
            Apply("allchannels");
        }

        Apply("off");
        Apply("sanitize-payload");
        Apply("-@all");
    }

    private AclRuleError ApplySelectorRule(string op)
    {
        if (Is(op, "allkeys") || Is(op, "~*"))
        {
            AllKeys = true;
            KeyPatterns.Clear();
        }
        else if (Is(op, "resetkeys"))
        {
            AllKeys = false;
            KeyPatterns.Clear();
        }
        else if (Is(op, "allchannels") || Is(op, "&*"))
        {
            AllChannels = true;
            Channels.Clear();
        }
        else if (Is(op, "resetchannels"))
        {
            AllChannels = false;
            Channels.Clear();
        }
        else if (Is(op, "allcommands") || Is(op, "+@all"))
        {
            Array.Fill(_commands, ulong.MaxValue);
            AllCommands = true;
            _firstArgs = null;
        }
        else if (Is(op, "nocommands") || Is(op, "-@all"))
        {
            Array.Clear(_commands);
            AllCommands = false;
            _firstArgs = null;
        }
        else if (op[0] is '~' or '%')
        {
            return AddKeyPattern(op);
        }
        else if (op[0] == '&')
        {
            if (AllChannels)
            {
                return AclRuleError.ChannelAfterAllChannels;
            }

            if (HasSpaces(op.AsSpan(1)))
            {
                return AclRuleError.Syntax;
            }

            var pattern = Encoding.Latin1.GetBytes(op[1..]);
            if (!Channels.Any(c => c.AsSpan().SequenceEqual(pattern)))
            {
                Channels.Add(pattern);
            }
        }
        else if (op[0] == '+' && At(op, 1) != '@')
        {
            return AllowCommand(op[1..]);
        }
        else if (op[0] == '-' && At(op, 1) != '@')
        {
            var command = AclCommandSet.Redis.Find(op[1..]);
            if (command is null)
            {
                return AclRuleError.UnknownCommand;
            }

            ChangePermission(command, false);
        }
        else if (op[0] is '+' or '-' && At(op, 1) == '@')
        {
            var flag = AclCommandSet.CategoryFlag(op[2..]);
            if (flag == 0)
            {
                return AclRuleError.UnknownCommand;
            }

            SetCategory(flag, op[0] == '+');
        }
        else
        {
            return AclRuleError.Syntax;
        }

        return AclRuleError.None;
    }

    private AclRuleError AddKeyPattern(string op)
    {
        if (AllKeys)
        {
            return AclRuleError.KeyAfterAllKeys;
        }

        var permission = KeyPermission.None;
        var offset = 1;
        if (op[0] == '%')
        {
            for (; offset < op.Length; offset++)
            {
                var c = char.ToUpperInvariant(op[offset]);
                if (c == 'R' && (permission & KeyPermission.Read) == 0)
                {
                    permission |= KeyPermission.Read;
                }
                else if (c == 'W' && (permission & KeyPermission.Write) == 0)
                {
                    permission |= KeyPermission.Write;
                }
                else if (op[offset] == '~')
                {
                    offset++;
                    break;
                }
                else
                {
                    return AclRuleError.Syntax;
                }
            }
        }
        else
        {
            permission = KeyPermission.All;
        }

        if (HasSpaces(op.AsSpan(offset)))
        {
            return AclRuleError.Syntax;
        }

        var pattern = op[offset..];
        var index = KeyPatterns.FindIndex(p => p.Pattern == pattern);
        if (index < 0)
        {
            KeyPatterns.Add((pattern, permission));
        }
        else
        {
            KeyPatterns[index] = (pattern, KeyPatterns[index].Permission | permission);
        }

        AllKeys = false;
        return AclRuleError.None;
    }

    private AclRuleError AllowCommand(string name)
    {
        var bar = name.LastIndexOf('|');
        if (bar < 0)
        {
            var command = AclCommandSet.Redis.Find(name);
            if (command is null)
            {
                return AclRuleError.UnknownCommand;
            }

            ChangePermission(command, true);
            return AclRuleError.None;
        }

        var container = AclCommandSet.Redis.Find(name[..bar]);
        var sub = name[(bar + 1)..];
        if (container is null)
        {
            return AclRuleError.UnknownCommand;
        }

        if (container.Parent is not null)
        {
            return AclRuleError.FirstArgOfSubcommand;
        }

        if (sub.Length == 0)
        {
            return AclRuleError.Syntax;
        }

        if (container.Subcommands.Count > 0)
        {
            var command = AclCommandSet.Redis.Find(name);
            if (command is null)
            {
                return AclRuleError.UnknownCommand;
            }

            ChangePermission(command, true);
            return AclRuleError.None;
        }

        // A first argument of a command without subcommands (deprecated in Redis, still accepted).
        _firstArgs ??= [];
        if (!_firstArgs.TryGetValue(container.Id, out var list))
        {
            _firstArgs[container.Id] = list = [];
        }

        if (!list.Any(a => a.Equals(sub, StringComparison.OrdinalIgnoreCase)))
        {
            list.Add(sub);
        }

        return AclRuleError.None;
    }

    public bool HasCommandBit(int id) => (_commands[id >> 6] & (1UL << (id & 63))) != 0;

    private void SetCommandBit(int id, bool value)
    {
        if (value)
        {
            _commands[id >> 6] |= 1UL << (id & 63);
        }
        else
        {
            _commands[id >> 6] &= ~(1UL << (id & 63));
            AllCommands = false;
        }
    }

    /// <summary>ACLChangeSelectorPerm: the command, all its subcommands, and no first-argument exceptions left.</summary>
    private void ChangePermission(AclCommand command, bool allow)
    {
        SetCommandBit(command.Id, allow);
        _firstArgs?.Remove(command.Id);
        foreach (var sub in command.Subcommands)
        {
            SetCommandBit(sub.Id, allow);
        }
    }

    private void SetCategory(ulong flag, bool allow)
    {
        foreach (var command in AclCommandSet.Redis.TopLevel)
        {
            if ((command.Categories & flag) != 0)
            {
                ChangePermission(command, allow);
            }

            foreach (var sub in command.Subcommands)
            {
                if ((sub.Categories & flag) != 0)
                {
                    ChangePermission(sub, allow);
                }
            }
        }
    }

    /// <summary>Whether a command not allowed as a whole is allowed with this first argument (+cmd|arg).</summary>
    public bool AllowsFirstArg(int id, ReadOnlySpan<byte> arg)
    {
        if (_firstArgs is null || !_firstArgs.TryGetValue(id, out var list))
        {
            return false;
        }

        var text = Encoding.Latin1.GetString(arg);
        return list.Any(a => a.Equals(text, StringComparison.OrdinalIgnoreCase));
    }

    private static bool Is(string op, string keyword) => op.Equals(keyword, StringComparison.OrdinalIgnoreCase);

    private static char At(string op, int index) => index < op.Length ? op[index] : '\0';

    private static bool IsHash(ReadOnlySpan<char> hash)
        => hash.Length == 64 && !hash.ContainsAnyExcept("0123456789abcdef");

    /// <summary>ACLStringHasSpaces: C isspace or NUL.</summary>
    public static bool HasSpaces(ReadOnlySpan<char> text) => text.IndexOfAny(" \t\n\v\f\r\0") >= 0;
}
