namespace Notistream.RespServer.Cluster;

/// <summary>The nats-* directives: parsing (config file, command line) and formatting (CONFIG GET). All are immutable at run time.</summary>
internal static class ClusterConfig
{
    public static readonly IReadOnlyList<string> Names =
        ["nats-servers", "nats-user", "nats-password", "nats-token", "nats-subject-prefix", "nats-tls-ca-file", "nats-history", "nats-history-replicas"];

    public static bool Known(string name) => Names.Contains(name);

    public static IEnumerable<KeyValuePair<string, string>> Snapshot(ClusterOptions o) =>
    [
        new("nats-servers", o.Servers),
        new("nats-user", o.User),
        new("nats-password", o.Password),
        new("nats-token", o.Token),
        new("nats-subject-prefix", o.SubjectPrefix),
        new("nats-tls-ca-file", o.TlsCaFile),
        new("nats-history", o.History),
        new("nats-history-replicas", o.HistoryReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    /// <summary>One nats-* directive with its single argument. Returns the reason it is refused, or null.</summary>
    public static string? Apply(ClusterOptions o, string name, string value)
    {
        switch (name)
        {
            case "nats-servers":
                if (ValidateServers(value) is { } reason)
                {
                    return reason;
                }

                o.Servers = value;
                return null;
            case "nats-user":
                o.User = value;
                return null;
            case "nats-password":
                o.Password = value;
                return null;
            case "nats-token":
                o.Token = value;
                return null;
            case "nats-subject-prefix":
                if (SubjectMapping.ValidatePrefix(value) is { } prefixReason)
                {
                    return prefixReason;
                }

                o.SubjectPrefix = value;
                return null;
            case "nats-tls-ca-file":
                o.TlsCaFile = value;
                return null;
            case "nats-history":
                if (value is not ("jetstream" or "local"))
                {
                    return "nats-history must be jetstream or local";
                }

                o.History = value;
                return null;
            case "nats-history-replicas":
                if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var replicas) || replicas > 5)
                {
                    return "nats-history-replicas must be 0 (three, or one when JetStream refuses three) or 1 to 5";
                }

                o.HistoryReplicas = replicas;
                return null;
            default:
                return "Bad directive or wrong number of arguments";
        }
    }

    /// <summary>Empty, or comma-separated nats:// or tls:// URLs with a host and a port.</summary>
    private static string? ValidateServers(string value)
    {
        if (value.Length == 0)
        {
            return null;
        }

        foreach (var url in value.Split(','))
        {
            if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls")
                || uri.Host.Length == 0 || uri.IsDefaultPort && !url.Contains(':', StringComparison.Ordinal))
            {
                return $"'{url}' is not a NATS server URL (nats://host:port or tls://host:port)";
            }
        }

        return null;
    }
}
