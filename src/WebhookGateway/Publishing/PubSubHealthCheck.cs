using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Notistream.Gateway.Publishing;

/// <summary>Readiness: the gateway can publish only while it is connected to the pub/sub server.</summary>
internal sealed class PubSubHealthCheck(IMessagePublisher publisher) : IHealthCheck
{
    public const string ReadyTag = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(publisher.IsConnected
            ? HealthCheckResult.Healthy("connected to the pub/sub server")
            : HealthCheckResult.Unhealthy("not connected to the pub/sub server"));
}
