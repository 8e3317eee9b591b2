using System.Security.Cryptography;
using System.Text;
using Notistream.Gateway.Options;

namespace Notistream.Gateway.Tokens;

/// <summary>
/// The gateway's tokens: the global <see cref="GatewayOptions.Token"/> (every channel, publish and
/// subscribe) and the scoped <see cref="GatewayOptions.Tokens"/> (channels matching their patterns, with
/// their <see cref="ScopedTokenOptions.Access"/>: write, read or both). Only SHA-256 digests are kept. A
/// presented token is compared with every digest in constant time, with no early exit, so timing tells
/// neither which token matched nor how much of one did. Entries with the same token are merged: that
/// token may publish where any of its write entries allows, and subscribe where any of its read entries does.
/// </summary>
internal sealed class PublishTokenSet
{
    private readonly byte[][] _digests;
    private readonly PublishGrant[] _writeGrants;
    private readonly PublishGrant[] _readGrants;

    public PublishTokenSet(GatewayOptions options)
    {
        var grants = new Dictionary<string, (List<byte[]>? Write, List<byte[]>? Read)>(StringComparer.Ordinal);
        foreach (var scoped in options.Tokens)
        {
            if (string.IsNullOrEmpty(scoped.Token))
            {
                continue; // refused at start-up by the validator
            }

            var access = TokenAccessText.Parse(scoped.Access) ?? TokenAccess.None; // a bad value is refused at start-up too
            if (!grants.TryGetValue(scoped.Token, out var existing))
            {
                existing = ([], []);
                grants[scoped.Token] = existing;
            }

            if (access.HasFlag(TokenAccess.Write))
            {
                existing.Write?.AddRange(Encode(scoped.Channels));
            }

            if (access.HasFlag(TokenAccess.Read))
            {
                existing.Read?.AddRange(Encode(scoped.Channels));
            }
        }

        if (!string.IsNullOrEmpty(options.Token))
        {
            grants[options.Token] = (null, null);
        }

        _digests = [.. grants.Keys.Select(Digest)];
        _writeGrants = [.. grants.Values.Select(grant => Grant(grant.Write))];
        _readGrants = [.. grants.Values.Select(grant => Grant(grant.Read))];
    }

    /// <summary>False when no token is configured: anyone may publish and subscribe anywhere.</summary>
    public bool IsRequired => _digests.Length > 0;

    /// <summary>
    /// What <paramref name="token"/> may publish to, or null when it is no configured token. A token with
    /// read access only gets a grant that allows nothing.
    /// </summary>
    public PublishGrant? Find(string token) => IndexOf(token) is var i and >= 0 ? _writeGrants[i] : null;

    /// <summary>What <paramref name="token"/> may subscribe to, or null when it is no configured token.</summary>
    public PublishGrant? FindRead(string token) => IndexOf(token) is var i and >= 0 ? _readGrants[i] : null;

    private int IndexOf(string token)
    {
        var given = Digest(token);
        var found = -1;
        for (var i = 0; i < _digests.Length; i++)
        {
            // Every digest is compared; the select below is data, not an early exit.
            var equal = CryptographicOperations.FixedTimeEquals(given, _digests[i]);
            found = equal ? i : found;
        }

        return found;
    }

    private static PublishGrant Grant(List<byte[]>? patterns) => patterns is null ? PublishGrant.Everything : new PublishGrant([.. patterns]);

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static List<byte[]> Encode(IEnumerable<string> patterns) => [.. patterns.Select(Encoding.UTF8.GetBytes)];
}

/// <summary>
/// The channels a request may publish to (or, for a read grant, subscribe to): all of them, or those
/// matching one of the patterns. An empty pattern list allows nothing.
/// </summary>
internal sealed class PublishGrant
{
    public static readonly PublishGrant Everything = new(null);

    private readonly byte[][]? _patterns;

    public PublishGrant(byte[][]? patterns) => _patterns = patterns;

    public bool Allows(string channel)
    {
        if (_patterns is null)
        {
            return true;
        }

        var bytes = Encoding.UTF8.GetBytes(channel);
        foreach (var pattern in _patterns)
        {
            if (ChannelGlob.IsMatch(pattern, bytes))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether every channel <paramref name="pattern"/> can match is allowed, decided conservatively: the
    /// grant is everything, or one of its patterns is written exactly as <paramref name="pattern"/>, or one
    /// of its patterns is a literal prefix followed by a single <c>*</c> (<c>alerts:*</c>) and
    /// <paramref name="pattern"/>'s literal start (up to its first <c>*</c>, <c>?</c>, <c>[</c> or <c>\</c>)
    /// begins with that prefix. Anything else — two globs compared in general — is refused.
    /// </summary>
    public bool AllowsPattern(string pattern)
    {
        if (_patterns is null)
        {
            return true;
        }

        var bytes = Encoding.UTF8.GetBytes(pattern);
        var literal = bytes.AsSpan(0, LiteralLength(bytes));
        foreach (var own in _patterns)
        {
            if (own.AsSpan().SequenceEqual(bytes))
            {
                return true;
            }

            var ownLiteral = LiteralLength(own);
            if (ownLiteral == own.Length - 1 && own[^1] == (byte)'*' && literal.StartsWith(own.AsSpan(0, ownLiteral)))
            {
                return true;
            }
        }

        return false;
    }

    private static int LiteralLength(ReadOnlySpan<byte> pattern)
    {
        var end = pattern.IndexOfAny("*?[\\"u8);
        return end < 0 ? pattern.Length : end;
    }
}
