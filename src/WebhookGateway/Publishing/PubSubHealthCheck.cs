using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;

namespace Notistream.Gateway.Publishing;

/// <summary>Readiness: the gateway can publish only while it is connected to the pub/sub server.</summary>
/// <remarks>
/// With several servers, ready only while the one in use is connected (publishing and following go to
/// it; another connected node does not make a publish succeed until it is chosen), and the description
/// names it (reading it moves nothing); with one, the check and the description are the same as ever.
/// </remarks>
internal sealed class PubSubHealthCheck(IMessagePublisher publisher, IOptions<GatewayOptions>? options = null) : IHealthCheck
{
    public const string ReadyTag = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var at = options?.Value is { Servers.Count: > 1 } gateway ? $" at {gateway.Servers.InUse}" : string.Empty;
        return Task.FromResult(publisher.IsInUseConnected
            ? HealthCheckResult.Healthy($"connected to the pub/sub server{at}")
            : HealthCheckResult.Unhealthy($"not connected to the pub/sub server{at}"));
    }
}
