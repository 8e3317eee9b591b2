using static Notistream.RespServer.Commands.KeySpecFlags;

namespace Notistream.RespServer.Commands;

/// <summary>
/// The key_specs of Redis 7.0's commands/*.json, by full command name: what ACL key patterns are checked
/// against (ACLSelectorCheckKey: "access" needs %R, "insert", "update" and "delete" need %W; a key with none
/// of these, such as EXISTS's, needs only a pattern that matches) and what COMMAND INFO reports. A command
/// missing here takes no keys (KEYS and SCAN take a pattern, not a key, and are not key-checked in Redis).
/// </summary>
internal static class KeySpecs
{
    private static readonly Dictionary<string, KeySpec[]> All = new(StringComparer.OrdinalIgnoreCase)
    {
        ["get"] = [KeySpec.At(1, RO | Access)],
        ["del"] = [KeySpec.At(1, RM | Delete, lastKey: -1)],
        ["unlink"] = [KeySpec.At(1, RM | Delete, lastKey: -1)],
        ["exists"] = [KeySpec.At(1, RO, lastKey: -1)],
        ["type"] = [KeySpec.At(1, RO)],
        ["xadd"] = [KeySpec.At(1, RW | Update, notes: "UPDATE instead of INSERT because of the optional trimming feature")],
        ["xrange"] = [KeySpec.At(1, RO | Access)],
        ["xrevrange"] = [KeySpec.At(1, RO | Access)],
        ["xlen"] = [KeySpec.At(1, RO)],
        ["xdel"] = [KeySpec.At(1, RW | Delete)],
        ["xtrim"] = [KeySpec.At(1, RW | Delete)],
        ["xsetid"] = [KeySpec.At(1, RW | Update)],
        ["xinfo|stream"] = [KeySpec.At(2, RO | Access)],
        ["xinfo|groups"] = [KeySpec.At(2, RO | Access)],
        ["xinfo|consumers"] = [KeySpec.At(2, RO | Access)],

        // Shard channels are declared as keys (for cluster slots) that are not keys: never key-checked.
        ["spublish"] = [KeySpec.At(1, NotKey)],
        ["ssubscribe"] = [KeySpec.At(1, NotKey, lastKey: -1)],
        ["sunsubscribe"] = [KeySpec.At(1, NotKey, lastKey: -1)],

        // STREAMS k1 k2 id1 id2: the first half of what follows the keyword.
        ["xread"] = [KeySpec.AfterKeyword("STREAMS", startFrom: 1, RO | Access, lastKey: -1, limit: 2)],
    };

    /// <summary>The command's key specs, none for a command without keys.</summary>
    public static KeySpec[] For(string fullName) => All.GetValueOrDefault(fullName) ?? [];
}
