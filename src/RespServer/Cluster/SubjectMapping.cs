using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Cluster;

/// <summary>
/// Channel names to NATS subjects and back, exactly, for any bytes (docs/cluster.md#subjects).
/// <para>
/// A channel is <c>prefix.c.</c> followed by its '.'-separated segments, each escaped into a NATS token:
/// the bytes of <see cref="IsSafe"/> stay, every other byte (always '~', '*', '>', whitespace, control
/// and non-ASCII bytes) becomes <c>~XX</c> (two uppercase hex digits), and an empty segment is a lone
/// <c>~</c>. A subject longer than <see cref="MaxExactSubject"/> goes to <c>prefix.h.</c> plus the
/// base64url SHA-256 of the channel instead, and the channel then travels in the payload
/// (<see cref="WritePayload"/>: 4-byte big-endian length, the channel, the message).
/// </para>
/// <para>
/// A pattern is covered by <c>prefix.c.</c>, the complete segments of its literal prefix (the bytes
/// before its first glob metacharacter), then <c>&gt;</c>; the channel trie and the glob matcher do the
/// exact match on the receiving node. Long channels are covered by <c>prefix.h.&gt;</c>.
/// </para>
/// <para>
/// Shard channels (SSUBSCRIBE, SPUBLISH) have a namespace of their own, written the same way under
/// <c>prefix.sc.</c> (long ones <c>prefix.sh.</c>): no channel subject or pattern wildcard covers them, so a
/// shard channel and a channel of the same name never meet.
/// </para>
/// </summary>
internal sealed class SubjectMapping
{
    /// <summary>Encoded subjects longer than this go to the hashed form: NATS's control line is 4 KiB.</summary>
    public const int MaxExactSubject = 1024;

    private const string Hex = "0123456789ABCDEF";

    public SubjectMapping(string prefix)
    {
        if (ValidatePrefix(prefix) is { } reason)
        {
            throw new ArgumentException(reason, nameof(prefix));
        }

        Prefix = prefix;
        ChannelRoot = prefix + ".c.";
        HashedRoot = prefix + ".h.";
        HashedWildcard = prefix + ".h.>";
        ShardRoot = prefix + ".sc.";
        ShardHashedRoot = prefix + ".sh.";
    }

    public string Prefix { get; }

    /// <summary><c>prefix.c.</c>: where every channel of ordinary length lives.</summary>
    public string ChannelRoot { get; }

    /// <summary><c>prefix.h.</c>: channels whose subject would be too long.</summary>
    public string HashedRoot { get; }

    /// <summary><c>prefix.h.&gt;</c>: a node with any pattern subscribes it too.</summary>
    public string HashedWildcard { get; }

    /// <summary><c>prefix.sc.</c>: where every shard channel of ordinary length lives.</summary>
    public string ShardRoot { get; }

    /// <summary><c>prefix.sh.</c>: shard channels whose subject would be too long.</summary>
    public string ShardHashedRoot { get; }

    /// <summary>Why a subject prefix is refused (nats-subject-prefix), or null: one or more tokens of safe bytes.</summary>
    public static string? ValidatePrefix(string prefix)
    {
        if (prefix.Length == 0)
        {
            return "the subject prefix can't be empty";
        }

        foreach (var token in prefix.Split('.'))
        {
            if (token.Length == 0)
            {
                return "the subject prefix can't have an empty token";
            }

            foreach (var c in token)
            {
                if (c > 127 || !IsSafe((byte)c))
                {
                    return $"the subject prefix can only hold letters, digits and -_:/@+=, between dots ('{c}' is not)";
                }
            }
        }

        return null;
    }

    /// <summary>Bytes kept as they are in a token; every other byte is escaped.</summary>
    public static bool IsSafe(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'-' or (byte)'_' or (byte)':' or (byte)'/' or (byte)'@' or (byte)'+' or (byte)'=' or (byte)',';

    /// <summary>
    /// The subject a channel (<paramref name="shard"/>: a shard channel) is published on, and whether it is
    /// the hashed form (the channel then goes in the payload).
    /// </summary>
    public string SubjectFor(ReadOnlySpan<byte> channel, out bool hashed, bool shard = false)
    {
        var root = shard ? ShardRoot : ChannelRoot;
        var text = new StringBuilder(root.Length + channel.Length + 8);
        text.Append(root);
        AppendSegments(text, channel);
        if (text.Length <= MaxExactSubject)
        {
            hashed = false;
            return text.ToString();
        }

        hashed = true;
        return (shard ? ShardHashedRoot : HashedRoot) + Base64Url(SHA256.HashData(channel));
    }

    /// <summary>
    /// The channel of a subject under <see cref="ChannelRoot"/>, or null when the subject is not one this
    /// mapping writes (another prefix, a hashed subject, a malformed escape).
    /// </summary>
    public byte[]? ChannelOf(string subject)
    {
        if (!subject.StartsWith(ChannelRoot, StringComparison.Ordinal) || subject.Length == ChannelRoot.Length)
        {
            return null;
        }

        var output = new List<byte>(subject.Length - ChannelRoot.Length);
        var first = true;
        foreach (var token in subject.AsSpan(ChannelRoot.Length).Split('.'))
        {
            var segment = subject.AsSpan(ChannelRoot.Length)[token];
            if (!first)
            {
                output.Add((byte)'.');
            }

            first = false;
            if (segment is "~")
            {
                continue;
            }

            if (segment.Length == 0)
            {
                return null;
            }

            for (var i = 0; i < segment.Length; i++)
            {
                var c = segment[i];
                if (c == '~')
                {
                    if (i + 2 >= segment.Length)
                    {
                        return null;
                    }

                    var high = Hex.IndexOf(segment[i + 1]);
                    var low = Hex.IndexOf(segment[i + 2]);
                    if (high < 0 || low < 0)
                    {
                        return null;
                    }

                    output.Add((byte)((high << 4) | low));
                    i += 2;
                }
                else if (c <= 127 && IsSafe((byte)c))
                {
                    output.Add((byte)c);
                }
                else
                {
                    return null;
                }
            }
        }

        return [.. output];
    }

    /// <summary>
    /// How many bytes of <paramref name="pattern"/> its NATS wildcard is made of: its literal prefix up to
    /// and including the last '.' (its complete segments), shortened by whole segments if their subject
    /// would be too long. Patterns with the same scope bytes share one wildcard.
    /// </summary>
    public static int PatternScopeLength(ReadOnlySpan<byte> pattern)
    {
        var literal = PatternSubscription.LiteralPrefixLength(pattern);
        var end = pattern[..literal].LastIndexOf((byte)'.') + 1;
        while (end > 0 && EncodedLength(pattern[..end]) > MaxExactSubject / 2)
        {
            end = pattern[..(end - 1)].LastIndexOf((byte)'.') + 1;
        }

        return end;
    }

    /// <summary>The NATS wildcard of a pattern scope (<see cref="PatternScopeLength"/> bytes, ending in '.' or empty).</summary>
    public string WildcardFor(ReadOnlySpan<byte> scope)
    {
        if (scope.IsEmpty)
        {
            return ChannelRoot + ">";
        }

        var text = new StringBuilder(ChannelRoot);
        AppendSegments(text, scope[..^1]);
        return text.Append(".>").ToString();
    }

    /// <summary>The scope bytes a wildcard subject stands for (the inverse of <see cref="WildcardFor"/>), or null.</summary>
    public byte[]? ScopeOf(string wildcard)
    {
        if (wildcard == ChannelRoot + ">")
        {
            return [];
        }

        if (!wildcard.EndsWith(".>", StringComparison.Ordinal))
        {
            return null;
        }

        return ChannelOf(wildcard[..^2]) is { } segments ? [.. segments, (byte)'.'] : null;
    }

    /// <summary>Whether a pattern belongs to the wildcard of <paramref name="scope"/> (partitions remote deliveries).</summary>
    public static bool InScope(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> scope)
        => pattern.StartsWith(scope) && PatternScopeLength(pattern) == scope.Length;

    /// <summary>The payload of a message: the message itself, or for a hashed subject the channel's length, the channel and the message.</summary>
    public static byte[] WritePayload(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, bool hashed)
    {
        if (!hashed)
        {
            return message.ToArray();
        }

        var payload = new byte[4 + channel.Length + message.Length];
        BinaryPrimitives.WriteInt32BigEndian(payload, channel.Length);
        channel.CopyTo(payload.AsSpan(4));
        message.CopyTo(payload.AsSpan(4 + channel.Length));
        return payload;
    }

    /// <summary>The bytes a message takes in NATS beyond the message itself: the forwarding header, and for a hashed subject the channel.</summary>
    public static int Framing(int channelLength, bool hashed) => ForwardHeader.Length + (hashed ? 4 + channelLength : 0);

    /// <summary>Reads a hashed subject's payload; false when it is malformed.</summary>
    public static bool TryReadPayload(ReadOnlyMemory<byte> payload, out ReadOnlyMemory<byte> channel, out ReadOnlyMemory<byte> message)
    {
        channel = message = default;
        if (payload.Length < 4)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(payload.Span);
        if (length < 0 || length > payload.Length - 4)
        {
            return false;
        }

        channel = payload.Slice(4, length);
        message = payload[(4 + length)..];
        return true;
    }

    /// <summary>Whether a subject is a hashed one, of a channel or a shard channel (its channel is in the payload).</summary>
    public bool IsHashed(string subject)
        => subject.StartsWith(HashedRoot, StringComparison.Ordinal) || subject.StartsWith(ShardHashedRoot, StringComparison.Ordinal);

    private static void AppendSegments(StringBuilder text, ReadOnlySpan<byte> channel)
    {
        var start = 0;
        while (true)
        {
            var dot = channel[start..].IndexOf((byte)'.');
            var segment = dot < 0 ? channel[start..] : channel.Slice(start, dot);
            if (segment.IsEmpty)
            {
                text.Append('~');
            }
            else
            {
                foreach (var b in segment)
                {
                    if (IsSafe(b))
                    {
                        text.Append((char)b);
                    }
                    else
                    {
                        text.Append('~').Append(Hex[b >> 4]).Append(Hex[b & 0xF]);
                    }
                }
            }

            if (dot < 0)
            {
                return;
            }

            text.Append('.');
            start += dot + 1;
        }
    }

    private static int EncodedLength(ReadOnlySpan<byte> bytes)
    {
        var length = 0;
        foreach (var b in bytes)
        {
            length += IsSafe(b) || b == (byte)'.' ? 1 : 3;
        }

        return length;
    }

    private static string Base64Url(byte[] hash)
        => Convert.ToBase64String(hash).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
