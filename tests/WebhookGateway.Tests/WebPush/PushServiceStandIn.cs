using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.WebPush;

/// <summary>A push request as the stand-in received it: the route's id, the headers that matter, the raw body.</summary>
internal sealed record ReceivedPush(string Id, string? Authorization, string? ContentEncoding, string? Urgency, string? Ttl, string? Topic, byte[] Body, int AnsweredStatus);

/// <summary>
/// A push service on 127.0.0.1 port 0, as a browser's would be: <c>POST /push/{id}</c> takes an
/// encrypted push and answers 201, or what a test scripted for that id (410, 429 with Retry-After).
/// Every request is recorded, answered or not, for the test to decrypt and check.
/// </summary>
internal sealed class PushServiceStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, string? RetryAfter)>> _scripts = new();
    private readonly Channel<ReceivedPush> _received = Channel.CreateUnbounded<ReceivedPush>();

    private PushServiceStandIn(WebApplication app) => _app = app;

    public Uri BaseAddress => new(_app.Urls.Single());

    public static async Task<PushServiceStandIn> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var standIn = new PushServiceStandIn(app);
        app.MapPost("/push/{id}", standIn.ReceiveAsync);
        await app.StartAsync().WithTimeout();
        return standIn;
    }

    /// <summary>The next requests for <paramref name="id"/> are answered with these, in order; then 201 again.</summary>
    public void Script(string id, params (int Status, string? RetryAfter)[] answers)
    {
        var queue = _scripts.GetOrAdd(id, _ => new ConcurrentQueue<(int, string?)>());
        foreach (var answer in answers)
        {
            queue.Enqueue(answer);
        }
    }

    /// <summary>The next request the stand-in received, within the default timeout.</summary>
    public Task<ReceivedPush> NextAsync() => _received.Reader.ReadAsync().AsTask().WithTimeout();

    /// <summary>A request within <paramref name="wait"/>, or null when none came.</summary>
    public async Task<ReceivedPush?> NextOrNullAsync(TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            return await _received.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private async Task ReceiveAsync(HttpContext context, string id)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var status = StatusCodes.Status201Created;
        string? retryAfter = null;
        if (_scripts.TryGetValue(id, out var script) && script.TryDequeue(out var answer))
        {
            (status, retryAfter) = answer;
        }

        var headers = context.Request.Headers;
        _received.Writer.TryWrite(new ReceivedPush(id, headers.Authorization.ToString(), headers.ContentEncoding.ToString(),
            headers["Urgency"].ToString(), headers["TTL"].ToString(), headers["Topic"].ToString(), body.ToArray(), status));
        context.Response.StatusCode = status;
        if (retryAfter is not null)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WithTimeout();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// The browser's side of a push subscription: a P-256 key pair and a 16-byte auth secret, made in
/// the test, and RFC 8291's decryption of what the push service received.
/// </summary>
internal sealed class BrowserSubscription : IDisposable
{
    private readonly ECDiffieHellman _key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public BrowserSubscription(string endpoint)
    {
        Endpoint = endpoint;
        Auth = RandomNumberGenerator.GetBytes(16);
        var q = _key.ExportParameters(false).Q;
        PublicKey = [0x04, .. q.X!, .. q.Y!];
    }

    public string Endpoint { get; }

    public byte[] PublicKey { get; }

    public byte[] Auth { get; }

    /// <summary>The body of <c>POST /v1/webpush</c>, as <c>PushSubscription.toJSON()</c> plus the channels.</summary>
    public string RegistrationJson(params string[] channels) => JsonSerializer.Serialize(new
    {
        endpoint = Endpoint,
        expirationTime = (object?)null,
        keys = new { p256dh = Base64Url.EncodeToString(PublicKey), auth = Base64Url.EncodeToString(Auth) },
        channels,
    });

    /// <summary>RFC 8291 section 3.4 and RFC 8188: the aes128gcm body decrypted with this browser's key and secret.</summary>
    public byte[] Decrypt(byte[] body)
    {
        var salt = body.AsSpan(0, 16).ToArray();
        var recordSize = (body[16] << 24) | (body[17] << 16) | (body[18] << 8) | body[19];
        var idLength = body[20];
        Assert.Equal(65, idLength);
        var serverPublic = body.AsSpan(21, 65).ToArray();
        var ciphertext = body.AsSpan(21 + idLength).ToArray();
        Assert.True(ciphertext.Length <= recordSize, "one record");

        using var server = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = serverPublic[1..33], Y = serverPublic[33..] },
        });
        var ecdhSecret = _key.DeriveRawSecretAgreement(server.PublicKey);
        byte[] keyInfo = [.. "WebPush: info\0"u8, .. PublicKey, .. serverPublic];
        var prkKey = HKDF.Extract(HashAlgorithmName.SHA256, ecdhSecret, Auth);
        var ikm = HKDF.Expand(HashAlgorithmName.SHA256, prkKey, 32, keyInfo);
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt);
        var cek = HKDF.Expand(HashAlgorithmName.SHA256, prk, 16, "Content-Encoding: aes128gcm\0"u8.ToArray());
        var nonce = HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, "Content-Encoding: nonce\0"u8.ToArray());

        var plaintext = new byte[ciphertext.Length - 16];
        using var aes = new AesGcm(cek, 16);
        aes.Decrypt(nonce, ciphertext.AsSpan(0, ciphertext.Length - 16), ciphertext.AsSpan(ciphertext.Length - 16), plaintext);

        // The last record: the text, then the delimiter 0x02, then zero padding.
        var end = plaintext.Length - 1;
        while (end >= 0 && plaintext[end] == 0)
        {
            end--;
        }

        Assert.True(end >= 0 && plaintext[end] == 2, "the last record's padding delimiter is 0x02");
        return plaintext[..end];
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>RFC 8292's <c>Authorization: vapid t=&lt;JWT&gt;, k=&lt;key&gt;</c>, checked as a push service checks it.</summary>
internal static class Vapid
{
    /// <summary>Checks the ES256 signature against <c>k</c>, <c>aud</c>, <c>exp</c> and <c>sub</c>; returns <c>k</c>.</summary>
    public static string Verify(string? authorization, Uri endpoint, string subject)
    {
        Assert.NotNull(authorization);
        Assert.StartsWith("vapid ", authorization, StringComparison.Ordinal);
        var parameters = authorization["vapid ".Length..].Split(',', StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair[1]);
        var token = parameters["t"];
        var k = parameters["k"];

        var parts = token.Split('.');
        Assert.Equal(3, parts.Length);
        var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement;
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        var publicKey = Base64Url.DecodeFromChars(k);
        Assert.Equal(65, publicKey.Length);
        using var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = publicKey[1..33], Y = publicKey[33..] },
        });
        var signed = Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}");
        Assert.True(ecdsa.VerifyData(signed, Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256), "the VAPID token's ES256 signature verifies against k");

        var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement;
        Assert.Equal(endpoint.GetLeftPart(UriPartial.Authority), claims.GetProperty("aud").GetString());
        Assert.Equal(subject, claims.GetProperty("sub").GetString());
        var expires = DateTimeOffset.FromUnixTimeSeconds(claims.GetProperty("exp").GetInt64());
        Assert.InRange(expires, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddHours(24));
        return k;
    }
}
