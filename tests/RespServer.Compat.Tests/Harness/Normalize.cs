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

    /// <summary>Integer replies (CLIENT ID): any value, same type.</summary>
    public static IReadOnlyList<RespFrame> AnyInteger(IReadOnlyList<RespFrame> frames)
        => [.. frames.Select(f => f.Type == (byte)':' ? RespFrame.Simple("<integer>") : f)];

    /// <summary>The value after key <paramref name="key"/> in a map or flat key/value array (HELLO's id, CONFIG GET port).</summary>
    public static Func<IReadOnlyList<RespFrame>, IReadOnlyList<RespFrame>> ValueOf(string key)
        => frames => [.. frames.Select(f => ReplaceValue(f, key))];

    /// <summary>Only the frame types, recursively to <paramref name="depth"/> (COMMAND INFO/DOCS, CLIENT INFO/LIST contents).</summary>
    public static Func<IReadOnlyList<RespFrame>, IReadOnlyList<RespFrame>> Shape(int depth)
        => frames => [.. frames.Select(f => ShapeOf(f, depth))];

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
