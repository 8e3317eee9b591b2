using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Notistream.Gateway.Publishing;

/// <summary>Readiness: the gateway can publish only while it is connected to the pub/sub server.</summary>
/// <remarks>With several servers, ready while any of them is connected; the description names the one in use.</remarks>
internal sealed class PubSubHealthCheck(IMessagePublisher publisher, IServerInfo? info = null) : IHealthCheck
{
    public const string ReadyTag = "ready";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var at = info is null ? string.Empty : $" at {info.Server}";
        return Task.FromResult(publisher.IsConnected
            ? HealthCheckResult.Healthy($"connected to the pub/sub server{at}")
            : HealthCheckResult.Unhealthy($"not connected to the pub/sub server{at}"));
    }
}
