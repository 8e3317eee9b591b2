using System.Text;

namespace Notistream.RespServer.Acl;

/// <summary>A problem in the ACL configuration found at start-up; the message says where.</summary>
internal sealed class AclConfigException(string message) : Exception(message);

/// <summary>
/// The users (Redis's Users rax and DefaultUser). ACL commands run on any connection's loop: every
/// change of the user set happens under <see cref="_lock"/>; connections read a user's rules
/// without locking (see <see cref="AclUser"/>).
/// </summary>
internal sealed class AclStore
{
    private readonly Lock _lock = new();
    private SortedDictionary<string, AclUser> _users = new(StringComparer.Ordinal);

    /// <summary>Builds the users of a server: requirepass, then the config's user lines, then the aclfile (as Redis at start-up).</summary>
    public AclStore(string? requirePass, IReadOnlyList<string[]> configuredUsers, string? aclFile, bool allChannelsByDefault)
    {
        AllChannelsByDefault = allChannelsByDefault;
        AclFile = string.IsNullOrEmpty(aclFile) ? null : aclFile;
        Default = new AclUser("default", AclRules.DefaultUser());
        _users["default"] = Default;
        SetDefaultPassword(requirePass);
        if (AclFile is not null && configuredUsers.Count > 0)
        {
            throw new AclConfigException("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.");
        }

        foreach (var line in configuredUsers)
        {
            var name = line[0];
            if (AclRules.HasSpaces(name))
            {
                throw new AclConfigException("Spaces not allowed in ACL usernames");
            }

            if (configuredUsers.Count(u => u[0] == name) > 1)
            {
                throw new AclConfigException($"Error in user declaration '{name}': Duplicate user found. A user can only be defined once in config files");
            }

            var rules = name == "default" ? Default.Rules.Clone() : AclRules.NewUser(allChannelsByDefault);
            if (name == "default")
            {
                rules.Reset(allChannelsByDefault);
            }

            foreach (var op in line.Skip(1))
            {
                var error = ApplyRule(rules, op);
                if (error != AclRuleError.None)
                {
                    // A password given in clear (<pass) is not repeated in the start-up error.
                    var shown = op.Length > 0 && op[0] is '>' or '<' ? op[0] + "<redacted>" : op;
                    throw new AclConfigException($"Error loading ACL rule '{shown}' for the user named '{name}': {AclRules.ErrorText(error)}");
                }
            }

            if (name == "default")
            {
                Default.Rules = rules;
            }
            else
            {
                _users[name] = new AclUser(name, rules);
            }
        }

        if (AclFile is not null)
        {
            var errors = Load(out _);
            if (errors is not null)
            {
                throw new AclConfigException($"Aborting Redis startup because of ACL errors: {errors}");
            }
        }
    }

    public AclUser Default { get; }

    /// <summary>Refused commands and logins (ACL LOG).</summary>
    public AclLog Log { get; } = new();

    /// <summary>acl-pubsub-default allchannels (Redis 6 behaviour) rather than resetchannels.</summary>
    public bool AllChannelsByDefault { get; set; }

    public string? AclFile { get; }

    /// <summary>Redis's authRequired: the default user has a password or is off.</summary>
    public bool DefaultRequiresAuth
    {
        get
        {
            var rules = Default.Rules;
            return !rules.NoPass || !rules.Enabled;
        }
    }

    /// <summary>A rule or "reset", applied to rules being built.</summary>
    public AclRuleError ApplyRule(AclRules rules, string op)
    {
        if (op.Equals("reset", StringComparison.OrdinalIgnoreCase))
        {
            rules.Reset(AllChannelsByDefault);
            return AclRuleError.None;
        }

        return rules.Apply(op);
    }

    public AclUser? Find(string name)
    {
        lock (_lock)
        {
            return _users.GetValueOrDefault(name);
        }
    }

    public List<AclUser> Users()
    {
        lock (_lock)
        {
            return [.. _users.Values];
        }
    }

    /// <summary>ACLUpdateDefaultUserPassword (requirepass): resetpass, then the password or nopass.</summary>
    public void SetDefaultPassword(string? password)
    {
        lock (_lock)
        {
            var rules = Default.Rules.Clone();
            rules.Apply("resetpass");
            rules.Apply(string.IsNullOrEmpty(password) ? "nopass" : ">" + Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(password)));
            Default.Rules = rules;
        }
    }

    /// <summary>ACLCheckUserCredentials: the user if it exists, is on, and the password is one of its own.</summary>
    public AclUser? Authenticate(ReadOnlySpan<byte> name, ReadOnlySpan<byte> password)
    {
        var user = Find(Encoding.Latin1.GetString(name));
        if (user is null)
        {
            return null;
        }

        var rules = user.Rules;
        return rules.Enabled && rules.CheckPassword(password) ? user : null;
    }

    /// <summary>
    /// ACL SETUSER: applies the rules to a copy of the user (or a new one) and publishes it only if
    /// all were valid. Returns the failing rule and why, or null. <paramref name="before"/> is the
    /// user's rules before, null for a new user.
    /// </summary>
    public (string Rule, AclRuleError Error)? SetUser(string name, IReadOnlyList<string> ops, out AclUser? user, out AclRules? before)
    {
        lock (_lock)
        {
            user = _users.GetValueOrDefault(name);
            before = user?.Rules;
            var rules = before?.Clone() ?? AclRules.NewUser(AllChannelsByDefault);
            foreach (var op in ops)
            {
                var error = ApplyRule(rules, op);
                if (error != AclRuleError.None)
                {
                    return (op, error);
                }
            }

            if (user is null)
            {
                user = new AclUser(name, rules);
                _users[name] = user;
            }
            else
            {
                user.Rules = rules;
            }

            return null;
        }
    }

    /// <summary>Removes the users that exist; returns them (their clients are to be closed).</summary>
    public List<AclUser> Delete(IEnumerable<string> names)
    {
        var removed = new List<AclUser>();
        lock (_lock)
        {
            foreach (var name in names)
            {
                if (_users.Remove(name, out var user))
                {
                    removed.Add(user);
                }
            }
        }

        return removed;
    }

    /// <summary>"user name rules" lines, sorted by name (ACL LIST, ACL SAVE).</summary>
    public List<string> DescribeAll() => [.. Users().Select(u => $"user {u.Name} {u.Rules.Describe()}")];

    /// <summary>
    /// ACL LOAD (ACLLoadFromFile): all users from the file or, on any error, none. Returns Redis's
    /// error text or null; <paramref name="replaced"/> are the users that are gone (their clients are closed).
    /// </summary>
    public string? Load(out List<AclUser> replaced)
    {
        replaced = [];
        string[] lines;
        try
        {
            lines = Encoding.Latin1.GetString(File.ReadAllBytes(AclFile!)).Split('\n');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"Error loading ACLs, opening file '{AclFile}': {(ex is FileNotFoundException or DirectoryNotFoundException ? "No such file or directory" : ex.Message)}";
        }

        var errors = new StringBuilder();
        var users = new SortedDictionary<string, AclUser>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim(' ', '\t', '\r', '\n');
            var number = i + 1;
            if (line.Length == 0)
            {
                continue;
            }

            var argv = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (argv.Length == 0)
            {
                continue;
            }

            if (argv[0] != "user" || argv.Length < 2)
            {
                errors.Append($"{AclFile}:{number} should start with user keyword followed by the username. ");
                continue;
            }

            if (users.ContainsKey(argv[1]))
            {
                errors.Append($"WARNING: Duplicate user '{argv[1]}' found on line {number}. ");
                continue;
            }

            var rules = AclRules.NewUser(AllChannelsByDefault);
            foreach (var op in argv.Skip(2))
            {
                var rule = op.Trim('\t', '\r', '\n');
                var error = ApplyRule(rules, rule);
                if (error != AclRuleError.None)
                {
                    errors.Append(error == AclRuleError.UnknownCommand
                        ? $"{AclFile}:{number}: Error in applying operation '{rule}': {AclRules.ErrorText(error)}. "
                        : $"{AclFile}:{number}: {AclRules.ErrorText(error)}. ");
                }
            }

            users[argv[1]] = new AclUser(argv[1], rules);
        }

        if (errors.Length > 0)
        {
            return errors.Append("WARNING: ACL errors detected, no change to the previously active ACL rules was performed").ToString();
        }

        lock (_lock)
        {
            Default.Rules = users.Remove("default", out var loaded) ? loaded.Rules : AclRules.DefaultUser();
            users["default"] = Default;
            replaced = [.. _users.Values.Where(u => u != Default)];
            _users = users;
        }

        return null;
    }

    /// <summary>ACL SAVE: the users to the aclfile through a temporary file and a rename.</summary>
    public bool Save()
    {
        var text = string.Concat(DescribeAll().Select(line => line + "\n"));
        var temp = $"{AclFile}.tmp-{Environment.ProcessId}-{Environment.TickCount64}";
        try
        {
            File.WriteAllBytes(temp, Encoding.Latin1.GetBytes(text));
            File.Move(temp, AclFile!, overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp);
            return false;
        }
    }
}
