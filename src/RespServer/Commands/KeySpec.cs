using System.Text;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

/// <summary>Redis 7.0's key-spec flags (CMD_KEY_*), in the order COMMAND INFO lists them.</summary>
[Flags]
internal enum KeySpecFlags
{
    None = 0,
    RO = 1 << 0,
    RW = 1 << 1,
    OW = 1 << 2,
    RM = 1 << 3,
    Access = 1 << 4,
    Update = 1 << 5,
    Insert = 1 << 6,
    Delete = 1 << 7,
    NotKey = 1 << 8,
    Incomplete = 1 << 9,
    VariableFlags = 1 << 10,
}

/// <summary>One run of key arguments found by a <see cref="KeySpec"/>: positions First, First+Step, .. up to Last.</summary>
internal readonly record struct KeyRange(int First, int Last, int Step, KeySpecFlags Flags);

/// <summary>
/// One key_spec of a command in Redis 7.0's commands/*.json: where the search for keys begins (an index,
/// or just after a keyword searched from <see cref="StartFrom"/>), then a range of keys from there
/// (<see cref="LastKey"/> relative to the start, negative from the end; a <see cref="Limit"/> of n keeps
/// the first 1/n of the remaining arguments). Redis's "keynum" find_keys is not modelled: no command
/// here declares it.
/// </summary>
internal sealed record KeySpec(KeySpecFlags Flags, int Index, string? Keyword, int StartFrom, int LastKey, int KeyStep, int Limit, string? Notes)
{
    /// <summary>Keys from a fixed index: <paramref name="lastKey"/> 0 for one key, -1 for all the rest.</summary>
    public static KeySpec At(int index, KeySpecFlags flags, int lastKey = 0, string? notes = null)
        => new(flags, index, null, 0, lastKey, 1, 0, notes);

    /// <summary>Keys after the first <paramref name="keyword"/> found from argument <paramref name="startFrom"/>.</summary>
    public static KeySpec AfterKeyword(string keyword, int startFrom, KeySpecFlags flags, int lastKey, int limit)
        => new(flags, 0, keyword, startFrom, lastKey, 1, limit, null);

    /// <summary>
    /// The key ranges of a command's arguments at <paramref name="offset"/>.. of the request, as
    /// getKeysUsingKeySpecs finds them: a keyword not found contributes nothing; a range out of the
    /// arguments makes the whole result empty (Redis then asks the command's getkeys function, which for
    /// the commands here finds no key either). Returns how many ranges were written to <paramref name="ranges"/>,
    /// which holds at least one per spec.
    /// </summary>
    public static int Locate(KeySpec[] specs, in RespRequest request, int offset, Span<KeyRange> ranges)
    {
        var argc = request.Count - offset;
        var count = 0;
        foreach (var spec in specs)
        {
            if ((spec.Flags & KeySpecFlags.NotKey) != 0)
            {
                continue;
            }

            var first = spec.Keyword is null ? spec.Index : spec.FindKeyword(request, offset, argc);
            if (first == 0)
            {
                continue;
            }

            int last;
            if (spec.LastKey >= 0)
            {
                last = first + spec.LastKey;
            }
            else if (spec.Limit == 0)
            {
                last = argc + spec.LastKey;
            }
            else
            {
                last = first + ((argc - first) / spec.Limit) + spec.LastKey;
            }

            if (last >= argc || last < first || first >= argc)
            {
                return 0;
            }

            ranges[count++] = new KeyRange(first, last, spec.KeyStep, spec.Flags);
        }

        return count;
    }

    /// <summary>
    /// COMMAND INFO's first key, last key and step (populateCommandLegacyRangeSpec): a single index spec as
    /// it is; otherwise the index specs with a step of 1 that follow one another, merged, or 0 0 0.
    /// </summary>
    public static (int First, int Last, int Step) LegacyRange(KeySpec[] specs)
    {
        if (specs is [{ Keyword: null } only])
        {
            return (only.Index, only.LastKey >= 0 ? only.Index + only.LastKey : only.LastKey, only.KeyStep);
        }

        int firstKey = int.MaxValue, lastKey = 0;
        foreach (var spec in specs)
        {
            if (spec.Keyword is not null)
            {
                continue;
            }

            // Redis never updates its "previous last key" in this loop, so only the step can give up here.
            if (spec.KeyStep != 1)
            {
                return (0, 0, 0);
            }

            firstKey = Math.Min(firstKey, spec.Index);
            var absoluteLast = spec.LastKey >= 0 ? spec.LastKey + spec.Index : spec.LastKey;

            // Compared unsigned, so that a negative "up to the end" wins over any index.
            lastKey = (int)Math.Max((uint)lastKey, (uint)absoluteLast);
        }

        return firstKey == int.MaxValue ? (0, 0, 0) : (firstKey, lastKey, 1);
    }

    /// <summary>
    /// Redis's movablekeys flag (populateCommandMovableKeys): a spec that does not begin at a fixed index
    /// (Redis also sets it for a command with a getkeys function, which among the commands here is XREAD,
    /// already movable by its keyword spec).
    /// </summary>
    public static bool Movable(KeySpec[] specs) => specs.Any(s => s.Keyword is not null);

    /// <summary>The index just after the keyword (0 when absent), searched as getKeysUsingKeySpecs does: never the last argument.</summary>
    private int FindKeyword(in RespRequest request, int offset, int argc)
    {
        var start = StartFrom > 0 ? StartFrom : argc + StartFrom;
        var end = StartFrom > 0 ? argc - 1 : 0;
        var keyword = Encoding.ASCII.GetBytes(Keyword!);
        for (var i = start; i != end; i = start <= end ? i + 1 : i - 1)
        {
            if (i >= argc || i < 1)
            {
                break;
            }

            // strcasecmp: the argument up to its first NUL.
            var arg = request[offset + i];
            var nul = arg.IndexOf((byte)0);
            if (RespRequest.EqualsIgnoreCase(nul >= 0 ? arg[..nul] : arg, keyword))
            {
                return i + 1;
            }
        }

        return 0;
    }
}
