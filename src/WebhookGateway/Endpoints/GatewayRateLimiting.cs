using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Notistream.Gateway.Options;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// ASP.NET Core's rate limiter on the publish endpoints (ntfy's PUT and GET too) and <c>/github</c>: a fixed window of
/// <see cref="RateLimitOptions.PermitsPerMinute"/> per client address, no queue, 429 + Retry-After
/// beyond it. Loopback clients are exempt by default (scripts on the machine, a local proxy).
/// </summary>
internal static class GatewayRateLimiting
{
    public const string PolicyName = "per-client-address";

    public static IServiceCollection AddGatewayRateLimiting(this IServiceCollection services, RateLimitOptions limits)
        => services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, _) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                // As every other error: a problem whose detail says what to do, with ntfy's fields for its clients.
                await GatewayResults.Problem(StatusCodes.Status429TooManyRequests,
                        string.Create(CultureInfo.InvariantCulture, $"more than {limits.PermitsPerMinute} requests a minute from this address; try again in {seconds} s"),
                        NtfyError.TooManyRequests)
                    .ExecuteAsync(context.HttpContext).ConfigureAwait(false);
            };
            options.AddPolicy(PolicyName, context => Partition(context.Connection.RemoteIpAddress, limits));
        });

    internal static RateLimitPartition<string> Partition(IPAddress? address, RateLimitOptions limits)
    {
        if (limits.PermitsPerMinute == 0 || (limits.ExemptLoopback && address is not null && IPAddress.IsLoopback(address)))
        {
            return RateLimitPartition.GetNoLimiter("unlimited");
        }

        var key = address is null ? "unknown" : (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
        return RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = limits.PermitsPerMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }
}
