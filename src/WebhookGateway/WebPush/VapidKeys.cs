using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// The gateway's VAPID key pair (RFC 8292): a P-256 key whose public half a web app gives to
/// <c>pushManager.subscribe</c> as <c>applicationServerKey</c>, and whose private half signs the
/// token of every push. Made on the first start and kept in a file (mode 0600), since a new key
/// would orphan every browser's subscription. Immutable once loaded.
/// </summary>
internal sealed class VapidKeys
{
    private VapidKeys(string publicKey, string privateKey)
    {
        PublicKey = publicKey;
        PrivateKey = privateKey;
    }

    /// <summary>The uncompressed point (65 bytes, 0x04 X Y), base64url without padding.</summary>
    public string PublicKey { get; }

    /// <summary>The private scalar (32 bytes), base64url without padding. Never logged.</summary>
    public string PrivateKey { get; }

    /// <summary>Reads <paramref name="path"/>, or makes a new pair and writes it there when there is no such file.</summary>
    /// <exception cref="InvalidOperationException">the file exists but does not hold a valid key pair; the message says what to do</exception>
    public static VapidKeys LoadOrCreate(string path, out bool created)
    {
        if (File.Exists(path))
        {
            created = false;
            return Load(path);
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(includePrivateParameters: true);
        var keys = new VapidKeys(Base64Url.EncodeToString(PublicPoint(parameters)), Base64Url.EncodeToString(parameters.D!));
        var file = new KeyFile { PublicKey = keys.PublicKey, PrivateKey = keys.PrivateKey };
        WebPushFiles.WriteAtomically(path, JsonSerializer.Serialize(file, _json));
        created = true;
        return keys;
    }

    private static VapidKeys Load(string path)
    {
        KeyFile? file;
        try
        {
            file = JsonSerializer.Deserialize<KeyFile>(File.ReadAllBytes(path), _json);
        }
        catch (JsonException ex)
        {
            throw Corrupt(path, $"it is not the JSON the gateway writes ({ex.Message})");
        }

        if (file?.PublicKey is not { } publicText || file.PrivateKey is not { } privateText)
        {
            throw Corrupt(path, "publicKey or privateKey is missing");
        }

        byte[] publicKey, privateKey;
        try
        {
            publicKey = Base64Url.DecodeFromChars(publicText);
            privateKey = Base64Url.DecodeFromChars(privateText);
        }
        catch (FormatException)
        {
            throw Corrupt(path, "a key is not base64url");
        }

        if (publicKey.Length != 65 || publicKey[0] != 0x04 || privateKey.Length != 32)
        {
            throw Corrupt(path, "the keys are not a P-256 pair (a 65-byte uncompressed public point and a 32-byte private key)");
        }

        try
        {
            // The public point must be the private key's own: derive it and compare.
            using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = privateKey });
            if (!PublicPoint(key.ExportParameters(includePrivateParameters: false)).AsSpan().SequenceEqual(publicKey))
            {
                throw Corrupt(path, "the public key does not belong to the private key");
            }
        }
        catch (CryptographicException ex)
        {
            throw Corrupt(path, $"the private key is not a P-256 key ({ex.Message})");
        }

        return new VapidKeys(publicText, privateText);
    }

    private static byte[] PublicPoint(ECParameters parameters) => [0x04, .. parameters.Q.X!, .. parameters.Q.Y!];

    private static InvalidOperationException Corrupt(string path, string why) => new(
        $"The Web Push key file '{path}' (WebPush:KeyFile) is unusable: {why}. Restore it from a backup; or delete it to make "
        + "new keys, after which every browser and phone has to subscribe again.");

    private static readonly JsonSerializerOptions _json = new() { WriteIndented = true };

    private sealed class KeyFile
    {
        [JsonPropertyName("publicKey")]
        public string? PublicKey { get; set; }

        [JsonPropertyName("privateKey")]
        public string? PrivateKey { get; set; }
    }
}
