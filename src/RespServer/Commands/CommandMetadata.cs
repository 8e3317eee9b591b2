namespace Notistream.RespServer.Commands;

/// <summary>What COMMAND INFO and COMMAND DOCS say of each command: Redis 7.0's flags, ACL categories, summary.</summary>
internal sealed record CommandMetadata(string[] Flags, string[] Categories, string Summary, string Since, string Group)
{
    private static readonly string[] SubscribeFlags = ["pubsub", "noscript", "loading", "stale"];
    private static readonly string[] PubSubSlow = ["@pubsub", "@slow"];
    private static readonly string[] FastConnection = ["@fast", "@connection"];
    private static readonly string[] NoAuthFlags = ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"];
    private static readonly string[] Slow = ["@slow"];

    private static readonly Dictionary<string, CommandMetadata> All = new(StringComparer.OrdinalIgnoreCase)
    {
        ["subscribe"] = new(SubscribeFlags, PubSubSlow, "Listens for messages published to channels.", "2.0.0", "pubsub"),
        ["unsubscribe"] = new(SubscribeFlags, PubSubSlow, "Stops listening to messages posted to channels.", "2.0.0", "pubsub"),
        ["psubscribe"] = new(SubscribeFlags, PubSubSlow, "Listens for messages published to channels that match one or more patterns.", "2.0.0", "pubsub"),
        ["punsubscribe"] = new(SubscribeFlags, PubSubSlow, "Stops listening to messages published to channels that match one or more patterns.", "2.0.0", "pubsub"),
        ["ssubscribe"] = new(SubscribeFlags, PubSubSlow, "Listens for messages published to shard channels.", "7.0.0", "pubsub"),
        ["sunsubscribe"] = new(SubscribeFlags, PubSubSlow, "Stops listening to messages posted to shard channels.", "7.0.0", "pubsub"),
        ["publish"] = new(["pubsub", "loading", "stale", "fast"], ["@pubsub", "@fast"], "Posts a message to a channel.", "2.0.0", "pubsub"),
        ["spublish"] = new(["pubsub", "loading", "stale", "fast"], ["@pubsub", "@fast"], "Post a message to a shard channel", "7.0.0", "pubsub"),
        ["pubsub"] = new([], Slow, "A container for Pub/Sub commands.", "2.8.0", "pubsub"),
        ["noti.publish"] = new(["pubsub", "loading", "stale", "fast"], ["@pubsub", "@fast"], "Posts a message to a channel; replies with the receivers and the id its history keeps it under.", "1.0.0", "pubsub"),
        ["noti.subscribe"] = new(SubscribeFlags, PubSubSlow, "Follows channels and patterns from an id: every later message exactly once, in id order, with gap notices.", "1.0.0", "pubsub"),
        ["ping"] = new(["fast"], FastConnection, "Returns the server's liveliness response.", "1.0.0", "connection"),
        ["echo"] = new(["loading", "stale", "fast"], FastConnection, "Returns the given string.", "1.0.0", "connection"),
        ["quit"] = new(NoAuthFlags, FastConnection, "Closes the connection.", "1.0.0", "connection"),
        ["reset"] = new(NoAuthFlags, FastConnection, "Resets the connection.", "6.2.0", "connection"),
        ["hello"] = new(NoAuthFlags, FastConnection, "Handshakes with the Redis server.", "6.0.0", "connection"),
        ["auth"] = new(NoAuthFlags, FastConnection, "Authenticates the connection.", "1.0.0", "connection"),
        ["select"] = new(["loading", "stale", "fast"], FastConnection, "Changes the selected database.", "1.0.0", "connection"),
        ["client"] = new([], Slow, "A container for client connection commands.", "2.4.0", "connection"),
        ["info"] = new(["loading", "stale"], ["@slow", "@dangerous"], "Returns information and statistics about the server.", "1.0.0", "server"),
        ["config"] = new([], Slow, "A container for server configuration commands.", "2.0.0", "server"),
        ["command"] = new(["loading", "stale"], ["@slow", "@connection"], "Returns detailed information about all commands.", "2.8.13", "server"),
        ["time"] = new(["loading", "stale", "fast"], ["@fast"], "Returns the server time.", "2.6.0", "server"),
        ["bgrewriteaof"] = new(["admin", "noscript", "no_async_loading"], ["@admin", "@slow", "@dangerous"], "Asynchronously rewrites the append-only file to disk.", "1.0.0", "server"),
        ["get"] = new(["readonly", "fast"], ["@read", "@string", "@fast"], "Get the value of a key (no strings are stored: nil, or WRONGTYPE)", "1.0.0", "string"),
        ["del"] = new(["write"], ["@keyspace", "@write", "@slow"], "Delete a key", "1.0.0", "generic"),
        ["unlink"] = new(["write", "fast"], ["@keyspace", "@write", "@fast"], "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "4.0.0", "generic"),
        ["exists"] = new(["readonly", "fast"], ["@keyspace", "@read", "@fast"], "Determine if a key exists", "1.0.0", "generic"),
        ["type"] = new(["readonly", "fast"], ["@keyspace", "@read", "@fast"], "Determine the type stored at key", "1.0.0", "generic"),
        ["dbsize"] = new(["readonly", "fast"], ["@keyspace", "@read", "@fast"], "Return the number of keys in the selected database", "1.0.0", "server"),
        ["keys"] = new(["readonly"], ["@keyspace", "@read", "@slow", "@dangerous"], "Find all keys matching the given pattern", "1.0.0", "generic"),
        ["scan"] = new(["readonly"], ["@keyspace", "@read", "@slow"], "Incrementally iterate the keys space", "2.8.0", "generic"),
        ["flushall"] = new(["write"], ["@keyspace", "@write", "@slow", "@dangerous"], "Remove all keys from all databases", "1.0.0", "server"),
        ["flushdb"] = new(["write"], ["@keyspace", "@write", "@slow", "@dangerous"], "Remove all keys from the current database", "1.0.0", "server"),
        ["xadd"] = new(["write", "denyoom", "fast"], ["@write", "@stream", "@fast"], "Appends a new entry to a stream", "5.0.0", "stream"),
        ["xrange"] = new(["readonly"], ["@read", "@stream", "@slow"], "Return a range of elements in a stream, with IDs matching the specified IDs interval", "5.0.0", "stream"),
        ["xrevrange"] = new(["readonly"], ["@read", "@stream", "@slow"], "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", "5.0.0", "stream"),
        ["xlen"] = new(["readonly", "fast"], ["@read", "@stream", "@fast"], "Return the number of entries in a stream", "5.0.0", "stream"),
        ["xdel"] = new(["write", "fast"], ["@write", "@stream", "@fast"], "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", "5.0.0", "stream"),
        ["xtrim"] = new(["write"], ["@write", "@stream", "@slow"], "Trims the stream to (approximately if '~' is passed) a certain size", "5.0.0", "stream"),
        ["xsetid"] = new(["write", "denyoom", "fast"], ["@write", "@stream", "@fast"], "An internal command for replicating stream values", "5.0.0", "stream"),
        ["xread"] = new(["readonly", "blocking", "movablekeys"], ["@read", "@stream", "@slow", "@blocking"], "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", "5.0.0", "stream"),
        ["xinfo"] = new([], Slow, "A container for stream introspection commands", "5.0.0", "stream"),
        ["xinfo|help"] = new(["loading", "stale"], ["@stream", "@slow"], "Show helpful text about the different subcommands", "5.0.0", "stream"),
        ["xinfo|stream"] = new(["readonly"], ["@read", "@stream", "@slow"], "Get information about a stream", "5.0.0", "stream"),
        ["xinfo|groups"] = new(["readonly"], ["@read", "@stream", "@slow"], "List the consumer groups of a stream", "5.0.0", "stream"),
        ["xinfo|consumers"] = new(["readonly"], ["@read", "@stream", "@slow"], "List the consumers in a consumer group", "5.0.0", "stream"),
        ["cluster"] = new([], Slow, "A container for Redis Cluster commands.", "3.0.0", "cluster"),
    };

    private static readonly string[] MultiShardSum = ["request_policy:multi_shard", "response_policy:agg_sum"];
    private static readonly string[] AllShardsSucceeded = ["request_policy:all_shards", "response_policy:all_succeeded"];
    private static readonly string[] NondeterministicOutput = ["nondeterministic_output"];
    private static readonly string[] NondeterministicOrder = ["nondeterministic_output_order"];

    /// <summary>The command tips COMMAND INFO lists (Redis 7.0's "command_tips"), by full name; most commands have none.</summary>
    private static readonly Dictionary<string, string[]> AllTips = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ping"] = AllShardsSucceeded,
        ["info"] = ["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
        ["time"] = NondeterministicOutput,
        ["command"] = NondeterministicOrder,
        ["command|info"] = NondeterministicOrder,
        ["command|list"] = NondeterministicOrder,
        ["command|docs"] = NondeterministicOrder,
        ["client|info"] = NondeterministicOutput,
        ["client|list"] = NondeterministicOutput,
        ["config|set"] = ["request_policy:all_nodes", "response_policy:all_succeeded"],
        ["cluster|nodes"] = NondeterministicOutput,
        ["cluster|shards"] = NondeterministicOutput,
        ["cluster|slots"] = NondeterministicOutput,
        ["cluster|info"] = NondeterministicOutput,
        ["del"] = MultiShardSum,
        ["unlink"] = MultiShardSum,
        ["exists"] = MultiShardSum,
        ["dbsize"] = ["request_policy:all_shards", "response_policy:agg_sum"],
        ["keys"] = ["request_policy:all_shards", "nondeterministic_output_order"],
        ["scan"] = ["nondeterministic_output", "request_policy:special"],
        ["flushdb"] = AllShardsSucceeded,
        ["flushall"] = AllShardsSucceeded,
        ["xadd"] = NondeterministicOutput,
        ["xtrim"] = NondeterministicOutput,
        ["xinfo|consumers"] = NondeterministicOutput,
    };

    private static readonly CommandMetadata Subcommand = new(["loading", "stale"], Slow, "", "7.0.0", "generic");

    public static string[] TipsFor(string fullName) => AllTips.GetValueOrDefault(fullName) ?? [];

    public static CommandMetadata For(string fullName)
    {
        if (All.TryGetValue(fullName, out var meta))
        {
            return meta;
        }

        var parent = fullName.Split('|')[0];
        return All.TryGetValue(parent, out var container)
            ? Subcommand with { Summary = $"{fullName.ToUpperInvariant().Replace('|', ' ')}", Group = container.Group }
            : Subcommand;
    }
}
