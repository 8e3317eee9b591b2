namespace Notistream.RespServer.Acl;

/// <summary>
/// A named user. Connections hold the user itself; its <see cref="Rules"/> are replaced whole by
/// ACL SETUSER (under the store's lock), so a command always checks one consistent set of rules.
/// </summary>
internal sealed class AclUser(string name, AclRules rules)
{
    private volatile AclRules _rules = rules;

    /// <summary>The name as Latin-1 text of its bytes.</summary>
    public string Name { get; } = name;

    public AclRules Rules
    {
        get => _rules;
        set => _rules = value;
    }

    public override string ToString() => Name;
}
