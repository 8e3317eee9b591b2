using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Endpoints;
using Notistream.Gateway.Options;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.WebPush;

/// <summary>The answer to a registration: 201 when new, 200 when it replaced the endpoint's earlier one.</summary>
internal sealed record WebPushRegisteredResponse(string Endpoint, IReadOnlyList<string> Channels);

/// <summary>
/// <c>GET /v1/webpush/key</c> (the VAPID public key for <c>pushManager.subscribe</c>), <c>POST /v1/webpush</c>
/// (register a browser's subscription for channels) and <c>DELETE /v1/webpush</c> (unregister). The
/// paths are ntfy's, so a web app written for one finds the same routes here.
/// </summary>
internal static class WebPushEndpoints
{
    /// <summary>A registration is a URL, two keys and a few channel names: 16 KiB is plenty.</summary>
    private const int MaxBodyBytes = 16 * 1024;

    /// <summary>Push service URLs are well under this (FCM's are about 200 characters).</summary>
    private const int MaxEndpointLength = 2048;

    public static IServiceCollection AddWebPush(this IServiceCollection services)
    {
        services.AddSingleton<WebPushAccess>();
        services.AddSingleton<WebPushService>();
        services.AddHostedService(provider => provider.GetRequiredService<WebPushService>());
        return services;
    }

    public static void MapWebPush(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/webpush/key", (WebPushService service) => service.Keys is { } keys
            ? Results.Json(new Dictionary<string, string> { ["publicKey"] = keys.PublicKey })
            : Off());
        var group = routes.MapGroup("/v1/webpush").RequireRateLimiting(GatewayRateLimiting.PolicyName);
        group.MapPost(string.Empty, RegisterAsync);
        group.MapDelete(string.Empty, UnregisterAsync);
    }

    private static IResult Off() => GatewayResults.Problem(StatusCodes.Status404NotFound,
        "Web Push is off on this gateway: its WebPush:Subject setting is not set");

    private static async Task<IResult> RegisterAsync(HttpContext context, WebPushService service, WebPushAccess access, IOptions<GatewayOptions> options, ILogger<WebPushService> logger)
    {
        if (service.Store is not { } store)
        {
            return Off();
        }

        var (root, problem) = await ReadJsonAsync(context).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        using var document = root!;
        var error = Parse(document.RootElement, options.Value, out var registration);
        if (error is not null)
        {
            return GatewayResults.Problem(StatusCodes.Status400BadRequest, error);
        }

        if (access.RefuseUnlessMayRead(context, registration!.Channels) is { } refused)
        {
            return refused;
        }

        var result = store.Add(registration);
        if (result == WebPushSubscriptionStore.AddResult.Full)
        {
            return GatewayResults.Problem(StatusCodes.Status409Conflict, string.Create(CultureInfo.InvariantCulture,
                $"this gateway keeps at most {options.Value.WebPush.MaxSubscriptions} Web Push registrations (WebPush:MaxSubscriptions), and has that many"));
        }

        WebPushLog.Registered(logger, result == WebPushSubscriptionStore.AddResult.Added ? "added" : "replaced",
            WebPushLog.Origin(registration.Endpoint), string.Join(", ", registration.Channels));
        return Results.Json(new WebPushRegisteredResponse(registration.Endpoint, registration.Channels),
            statusCode: result == WebPushSubscriptionStore.AddResult.Added ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> UnregisterAsync(HttpContext context, WebPushService service, WebPushAccess access, ILogger<WebPushService> logger)
    {
        if (service.Store is not { } store)
        {
            return Off();
        }

        var (root, problem) = await ReadJsonAsync(context).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        using var document = root!;
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("endpoint", out var endpointElement) || endpointElement.ValueKind != JsonValueKind.String)
        {
            return GatewayResults.Problem(StatusCodes.Status400BadRequest, "the body must be a JSON object with the subscription's \"endpoint\"");
        }

        var endpoint = endpointElement.GetString()!;
        var channels = store.Current.TryGetValue(endpoint, out var existing) ? existing.Channels : [];
        if (access.RefuseUnlessMayRead(context, channels) is { } refused)
        {
            return refused;
        }

        if (!store.Remove(endpoint))
        {
            return GatewayResults.Problem(StatusCodes.Status404NotFound, "no Web Push registration has this endpoint");
        }

        WebPushLog.Removed(logger, WebPushLog.Origin(endpoint), "unregistered");
        return Results.NoContent();
    }

    private static async Task<(JsonDocument? Document, IResult? Problem)> ReadJsonAsync(HttpContext context)
    {
        var body = await RequestBody.ReadAsync(context.Request, MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return (null, GatewayResults.TooLarge(MaxBodyBytes));
        }

        var document = JsonBody.Parse(body, "the body", out var error);
        return document is null ? (null, GatewayResults.Problem(StatusCodes.Status400BadRequest, error!)) : (document, null);
    }

    /// <summary>
    /// Reads <c>{"endpoint","keys":{"p256dh","auth"},"channels":[…]}</c> (what <c>PushSubscription.toJSON()</c>
    /// gives, plus the channels; other members such as <c>expirationTime</c> are ignored). Null when
    /// valid, otherwise what is wrong.
    /// </summary>
    internal static string? Parse(JsonElement root, GatewayOptions options, out WebPushRegistration? registration)
    {
        registration = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return "the body must be a JSON object: {\"endpoint\": …, \"keys\": {\"p256dh\": …, \"auth\": …}, \"channels\": […]}";
        }

        if (!root.TryGetProperty("endpoint", out var endpointElement) || endpointElement.ValueKind != JsonValueKind.String)
        {
            return "\"endpoint\" is missing or not a string: give the push subscription's endpoint";
        }

        var endpoint = endpointElement.GetString()!;
        if (EndpointError(endpoint) is { } endpointError)
        {
            return endpointError;
        }

        if (!root.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Object)
        {
            return "\"keys\" is missing or not an object: give the subscription's {\"p256dh\": …, \"auth\": …}";
        }

        if (Key(keys, "p256dh", 65, out var p256dh) is { } p256dhError)
        {
            return p256dhError;
        }

        if (p256dh![0] != 0x04 || !IsP256Point(p256dh))
        {
            return "keys.p256dh is not an uncompressed P-256 public key (65 bytes starting with 0x04, a point of the curve)";
        }

        if (Key(keys, "auth", 16, out var auth) is { } authError)
        {
            return authError;
        }

        if (!root.TryGetProperty("channels", out var channelsElement) || channelsElement.ValueKind != JsonValueKind.Array)
        {
            return "\"channels\" is missing or not an array: give the channels (or Redis glob patterns) to push";
        }

        var limit = options.WebPush.MaxChannelsPerSubscription;
        var count = channelsElement.GetArrayLength();
        if (count == 0 || count > limit)
        {
            return string.Create(CultureInfo.InvariantCulture, $"\"channels\" has {count} entries: give 1 to {limit} (WebPush:MaxChannelsPerSubscription)");
        }

        var channels = new List<string>(count);
        foreach (var element in channelsElement.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.String)
            {
                return "every entry of \"channels\" must be a string";
            }

            var channel = element.GetString()!;
            if (ChannelError(channel, options.MaxChannelBytes) is { } channelError)
            {
                return $"channel '{channel}' {channelError}";
            }

            if (!channels.Contains(channel, StringComparer.Ordinal))
            {
                channels.Add(channel);
            }
        }

        // Kept as received: the push service needs them in base64url, and RFC 8291 fixes their sizes.
        registration = new WebPushRegistration(endpoint, Base64Url.EncodeToString(p256dh), Base64Url.EncodeToString(auth!), channels)
        {
            Since = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        return null;
    }

    /// <summary>An https URL; http only to a loopback host (a push service stand-in on the same machine, in tests).</summary>
    internal static string? EndpointError(string endpoint)
    {
        if (endpoint.Length > MaxEndpointLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"\"endpoint\" is longer than {MaxEndpointLength} characters");
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            return "\"endpoint\" is not an absolute URL";
        }

        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            return null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp && (uri.IsLoopback || IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)))
        {
            return null;
        }

        return "\"endpoint\" must be an https URL (push services are; http is taken only for a loopback host)";
    }

    /// <summary>A channel name, or a Redis glob pattern when it has <c>*</c>, <c>?</c> or <c>[</c>.</summary>
    private static string? ChannelError(string channel, int maxBytes)
    {
        if (channel.Length == 0)
        {
            return "is empty";
        }

        if (channel.Any(char.IsControl))
        {
            return "contains a control character";
        }

        if (Encoding.UTF8.GetByteCount(channel) > maxBytes)
        {
            return string.Create(CultureInfo.InvariantCulture, $"is longer than {maxBytes} UTF-8 bytes (MaxChannelBytes)");
        }

        return WebPushRegistration.IsPattern(channel) && ChannelGlob.PatternError(channel) is { } patternError
            ? $"{patternError}: patterns use Redis glob syntax"
            : null;
    }

    /// <summary>keys.<paramref name="name"/>: base64url (padding and standard base64 accepted) of exactly <paramref name="length"/> bytes.</summary>
    private static string? Key(JsonElement keys, string name, int length, out byte[]? value)
    {
        value = null;
        if (!keys.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            return $"keys.{name} is missing or not a string";
        }

        var text = element.GetString()!.TrimEnd('=').Replace('+', '-').Replace('/', '_');
        try
        {
            value = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return $"keys.{name} is not base64url";
        }

        return value.Length == length
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"keys.{name} is {value.Length} bytes, not {length} (RFC 8291)");
    }

    private static bool IsP256Point(byte[] point)
    {
        try
        {
            using var key = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33], Y = point[33..65] },
            });
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
