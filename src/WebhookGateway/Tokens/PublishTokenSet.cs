using System.Security.Cryptography;
using System.Text;
using Notistream.Gateway.Options;

namespace Notistream.Gateway.Tokens;

/// <summary>
/// The publish tokens: the global <see cref="GatewayOptions.Token"/> (every channel) and the
/// scoped <see cref="GatewayOptions.Tokens"/> (channels matching their patterns). Only SHA-256
/// digests are kept. A presented token is compared with every digest in constant time, with no
/// early exit, so timing tells neither which token matched nor how much of one did. Entries
/// with the same token are merged: that token may publish where any of them allows.
/// </summary>
internal sealed class PublishTokenSet
{
    private readonly byte[][] _digests;
    private readonly PublishGrant[] _grants;

    public PublishTokenSet(GatewayOptions options)
    {
        var grants = new Dictionary<string, List<byte[]>?>(StringComparer.Ordinal);
        foreach (var scoped in options.Tokens)
        {
            if (string.IsNullOrEmpty(scoped.Token))
            {
                continue; // refused at start-up by the validator
            }

            var patterns = Encode(scoped.Channels);
            if (!grants.TryGetValue(scoped.Token, out var existing))
            {
                grants[scoped.Token] = patterns;
            }
            else
            {
                existing?.AddRange(patterns);
            }
        }

        if (!string.IsNullOrEmpty(options.Token))
        {
            grants[options.Token] = null;
        }

        _digests = [.. grants.Keys.Select(Digest)];
        _grants = [.. grants.Values.Select(patterns => patterns is null ? PublishGrant.Everything : new PublishGrant([.. patterns]))];
    }

    /// <summary>False when no token is configured: anyone may publish anywhere.</summary>
    public bool IsRequired => _digests.Length > 0;

    /// <summary>What <paramref name="token"/> may publish to, or null when it is no configured token.</summary>
    public PublishGrant? Find(string token)
    {
        var given = Digest(token);
        var found = -1;
        for (var i = 0; i < _digests.Length; i++)
        {
            // Every digest is compared; the select below is data, not an early exit.
            var equal = CryptographicOperations.FixedTimeEquals(given, _digests[i]);
            found = equal ? i : found;
        }

        return found < 0 ? null : _grants[found];
    }

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static List<byte[]> Encode(IEnumerable<string> patterns) => [.. patterns.Select(Encoding.UTF8.GetBytes)];
}

/// <summary>The channels a request may publish to: all of them, or those matching one of the patterns.</summary>
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
}
