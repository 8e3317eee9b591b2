using System.Security.Cryptography;
using System.Text;

namespace Notistream.Gateway.GitHub;

/// <summary>
/// Checks <c>X-Hub-Signature-256</c>: <c>sha256=</c> + hex HMAC-SHA256 of the raw body, keyed with
/// the webhook secret. Computed over the exact bytes received, before anything parses them, and
/// compared in constant time. Unlike Octokit's validator, an empty secret is not "no check": this
/// type cannot be built without one.
/// </summary>
internal sealed class GitHubSignature
{
    public const string HeaderName = "X-Hub-Signature-256";
    private const string Prefix = "sha256=";

    private readonly byte[] _key;

    public GitHubSignature(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        _key = Encoding.UTF8.GetBytes(secret);
    }

    public bool IsValid(string? header, ReadOnlySpan<byte> body)
    {
        Span<byte> claimed = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!TryParse(header, claimed))
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, body, expected);
        return CryptographicOperations.FixedTimeEquals(expected, claimed);
    }

    /// <summary>The header value GitHub would send for <paramref name="body"/>.</summary>
    public string Sign(ReadOnlySpan<byte> body)
        => Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(_key, body));

    private static bool TryParse(string? header, Span<byte> digest)
    {
        if (header is null || !header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var hex = header.AsSpan(Prefix.Length).Trim();
        return hex.Length == digest.Length * 2
            && Convert.FromHexString(hex, digest, out _, out var written) == System.Buffers.OperationStatus.Done
            && written == digest.Length;
    }
}
