using System.Text;
using Notistream.RespServer.Compat.Tests.Harness;

namespace Notistream.RespServer.Compat.Tests.Acl;

/// <summary>
/// Redis 7.0 writes the single-command part of an ACL description ("+publish +config|get") in the
/// order of its command dictionary, which is a hash order seeded at random per process. Those
/// tokens are compared as a set; "+@all"/"-@all" and the categories after it keep their order.
/// </summary>
internal static class AclNormalize
{
    public static IReadOnlyList<RespFrame> CommandRules(IReadOnlyList<RespFrame> frames) => [.. frames.Select(Rewrite)];

    /// <summary>ACL LOG: the values of age-seconds and client-info (times, ids, addresses) at any depth.</summary>
    public static IReadOnlyList<RespFrame> LogEntries(IReadOnlyList<RespFrame> frames) => [.. frames.Select(HideLogValues)];

    private static RespFrame HideLogValues(RespFrame frame)
    {
        if (!frame.IsAggregate)
        {
            return frame;
        }

        var children = frame.Children.Select(HideLogValues).ToList();
        for (var i = 0; i + 1 < children.Count; i += 2)
        {
            if (children[i].Payload is { } key && Encoding.Latin1.GetString(key) is "age-seconds" or "client-info")
            {
                children[i + 1] = RespFrame.Simple($"<{Encoding.Latin1.GetString(key)}>");
            }
        }

        return RespFrame.Aggregate(frame.Type, children);
    }

    private static RespFrame Rewrite(RespFrame frame)
    {
        if (frame.IsAggregate)
        {
            return RespFrame.Aggregate(frame.Type, [.. frame.Children.Select(Rewrite)]);
        }

        if (frame.Type != (byte)'$' || frame.Payload is null)
        {
            return frame;
        }

        var text = Encoding.Latin1.GetString(frame.Payload);
        var tokens = text.Split(' ');
        var start = Array.FindIndex(tokens, t => t is "+@all" or "-@all");
        if (start < 0)
        {
            return frame;
        }

        var fixedEnd = start + 1;
        while (fixedEnd < tokens.Length && (tokens[fixedEnd].StartsWith("+@", StringComparison.Ordinal) || tokens[fixedEnd].StartsWith("-@", StringComparison.Ordinal)))
        {
            fixedEnd++;
        }

        var singles = tokens[fixedEnd..].OrderBy(t => t[1..], StringComparer.Ordinal).ThenBy(t => t, StringComparer.Ordinal);
        var rewritten = string.Join(' ', tokens[..fixedEnd].Concat(singles));
        var payload = Encoding.Latin1.GetBytes(rewritten);
        var raw = Encoding.Latin1.GetBytes($"${payload.Length}\r\n{rewritten}\r\n");
        return new RespFrame((byte)'$', raw, payload, []);
    }
}
