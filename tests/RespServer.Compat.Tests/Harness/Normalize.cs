using System.Text;

namespace Notistream.RespServer.Compat.Tests.Harness;

/// <summary>
/// The explicit normalisations: each one names a value that legitimately differs between two
/// servers (an id, a port, a hash order). Everything else is compared byte for byte.
/// </summary>
internal static class Normalize
{
    /// <summary>Frames whose order is a hash order (several patterns matching one message): compare them as a set.</summary>
    public static IReadOnlyList<RespFrame> FramesAsSet(IReadOnlyList<RespFrame> frames)
        => [.. frames.OrderBy(f => f.Raw, ByteOrder.Instance)];

    /// <summary>Elements of each aggregate as a set (PUBSUB CHANNELS).</summary>
    public static IReadOnlyList<RespFrame> ElementsAsSet(IReadOnlyList<RespFrame> frames)
        => [.. frames.Select(f => f.IsAggregate ? RespFrame.Aggregate(f.Type, [.. f.Children.OrderBy(c => c.Raw, ByteOrder.Instance)]) : f)];

    /// <summary>
    /// (P|S)UNSUBSCRIBE without arguments: Redis walks its dict, so the names come in hash order while the
    /// counts still go down one by one. Keep verbs and counts in order; compare the names as a set.
    /// </summary>
    public static IReadOnlyList<RespFrame> NamesAsSet(IReadOnlyList<RespFrame> frames)
    {
        var names = new List<RespFrame>();
        var result = new List<RespFrame>();
        foreach (var frame in frames)
        {
            if (frame.IsAggregate && frame.Children.Count == 3)
            {
                names.Add(frame.Children[1]);
                result.Add(RespFrame.Aggregate(frame.Type, [frame.Children[0], RespFrame.Simple("<name>"), frame.Children[2]]));
            }
            else
            {
                result.Add(frame);
            }
        }

        result.Add(RespFrame.Aggregate((byte)'~', [.. names.OrderBy(n => n.Raw, ByteOrder.Instance)]));
        return result;
    }

    /// <summary>
    /// COMMAND INFO: a container's subcommands (the tenth field of its entry) sorted by name. Redis lists them
    /// in the order of the container's subcommand dict, a hash order seeded at random per process.
    /// </summary>
    public static IReadOnlyList<RespFrame> SubcommandsAsSet(IReadOnlyList<RespFrame> frames)
        => [.. frames.Select(f => f.IsAggregate ? RespFrame.Aggregate(f.Type, [.. f.Children.Select(SortSubcommands)]) : f)];

    /// <summary>Integer replies (CLIENT ID): any value, same type.</summary>
    public static IReadOnlyList<RespFrame> AnyInteger(IReadOnlyList<RespFrame> frames)
        => [.. frames.Select(f => f.Type == (byte)':' ? RespFrame.Simple("<integer>") : f)];

    /// <summary>The value after key <paramref name="key"/> in a map or flat key/value array (HELLO's id, CONFIG GET port).</summary>
    public static Func<IReadOnlyList<RespFrame>, IReadOnlyList<RespFrame>> ValueOf(string key)
        => frames => [.. frames.Select(f => ReplaceValue(f, key))];

    /// <summary>Only the frame types, recursively to <paramref name="depth"/> (COMMAND INFO/DOCS, CLIENT INFO/LIST contents).</summary>
    public static Func<IReadOnlyList<RespFrame>, IReadOnlyList<RespFrame>> Shape(int depth)
        => frames => [.. frames.Select(f => ShapeOf(f, depth))];

    /// <summary>Ids XADD generated from the clock ("1712345678901-0"): any such id, same place.</summary>
    public static IReadOnlyList<RespFrame> TimeIds(IReadOnlyList<RespFrame> frames) => [.. frames.Select(TimeIdsOf)];

    /// <summary>SCAN's reply: the keys as a set (each server walks its own hash order; the cursor is kept).</summary>
    public static IReadOnlyList<RespFrame> ScanKeysAsSet(IReadOnlyList<RespFrame> frames)
        => [.. frames.Select(f => f.IsAggregate && f.Children.Count == 2
            ? RespFrame.Aggregate(f.Type, [f.Children[0], .. ElementsAsSet([f.Children[1]])])
            : f)];

    /// <summary>One line of an INFO reply, "name:value", in place of the whole text.</summary>
    public static Func<IReadOnlyList<RespFrame>, IReadOnlyList<RespFrame>> InfoLine(string name)
        => frames => [.. frames.Select(f => RespFrame.Simple(
            f.Text.Split("\r\n").FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal)) ?? $"<no {name}>"))];

    /// <summary>CLIENT LIST reduced to each client's flags and last command, sorted: what differs is ids, addresses, ages, memory.</summary>
    public static IReadOnlyList<RespFrame> ClientFlags(IReadOnlyList<RespFrame> frames)
        => [.. frames.Select(f => RespFrame.Simple(string.Join(" | ", f.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => string.Join(' ', line.Split(' ').Where(p => p.StartsWith("flags=", StringComparison.Ordinal) || p.StartsWith("cmd=", StringComparison.Ordinal))))
            .Order(StringComparer.Ordinal))))];

    private static RespFrame SortSubcommands(RespFrame entry)
    {
        if (!entry.IsAggregate || entry.Children.Count != 10 || !entry.Children[9].IsAggregate)
        {
            return entry;
        }

        var subs = entry.Children[9];
        var sorted = RespFrame.Aggregate(subs.Type, [.. subs.Children.OrderBy(c => c.IsAggregate && c.Children.Count > 0 ? c.Children[0].Raw : c.Raw, ByteOrder.Instance)]);
        return RespFrame.Aggregate(entry.Type, [.. entry.Children.Take(9), sorted]);
    }

    private static RespFrame TimeIdsOf(RespFrame frame)
    {
        if (frame.IsAggregate)
        {
            return RespFrame.Aggregate(frame.Type, [.. frame.Children.Select(TimeIdsOf)]);
        }

        var text = frame.Text;
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return frame.Type == (byte)'$' && dash >= 13 && text[..dash].All(char.IsAsciiDigit) && text[(dash + 1)..].All(char.IsAsciiDigit)
            && text.Length > dash + 1
            ? RespFrame.Simple("<time-id>")
            : frame;
    }

    private static RespFrame ShapeOf(RespFrame frame, int depth)
    {
        if (!frame.IsAggregate)
        {
            return RespFrame.Simple(((char)frame.Type).ToString());
        }

        if (depth == 0)
        {
            return RespFrame.Simple($"{(char)frame.Type}(aggregate)");
        }

        return RespFrame.Aggregate(frame.Type, [.. frame.Children.Select(c => ShapeOf(c, depth - 1))]);
    }

    private static RespFrame ReplaceValue(RespFrame frame, string key)
    {
        if (!frame.IsAggregate)
        {
            return frame;
        }

        var children = frame.Children.ToList();
        for (var i = 0; i + 1 < children.Count; i += 2)
        {
            if (children[i].Payload is { } name && Encoding.Latin1.GetString(name) == key)
            {
                children[i + 1] = RespFrame.Simple($"<{key}>");
            }
        }

        return RespFrame.Aggregate(frame.Type, children);
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
