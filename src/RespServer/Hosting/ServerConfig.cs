using System.Globalization;
using Notistream.RespServer.Cluster;

namespace Notistream.RespServer.Hosting;

/// <summary>
/// The redis.conf directives this server implements: parsing (config file, command line, CONFIG SET)
/// and formatting (CONFIG GET), with Redis's value syntax (memory units, ranges) and error texts.
/// </summary>
internal static class ServerConfig
{
    /// <summary>Set only at start-up here; CONFIG SET answers "can't set immutable config".</summary>
    private static readonly HashSet<string> Immutable = ["port", "bind", "logfile", "databases", "daemonize", "aclfile", "appendfilename", "appenddirname", "supervised", "metrics-port", "metrics-bind"];

    /// <summary>
    /// Redis's protected configs, which CONFIG SET refuses while enable-protected-configs is no (its
    /// default, and the only setting here): "can't set protected config".
    /// </summary>
    private static readonly HashSet<string> Protected = ["dir"];

    /// <summary>Redis directives this server does not implement (RDB snapshots, daemonizing); accepted in a config file so an existing redis.conf loads.</summary>
    private static readonly Dictionary<string, string?> IgnoredInFile = new(StringComparer.OrdinalIgnoreCase)
    {
        ["save"] = null,
        ["dbfilename"] = null,

        // The server never forks itself away: a service manager runs it (Debian's redis.conf says yes).
        ["daemonize"] = null,
    };

    public static IReadOnlyList<KeyValuePair<string, string>> Snapshot(RespServerOptions o) =>
    [
        new("bind", string.Join(' ', o.Bind)),
        new("client-output-buffer-limit", $"normal {o.NormalOutputLimit} slave {o.ReplicaOutputLimit} pubsub {o.PubSubOutputLimit}"),
        new("client-query-buffer-limit", o.ClientQueryBufferLimit.ToString(CultureInfo.InvariantCulture)),
        new("databases", o.Databases.ToString(CultureInfo.InvariantCulture)),
        new("logfile", o.LogFile),
        new("loglevel", o.LogLevel),
        new("maxclients", o.MaxClients.ToString(CultureInfo.InvariantCulture)),
        new("port", o.Port.ToString(CultureInfo.InvariantCulture)),
        new("proto-max-bulk-len", o.ProtoMaxBulkLen.ToString(CultureInfo.InvariantCulture)),
        new("requirepass", o.RequirePass ?? ""),
        new("protected-mode", o.ProtectedMode ? "yes" : "no"),
        new("aclfile", o.AclFile),
        new("acl-pubsub-default", o.AclPubSubAllChannels ? "allchannels" : "resetchannels"),
        new("appendonly", o.AppendOnly ? "yes" : "no"),
        new("appendfsync", o.AppendFsync switch { AppendFsync.Always => "always", AppendFsync.No => "no", _ => "everysec" }),
        new("dir", o.Dir),
        new("appendfilename", o.AppendFilename),
        new("appenddirname", o.AppendDirname),
        new("aof-load-truncated", o.AofLoadTruncated ? "yes" : "no"),
        new("auto-aof-rewrite-percentage", o.AutoAofRewritePercentage.ToString(CultureInfo.InvariantCulture)),
        new("auto-aof-rewrite-min-size", o.AutoAofRewriteMinSize.ToString(CultureInfo.InvariantCulture)),
        new("save", ""),
        new("supervised", o.Supervised),
        new("tcp-keepalive", o.TcpKeepAlive.ToString(CultureInfo.InvariantCulture)),
        new("timeout", o.Timeout.ToString(CultureInfo.InvariantCulture)),
        new("channel-history", HistoryRule.Format(o.ChannelHistory)),
        new("history-max-memory", o.HistoryMaxMemory.ToString(CultureInfo.InvariantCulture)),
        new("metrics-port", o.MetricsPort.ToString(CultureInfo.InvariantCulture)),
        new("metrics-bind", o.MetricsBind),
        .. TlsConfig.Snapshot(o.Tls),
        .. ClusterConfig.Snapshot(o.Cluster),
    ];

    /// <summary>CONFIG SET name value [name value ...]: all or nothing. Returns Redis's error text, or null.</summary>
    /// <param name="clientsAllowed">at run time, how many clients the open-file limit allows of those asked
    /// (<see cref="OpenFilesLimit.Adjust"/>); a lower answer refuses a new maxclients, as Redis does</param>
    public static string? TrySet(RespServerOptions options, IReadOnlyList<(string Name, string Value)> pairs, bool runtime, Func<int, int>? clientsAllowed = null)
    {
        var copy = Clone(options);
        foreach (var (name, value) in pairs)
        {
            if (!Known(name))
            {
                return $"Unknown option or number of arguments for CONFIG SET - '{name}'";
            }

            if (runtime && (Immutable.Contains(name) || TlsConfig.Known(name) || ClusterConfig.Known(name)))
            {
                return $"CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config";
            }

            if (runtime && Protected.Contains(name))
            {
                return $"CONFIG SET failed (possibly related to argument '{name}') - can't set protected config";
            }

            var args = name is "bind" or "client-output-buffer-limit" or "channel-history"
                ? value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                : [value];
            var reason = Apply(copy, name, args);
            if (reason is not null)
            {
                return $"CONFIG SET failed (possibly related to argument '{name}') - {reason}";
            }

            if (name == "maxclients" && clientsAllowed?.Invoke(copy.MaxClients) is { } allowed && allowed < copy.MaxClients)
            {
                return $"CONFIG SET failed (possibly related to argument '{name}') - The operating system is not able to handle the specified number of clients, try with {allowed}";
            }
        }

        CopyTo(copy, options);
        return null;
    }

    /// <summary>One directive with its arguments (a config-file line or a --flag). Returns the reason it is refused, or null.</summary>
    public static string? ApplyDirective(RespServerOptions options, string name, string[] args, out bool ignored)
    {
        ignored = false;
        name = name.ToLowerInvariant();
        if (RedisDirectives.NotApplicable.Contains(name))
        {
            ignored = true;
            return null;
        }

        if (IgnoredInFile.TryGetValue(name, out var only))
        {
            if (only is not null && (args.Length != 1 || !args[0].Equals(only, StringComparison.OrdinalIgnoreCase)))
            {
                return $"'{name}' can only be '{only}' here";
            }

            ignored = true;
            return null;
        }

        if (name == "channel-history")
        {
            // Repeatable: the first line replaces the default rules, each line adds its own after them.
            var reason = HistoryRule.TryParse(args.SelectMany(a => a.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList(), out var rules);
            if (reason is not null)
            {
                return reason;
            }

            options.ChannelHistory = options.ChannelHistoryConfigured ? [.. options.ChannelHistory, .. rules] : rules;
            options.ChannelHistoryConfigured = true;
            return null;
        }

        if (name == "user")
        {
            if (args.Length == 0)
            {
                return "Bad directive or wrong number of arguments";
            }

            options.Users = [.. options.Users, args];
            return null;
        }

        if (!Known(name))
        {
            return "Bad directive or wrong number of arguments";
        }

        return Apply(options, name, args);
    }

    private static bool Known(string name) => name is "port" or "bind" or "requirepass" or "maxclients" or "timeout"
        or "tcp-keepalive" or "client-output-buffer-limit" or "proto-max-bulk-len" or "client-query-buffer-limit"
        or "loglevel" or "logfile" or "databases" or "protected-mode" or "aclfile" or "acl-pubsub-default" or "channel-history" or "history-max-memory"
        or "appendonly" or "appendfsync" or "dir" or "appendfilename" or "appenddirname" or "aof-load-truncated"
        or "auto-aof-rewrite-percentage" or "auto-aof-rewrite-min-size" or "supervised" or "metrics-port" or "metrics-bind"
        || TlsConfig.Known(name) || ClusterConfig.Known(name);

    private static string? Apply(RespServerOptions o, string name, string[] args)
    {
        if (name is not ("bind" or "client-output-buffer-limit" or "channel-history") && args.Length != 1)
        {
            return "wrong number of arguments";
        }

        if (TlsConfig.Known(name))
        {
            return TlsConfig.Apply(o.Tls, name, args[0]);
        }

        if (ClusterConfig.Known(name))
        {
            return ClusterConfig.Apply(o.Cluster, name, args[0]);
        }

        switch (name)
        {
            case "port":
                return Int(args[0], 0, 65535, v => o.Port = v);
            case "bind":
                if (args.Length == 0)
                {
                    return "wrong number of arguments";
                }

                o.Bind = args;
                return null;
            case "requirepass":
                o.RequirePass = args[0];
                return null;
            case "maxclients":
                return Int(args[0], 1, int.MaxValue, v => o.MaxClients = v);
            case "timeout":
                return Int(args[0], 0, int.MaxValue, v => o.Timeout = v);
            case "tcp-keepalive":
                return Int(args[0], 0, int.MaxValue, v => o.TcpKeepAlive = v);
            case "databases":
                return Int(args[0], 1, int.MaxValue, v => o.Databases = v);
            case "proto-max-bulk-len":
                return Memory(args[0], 1024 * 1024, long.MaxValue, v => o.ProtoMaxBulkLen = v);
            case "history-max-memory":
                return Memory(args[0], 0, long.MaxValue, v => o.HistoryMaxMemory = v);
            case "client-query-buffer-limit":
                return Memory(args[0], 1024 * 1024, long.MaxValue, v => o.ClientQueryBufferLimit = v);
            case "loglevel":
                if (args[0].ToLowerInvariant() is not ("debug" or "verbose" or "notice" or "warning"))
                {
                    return "argument(s) must be one of the following: debug, verbose, notice, warning";
                }

                o.LogLevel = args[0].ToLowerInvariant();
                return null;
            case "logfile":
                o.LogFile = args[0];
                return null;
            case "protected-mode":
                return YesNo(args[0], v => o.ProtectedMode = v);
            case "aclfile":
                o.AclFile = args[0];
                return null;
            case "acl-pubsub-default":
                if (args[0].ToLowerInvariant() is not ("allchannels" or "resetchannels"))
                {
                    return "argument(s) must be one of the following: allchannels, resetchannels";
                }

                o.AclPubSubAllChannels = args[0].Equals("allchannels", StringComparison.OrdinalIgnoreCase);
                return null;
            case "client-output-buffer-limit":
                return OutputLimits(o, args);
            case "appendonly":
                return YesNo(args[0], v => o.AppendOnly = v);
            case "appendfsync":
                switch (args[0].ToLowerInvariant())
                {
                    case "always":
                        o.AppendFsync = AppendFsync.Always;
                        return null;
                    case "everysec":
                        o.AppendFsync = AppendFsync.EverySec;
                        return null;
                    case "no":
                        o.AppendFsync = AppendFsync.No;
                        return null;
                    default:
                        return "argument(s) must be one of the following: everysec, always, no";
                }

            case "dir":
                return WorkingFolder(args[0], v => o.Dir = v);
            case "appendfilename":
                return BaseName(args[0], "appendfilename", "filename", v => o.AppendFilename = v);
            case "appenddirname":
                return BaseName(args[0], "appenddirname", "dirname", v => o.AppendDirname = v);
            case "aof-load-truncated":
                return YesNo(args[0], v => o.AofLoadTruncated = v);
            case "auto-aof-rewrite-percentage":
                return Int(args[0], 0, int.MaxValue, v => o.AutoAofRewritePercentage = v);
            case "auto-aof-rewrite-min-size":
                return Memory(args[0], 0, long.MaxValue, v => o.AutoAofRewriteMinSize = v);
            case "metrics-port":
                return Int(args[0], -1, 65535, v => o.MetricsPort = v);
            case "metrics-bind":
                if (!System.Net.IPAddress.TryParse(args[0], out _))
                {
                    return "argument must be an IP address";
                }

                o.MetricsBind = args[0];
                return null;
            case "supervised":
                if (!Supervision.IsMode(args[0]))
                {
                    return Supervision.Error;
                }

                o.Supervised = args[0].ToLowerInvariant();
                return null;
            case "channel-history":
            {
                // CONFIG SET: the value replaces every rule.
                var reason = HistoryRule.TryParse(args, out var rules);
                if (reason is null)
                {
                    o.ChannelHistory = rules;
                }

                return reason;
            }
            default:
                return "Bad directive or wrong number of arguments";
        }
    }

    private static string? OutputLimits(RespServerOptions o, string[] args)
    {
        if (args.Length == 0 || args.Length % 4 != 0)
        {
            return "Wrong number of arguments in buffer limit configuration.";
        }

        for (var i = 0; i < args.Length; i += 4)
        {
            var hard = MemToLong(args[i + 1]);
            var soft = MemToLong(args[i + 2]);
            if (hard is null || soft is null || !int.TryParse(args[i + 3], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                || hard < 0 || soft < 0)
            {
                return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            }

            var limit = new OutputBufferLimit(hard.Value, soft.Value, seconds);
            switch (args[i].ToLowerInvariant())
            {
                case "normal":
                    o.NormalOutputLimit = limit;
                    break;
                case "replica" or "slave":
                    o.ReplicaOutputLimit = limit;
                    break;
                case "pubsub":
                    o.PubSubOutputLimit = limit;
                    break;
                default:
                    return "Invalid client class specified in buffer limit configuration.";
            }
        }

        return null;
    }

    /// <summary>dir: an existing folder, made absolute against the current one (Redis chdir()s into it; the errors are chdir's).</summary>
    private static string? WorkingFolder(string text, Action<string> set)
    {
        string full;
        try
        {
            full = Path.GetFullPath(text);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return "No such file or directory";
        }

        if (!Directory.Exists(full))
        {
            return File.Exists(full) ? "Not a directory" : "No such file or directory";
        }

        // "./" is the folder itself, as getcwd() names it after Redis's chdir: no separator at the end.
        set(Path.TrimEndingDirectorySeparator(full));
        return null;
    }

    /// <summary>appendfilename and appenddirname: a name inside the folder, never a path (isValidAOFfilename / isValidAOFdirname).</summary>
    private static string? BaseName(string text, string directive, string what, Action<string> set)
    {
        if (text.Length == 0)
        {
            return $"{directive} can't be empty";
        }

        if (text.Contains('/') || text.Contains('\\'))
        {
            return $"{directive} can't be a path, just a {what}";
        }

        set(text);
        return null;
    }

    private static string? YesNo(string text, Action<bool> set)
    {
        if (!text.Equals("yes", StringComparison.OrdinalIgnoreCase) && !text.Equals("no", StringComparison.OrdinalIgnoreCase))
        {
            return "argument must be 'yes' or 'no'";
        }

        set(text.Equals("yes", StringComparison.OrdinalIgnoreCase));
        return null;
    }

    private static string? Int(string text, int min, int max, Action<int> set)
    {
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return "argument couldn't be parsed into an integer";
        }

        if (value < min || value > max)
        {
            return $"argument must be between {min} and {max} inclusive";
        }

        set((int)value);
        return null;
    }

    private static string? Memory(string text, long min, long max, Action<long> set)
    {
        var value = MemToLong(text);
        if (value is null)
        {
            return "argument must be a memory value";
        }

        if (value < min || value > max)
        {
            return $"argument must be between {min} and {max} inclusive";
        }

        set(value.Value);
        return null;
    }

    /// <summary>Redis's memtoll: 1k = 1000, 1kb = 1024, m/mb, g/gb, case-insensitive.</summary>
    public static long? MemToLong(string text)
    {
        var digitsEnd = 0;
        if (text.StartsWith('-'))
        {
            digitsEnd = 1;
        }

        while (digitsEnd < text.Length && char.IsAsciiDigit(text[digitsEnd]))
        {
            digitsEnd++;
        }

        long multiplier = text[digitsEnd..].ToLowerInvariant() switch
        {
            "" or "b" => 1,
            "k" => 1000,
            "kb" => 1024,
            "m" => 1000 * 1000,
            "mb" => 1024 * 1024,
            "g" => 1000L * 1000 * 1000,
            "gb" => 1024L * 1024 * 1024,
            _ => 0,
        };
        if (multiplier == 0 || !long.TryParse(text.AsSpan(0, digitsEnd), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }

        return checked(value * multiplier);
    }

    private static RespServerOptions Clone(RespServerOptions o) => new()
    {
        Port = o.Port,
        Bind = o.Bind,
        RequirePass = o.RequirePass,
        MaxClients = o.MaxClients,
        Timeout = o.Timeout,
        TcpKeepAlive = o.TcpKeepAlive,
        NormalOutputLimit = o.NormalOutputLimit,
        ReplicaOutputLimit = o.ReplicaOutputLimit,
        PubSubOutputLimit = o.PubSubOutputLimit,
        ProtoMaxBulkLen = o.ProtoMaxBulkLen,
        ClientQueryBufferLimit = o.ClientQueryBufferLimit,
        LogLevel = o.LogLevel,
        LogFile = o.LogFile,
        Databases = o.Databases,
        ConfigFile = o.ConfigFile,
        Tls = o.Tls.Clone(),
        Cluster = o.Cluster.Clone(),
        ProtectedMode = o.ProtectedMode,
        Users = o.Users,
        AclFile = o.AclFile,
        AclPubSubAllChannels = o.AclPubSubAllChannels,
        ChannelHistory = o.ChannelHistory,
        ChannelHistoryConfigured = o.ChannelHistoryConfigured,
        HistoryMaxMemory = o.HistoryMaxMemory,
        AppendOnly = o.AppendOnly,
        AppendFsync = o.AppendFsync,
        Dir = o.Dir,
        AppendFilename = o.AppendFilename,
        AppendDirname = o.AppendDirname,
        AofLoadTruncated = o.AofLoadTruncated,
        AutoAofRewritePercentage = o.AutoAofRewritePercentage,
        AutoAofRewriteMinSize = o.AutoAofRewriteMinSize,
        MetricsPort = o.MetricsPort,
        MetricsBind = o.MetricsBind,
        Supervised = o.Supervised,
        SupervisedBySystemd = o.SupervisedBySystemd,
    };

    private static void CopyTo(RespServerOptions from, RespServerOptions to)
    {
        to.Port = from.Port;
        to.Bind = from.Bind;
        to.RequirePass = from.RequirePass;
        to.MaxClients = from.MaxClients;
        to.Timeout = from.Timeout;
        to.TcpKeepAlive = from.TcpKeepAlive;
        to.NormalOutputLimit = from.NormalOutputLimit;
        to.ReplicaOutputLimit = from.ReplicaOutputLimit;
        to.PubSubOutputLimit = from.PubSubOutputLimit;
        to.ProtoMaxBulkLen = from.ProtoMaxBulkLen;
        to.ClientQueryBufferLimit = from.ClientQueryBufferLimit;
        to.LogLevel = from.LogLevel;
        to.LogFile = from.LogFile;
        to.Databases = from.Databases;
        to.Tls = from.Tls;
        to.Cluster = from.Cluster;
        to.ProtectedMode = from.ProtectedMode;
        to.AclFile = from.AclFile;
        to.AclPubSubAllChannels = from.AclPubSubAllChannels;
        to.ChannelHistory = from.ChannelHistory;
        to.HistoryMaxMemory = from.HistoryMaxMemory;
        to.AppendOnly = from.AppendOnly;
        to.AppendFsync = from.AppendFsync;
        to.Dir = from.Dir;
        to.AppendFilename = from.AppendFilename;
        to.AppendDirname = from.AppendDirname;
        to.AofLoadTruncated = from.AofLoadTruncated;
        to.AutoAofRewritePercentage = from.AutoAofRewritePercentage;
        to.AutoAofRewriteMinSize = from.AutoAofRewriteMinSize;
        to.MetricsPort = from.MetricsPort;
        to.MetricsBind = from.MetricsBind;
        to.Supervised = from.Supervised;
    }
}
