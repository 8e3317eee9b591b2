using System.Globalization;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Commands;

/// <summary>INFO, CONFIG, COMMAND, TIME, and the replies a non-cluster Redis with an empty keyspace gives to GET and CLUSTER.</summary>
internal static class ServerCommands
{
    private static readonly string[] InfoSections = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"];

    public static void Register(CommandTable table)
    {
        table.Add("info", -1, Info);
        table.Add("time", 1, Time);
        table.Add("bgrewriteaof", 1, BgRewriteAof);
        table.Add("config", -2, null)
            .Add("get", -3, ConfigGet)
            .Add("set", -4, ConfigSet)
            .Add("resetstat", 2, ConfigResetStat)
            .Add("help", 2, ConfigHelp);
        table.Add("cluster", -2, null)
            .Add("info", 2, ClusterDisabled)
            .Add("nodes", 2, ClusterDisabled)
            .Add("slots", 2, ClusterDisabled)
            .Add("shards", 2, ClusterDisabled)
            .Add("myid", 2, ClusterDisabled);
        var command = table.Add("command", -1, (c, in r) => CommandInfo(c, r, table, 1));
        command.Add("count", 2, (c, in r) => c.Writer.WriteInteger(table.All.Count))
            .Add("list", -2, (c, in r) => CommandList(c, r, table))
            .Add("info", -2, (c, in r) => CommandInfo(c, r, table, 2))
            .Add("docs", -2, (c, in r) => CommandDocs(c, r, table))
            .Add("help", 2, CommandHelp);
    }

    private static void ClusterDisabled(RespConnection client, in RespRequest request)
        => client.Writer.WriteError("This instance has cluster support disabled");

    private static void Time(RespConnection client, in RespRequest request)
    {
        var now = DateTimeOffset.UtcNow;
        var micros = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        var writer = client.Writer;
        writer.WriteArrayHeader(2);
        writer.WriteBulk((micros / 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture));
        writer.WriteBulk((micros % 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void Info(RespConnection client, in RespRequest request)
    {
        var wanted = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (request.Count == 1)
        {
            wanted.Add("default");
        }

        for (var i = 1; i < request.Count; i++)
        {
            wanted.Add(Encoding.UTF8.GetString(request[i]));
        }

        var all = wanted.Contains("all") || wanted.Contains("everything") || wanted.Contains("default");
        var text = new StringBuilder();
        foreach (var section in InfoSections)
        {
            if (!all && !wanted.Contains(section))
            {
                continue;
            }

            if (text.Length > 0)
            {
                text.Append("\r\n");
            }

            AppendSection(text, section, client.Server);
        }

        client.Writer.WriteVerbatim(text.ToString());
    }

    private static void AppendSection(StringBuilder text, string section, ServerContext server)
    {
        var process = Process.GetCurrentProcess();
        var uptime = (long)server.Uptime.Elapsed.TotalSeconds;
        void Line(string name, object value) => text.Append(name).Append(':').Append(
            Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)).Append("\r\n");

        switch (section)
        {
            case "server":
                text.Append("# Server\r\n");
                Line("redis_version", ServerContext.RedisVersion);
                Line("notistream_version", ProductVersion.Text);
                Line("redis_git_sha1", ServerContext.GitSha1);
                Line("redis_git_dirty", 0);
                Line("redis_build_id", "0");
                Line("redis_mode", "standalone");
                Line("os", $"{RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}".Replace('\r', ' ').Replace('\n', ' '));
                Line("arch_bits", IntPtr.Size * 8);
                Line("multiplexing_api", "dotnet-sockets");
                Line("atomicvar_api", "dotnet-interlocked");
                Line("process_id", Environment.ProcessId);
                Line("process_supervised", server.Options.SupervisedBySystemd ? "systemd" : "no");
                Line("run_id", server.RunId);
                Line("tcp_port", server.BoundPort);
                Line("server_time_usec", (DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
                Line("uptime_in_seconds", uptime);
                Line("uptime_in_days", uptime / 86400);
                Line("hz", 10);
                Line("configured_hz", 10);
                Line("executable", Environment.ProcessPath ?? "");
                Line("config_file", server.Options.ConfigFile ?? "");
                Line("io_threads_active", 0);
                break;
            case "clients":
                text.Append("# Clients\r\n");
                Line("connected_clients", server.Clients.Count);
                Line("cluster_connections", 0);
                Line("maxclients", server.Options.MaxClients);
                Line("client_recent_max_input_buffer", 0);
                Line("client_recent_max_output_buffer", 0);
                Line("blocked_clients", Interlocked.Read(ref server.Stats.BlockedClients));
                Line("tracking_clients", 0);
                Line("clients_in_timeout_table", 0);
                break;
            case "memory":
                text.Append("# Memory\r\n");
                var used = GC.GetTotalMemory(false);
                Line("used_memory", used);
                Line("used_memory_human", Human(used));
                Line("used_memory_rss", process.WorkingSet64);
                Line("used_memory_rss_human", Human(process.WorkingSet64));
                Line("used_memory_peak", process.PeakWorkingSet64);
                Line("used_memory_peak_human", Human(process.PeakWorkingSet64));
                Line("total_system_memory", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
                Line("total_system_memory_human", Human(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes));
                Line("maxmemory", 0);
                Line("maxmemory_human", "0B");
                // Kept counts, read without the gate: INFO never waits for the keyspace nor walks it. Entries and
                // memory are as of the last PUBLISH or once-a-second sweep (what DEL, XTRIM … did shows within a second).
                var (historyBytes, historyEvicted) = (server.Keys.HistoryBytes, server.Keys.HistoryEvicted);
                Line("history_memory", historyBytes);
                Line("history_memory_human", Human(historyBytes));
                Line("history_max_memory", server.Options.HistoryMaxMemory);
                Line("history_evicted_entries", historyEvicted);
                Line("history_entries", server.Keys.HistoryEntries);
                Line("maxmemory_policy", "noeviction");
                Line("mem_allocator", "dotnet-gc");
                break;
            case "persistence":
                // Redis 7.0's fields in its order. The keyspace is loaded before the server listens, so no
                // client sees loading:1; RDB snapshots are not implemented (their fields are at rest).
                text.Append("# Persistence\r\n");
                Line("loading", 0);
                Line("async_loading", 0);
                Line("current_cow_peak", 0);
                Line("current_cow_size", 0);
                Line("current_cow_size_age", 0);
                Line("current_fork_perc", "0.00");
                Line("current_save_keys_processed", 0);
                Line("current_save_keys_total", 0);
                Line("rdb_changes_since_last_save", 0);
                Line("rdb_bgsave_in_progress", 0);
                Line("rdb_last_save_time", server.StartedAt.ToUnixTimeSeconds());
                Line("rdb_last_bgsave_status", "ok");
                Line("rdb_last_bgsave_time_sec", -1);
                Line("rdb_current_bgsave_time_sec", -1);
                Line("rdb_saves", 0);
                Line("rdb_last_cow_size", 0);
                Line("rdb_last_load_keys_expired", 0);
                Line("rdb_last_load_keys_loaded", 0);
                server.Aof.AppendInfo(Line);
                break;
            case "stats":
                text.Append("# Stats\r\n");
                var stats = server.Stats;
                Line("total_connections_received", Interlocked.Read(ref stats.TotalConnectionsReceived));
                Line("total_commands_processed", Interlocked.Read(ref stats.TotalCommandsProcessed));
                Line("instantaneous_ops_per_sec", 0);
                Line("rejected_connections", Interlocked.Read(ref stats.RejectedConnections));
                Line("expired_keys", 0);
                Line("evicted_keys", 0);
                Line("keyspace_hits", 0);
                Line("keyspace_misses", 0);
                Line("pubsub_channels", server.Registry.ChannelCount);
                Line("pubsub_patterns", server.Registry.PatternCount);
                Line("pubsubshard_channels", server.Registry.ShardChannelCount);
                Line("pubsub_messages_published", Interlocked.Read(ref stats.PubSubMessagesPublished));
                Line("pubsub_messages_delivered", Interlocked.Read(ref stats.PubSubMessagesDelivered));
                Line("client_output_buffer_limit_disconnections", Interlocked.Read(ref stats.ClientsClosedForOutputLimit));
                Line("total_error_replies", Interlocked.Read(ref stats.TotalErrorReplies));
                break;
            case "replication":
                text.Append("# Replication\r\n");
                Line("role", "master");
                Line("connected_slaves", 0);
                Line("master_failover_state", "no-failover");
                Line("master_replid", server.RunId);
                Line("master_replid2", new string('0', 40));
                Line("master_repl_offset", 0);
                Line("second_repl_offset", -1);
                Line("repl_backlog_active", 0);
                break;
            case "cpu":
                text.Append("# CPU\r\n");
                Line("used_cpu_sys", process.PrivilegedProcessorTime.TotalSeconds.ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture));
                Line("used_cpu_user", process.UserProcessorTime.TotalSeconds.ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture));
                Line("used_cpu_sys_children", "0.000000");
                Line("used_cpu_user_children", "0.000000");
                break;
            case "modules":
                text.Append("# Modules\r\n");
                break;
            case "errorstats":
                text.Append("# Errorstats\r\n");
                break;
            case "cluster":
                text.Append("# Cluster\r\n");
                Line("cluster_enabled", 0);
                server.Cluster?.AppendInfo(Line);
                break;
            case "keyspace":
                text.Append("# Keyspace\r\n");
                var keys = server.Keys;
                lock (keys.Gate)
                {
                    for (var db = 0; db < keys.Count; db++)
                    {
                        if (keys.Find(db) is { Count: > 0 } database)
                        {
                            text.Append(CultureInfo.InvariantCulture, $"db{db}:keys={database.Count},expires=0,avg_ttl=0\r\n");
                        }
                    }
                }

                break;
        }
    }

    private static string Human(long bytes) => bytes switch
    {
        < 1024 => $"{bytes}B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.00}K",
        < 1024L * 1024 * 1024 => $"{bytes / 1024.0 / 1024:0.00}M",
        _ => $"{bytes / 1024.0 / 1024 / 1024:0.00}G",
    };

    private static void ConfigGet(RespConnection client, in RespRequest request)
    {
        var values = ServerConfig.Snapshot(client.Server.Options);
        var matched = new List<KeyValuePair<string, string>>();
        var seen = new HashSet<string>();
        for (var i = 2; i < request.Count; i++)
        {
            var given = Encoding.UTF8.GetString(request[i]);
            if (!GlobMatcher.HasGlob(request[i]))
            {
                // An exact name is looked up ignoring case and answered in the caller's spelling, as Redis does.
                foreach (var entry in values)
                {
                    if (entry.Key.Equals(given, StringComparison.OrdinalIgnoreCase) && seen.Add(entry.Key))
                    {
                        matched.Add(new(given, entry.Value));
                    }
                }

                continue;
            }

            var pattern = Encoding.UTF8.GetBytes(given.ToLowerInvariant());
            foreach (var entry in values)
            {
                if (GlobMatcher.IsMatch(pattern, Encoding.UTF8.GetBytes(entry.Key)) && seen.Add(entry.Key))
                {
                    matched.Add(entry);
                }
            }
        }

        var writer = client.Writer;
        writer.WriteMapHeader(matched.Count);
        foreach (var (name, value) in matched)
        {
            writer.WriteBulk(name);
            writer.WriteBulk(value);
        }
    }

    private static void ConfigSet(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        if ((request.Count & 1) == 1)
        {
            writer.WriteRaw(RespConstants.SyntaxError);
            return;
        }

        var pairs = new List<(string Name, string Value)>();
        for (var i = 2; i < request.Count; i += 2)
        {
            pairs.Add((Encoding.UTF8.GetString(request[i]).ToLowerInvariant(), Encoding.UTF8.GetString(request[i + 1])));
        }

        var files = client.Server.OpenFiles;
        var options = client.Server.Options;
        var appendOnly = options.AppendOnly;
        var error = ServerConfig.TrySet(options, pairs, runtime: true, files is null ? null : n => files.Adjust(n).Clients);
        if (error is not null)
        {
            writer.WriteError(error);
            return;
        }

        if (options.AppendOnly != appendOnly)
        {
            // As Redis's updateAppendonly: on starts a rewrite that writes the keyspace as a base (in the
            // background), off stops recording and closes the file.
            if (options.AppendOnly)
            {
                client.Server.Aof.Enable();
            }
            else
            {
                client.Server.Aof.Disable();
            }
        }

        var acl = client.Server.Acl;
        acl.AllChannelsByDefault = client.Server.Options.AclPubSubAllChannels;
        if (pairs.Any(p => p.Name == "requirepass"))
        {
            acl.SetDefaultPassword(client.Server.Options.RequirePass);
        }

        writer.WriteRaw(RespConstants.Ok);
    }

    /// <summary>BGREWRITEAOF: Redis's replies; the rewrite runs in the background (see AofLog.Lifecycle.cs).</summary>
    private static void BgRewriteAof(RespConnection client, in RespRequest request)
    {
        if (client.Server.Aof.StartRewrite() is { } error)
        {
            client.Writer.WriteError(error);
            return;
        }

        client.Writer.WriteSimpleString("Background append only file rewriting started");
    }

    private static void ConfigResetStat(RespConnection client, in RespRequest request)
    {
        var stats = client.Server.Stats;
        Interlocked.Add(ref stats.CommandsBeforeReset, Interlocked.Exchange(ref stats.TotalCommandsProcessed, 0));
        Interlocked.Add(ref stats.ConnectionsBeforeReset, Interlocked.Exchange(ref stats.TotalConnectionsReceived, 0));
        Interlocked.Exchange(ref stats.RejectedConnections, 0);
        Interlocked.Exchange(ref stats.TotalErrorReplies, 0);
        Interlocked.Add(ref stats.PublishedBeforeReset, Interlocked.Exchange(ref stats.PubSubMessagesPublished, 0));
        Interlocked.Add(ref stats.OutputLimitBeforeReset, Interlocked.Exchange(ref stats.ClientsClosedForOutputLimit, 0));
        client.Writer.WriteRaw(RespConstants.Ok);
    }

    private static void ConfigHelp(RespConnection client, in RespRequest request) => HelpText.Write(client.Writer, "CONFIG",
    [
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
    ]);

    private static void CommandList(RespConnection client, in RespRequest request, CommandTable table)
    {
        var writer = client.Writer;
        if (request.Count != 2)
        {
            writer.WriteRaw(RespConstants.SyntaxError);
            return;
        }

        writer.WriteArrayHeader(table.All.Count);
        foreach (var command in table.All.Values)
        {
            writer.WriteBulk(command.Name);
        }
    }

    /// <summary>COMMAND and COMMAND INFO: Redis 7's 10-field description of each command.</summary>
    private static void CommandInfo(RespConnection client, in RespRequest request, CommandTable table, int first)
    {
        var writer = client.Writer;
        if (request.Count <= first)
        {
            writer.WriteArrayHeader(table.All.Count);
            foreach (var command in table.All.Values)
            {
                WriteCommandInfo(writer, command);
            }

            return;
        }

        writer.WriteArrayHeader(request.Count - first);
        for (var i = first; i < request.Count; i++)
        {
            var command = table.FindByFullName(request[i]);
            if (command is null)
            {
                writer.WriteNull();
            }
            else
            {
                WriteCommandInfo(writer, command);
            }
        }
    }

    private static void WriteCommandInfo(RespWriter writer, CommandDefinition command)
    {
        var meta = CommandMetadata.For(command.FullName);
        var flags = meta.Flags;
        if (KeySpec.Movable(command.KeySpecs) && !flags.Contains("movablekeys"))
        {
            // Redis lists movablekeys after every other flag but allow_busy.
            var busy = Array.IndexOf(flags, "allow_busy");
            flags = busy < 0 ? [.. flags, "movablekeys"] : [.. flags[..busy], "movablekeys", .. flags[busy..]];
        }

        writer.WriteArrayHeader(10);
        writer.WriteBulk(command.FullName);
        writer.WriteInteger(command.Arity);
        writer.WriteSetHeader(flags.Length);
        foreach (var flag in flags)
        {
            writer.WriteSimpleString(flag);
        }

        var (firstKey, lastKey, step) = KeySpec.LegacyRange(command.KeySpecs);
        writer.WriteInteger(firstKey);
        writer.WriteInteger(lastKey);
        writer.WriteInteger(step);
        writer.WriteSetHeader(meta.Categories.Length);
        foreach (var category in meta.Categories)
        {
            writer.WriteSimpleString(category);
        }

        // Tips and key specs are sets in RESP3; subcommands an array, but an empty set when there are none.
        var tips = CommandMetadata.TipsFor(command.FullName);
        writer.WriteSetHeader(tips.Length);
        foreach (var tip in tips)
        {
            writer.WriteBulk(tip);
        }

        WriteKeySpecs(writer, command.KeySpecs);
        var subs = command.Subcommands?.Values.ToList() ?? [];
        if (subs.Count == 0)
        {
            writer.WriteSetHeader(0);
            return;
        }

        writer.WriteArrayHeader(subs.Count);
        foreach (var sub in subs)
        {
            WriteCommandInfo(writer, sub);
        }
    }

    /// <summary>COMMAND INFO's key specifications element, as addReplyCommandKeySpecs writes it.</summary>
    private static void WriteKeySpecs(RespWriter writer, KeySpec[] specs)
    {
        writer.WriteSetHeader(specs.Length);
        foreach (var spec in specs)
        {
            writer.WriteMapHeader(spec.Notes is null ? 3 : 4);
            if (spec.Notes is not null)
            {
                writer.WriteBulk("notes"u8);
                writer.WriteBulk(spec.Notes);
            }

            writer.WriteBulk("flags"u8);
            var flags = Enum.GetValues<KeySpecFlags>().Where(f => f != KeySpecFlags.None && (spec.Flags & f) != 0).ToList();
            writer.WriteSetHeader(flags.Count);
            foreach (var flag in flags)
            {
                writer.WriteSimpleString(KeySpecFlagName(flag));
            }

            writer.WriteBulk("begin_search"u8);
            writer.WriteMapHeader(2);
            writer.WriteBulk("type"u8);
            writer.WriteBulk(spec.Keyword is null ? "index"u8 : "keyword"u8);
            writer.WriteBulk("spec"u8);
            if (spec.Keyword is null)
            {
                writer.WriteMapHeader(1);
                writer.WriteBulk("index"u8);
                writer.WriteInteger(spec.Index);
            }
            else
            {
                writer.WriteMapHeader(2);
                writer.WriteBulk("keyword"u8);
                writer.WriteBulk(spec.Keyword);
                writer.WriteBulk("startfrom"u8);
                writer.WriteInteger(spec.StartFrom);
            }

            writer.WriteBulk("find_keys"u8);
            writer.WriteMapHeader(2);
            writer.WriteBulk("type"u8);
            writer.WriteBulk("range"u8);
            writer.WriteBulk("spec"u8);
            writer.WriteMapHeader(3);
            writer.WriteBulk("lastkey"u8);
            writer.WriteInteger(spec.LastKey);
            writer.WriteBulk("keystep"u8);
            writer.WriteInteger(spec.KeyStep);
            writer.WriteBulk("limit"u8);
            writer.WriteInteger(spec.Limit);
        }
    }

    private static string KeySpecFlagName(KeySpecFlags flag) => flag switch
    {
        KeySpecFlags.RO or KeySpecFlags.RW or KeySpecFlags.OW or KeySpecFlags.RM => flag.ToString(),
        KeySpecFlags.NotKey => "not_key",
        KeySpecFlags.VariableFlags => "variable_flags",
        _ => flag.ToString().ToLowerInvariant(),
    };

    private static void CommandDocs(RespConnection client, in RespRequest request, CommandTable table)
    {
        var writer = client.Writer;
        var commands = new List<CommandDefinition>();
        if (request.Count == 2)
        {
            commands.AddRange(table.All.Values);
        }
        else
        {
            for (var i = 2; i < request.Count; i++)
            {
                if (table.FindByFullName(request[i]) is { } command)
                {
                    commands.Add(command);
                }
            }
        }

        writer.WriteMapHeader(commands.Count);
        foreach (var command in commands)
        {
            var meta = CommandMetadata.For(command.FullName);
            writer.WriteBulk(command.FullName);
            writer.WriteMapHeader(3);
            writer.WriteBulk("summary"u8);
            writer.WriteBulk(meta.Summary);
            writer.WriteBulk("since"u8);
            writer.WriteBulk(meta.Since);
            writer.WriteBulk("group"u8);
            writer.WriteBulk(meta.Group);
        }
    }

    private static void CommandHelp(RespConnection client, in RespRequest request) => HelpText.Write(client.Writer, "COMMAND",
    [
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
    ]);
}
