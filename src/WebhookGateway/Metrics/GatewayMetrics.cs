using System.Diagnostics.Metrics;
using System.Net;
using Notistream.Gateway.Publishing;
using Prometheus;

namespace Notistream.Gateway.Metrics;

/// <summary>Who may read <c>GET /metrics</c> (<c>--Metrics</c>, <c>Gateway__Metrics</c>).</summary>
internal enum MetricsAccess
{
    /// <summary>Only clients on the same machine (a local Prometheus or agent, a reverse proxy that does not forward /metrics).</summary>
    Loopback,

    /// <summary>Anyone who reaches the gateway's port: for a port only a private network reaches.</summary>
    Any,

    /// <summary>No /metrics at all (404).</summary>
    Off,
}

/// <summary>
/// The gateway's instruments on System.Diagnostics.Metrics (meter <see cref="MeterName"/>, read by
/// dotnet-counters too), served at <c>GET /metrics</c> in Prometheus's text format. Labels are bounded:
/// route templates (never raw paths), status classes, outcomes, and GitHub event names only once a
/// delivery's signature was verified. docs/metrics.md lists them.
/// </summary>
internal sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Notistream.Gateway";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _publishes;
    private readonly Counter<long> _webhooks;
    private readonly Notistream.Metrics.PrometheusBridge _bridge;

    public GatewayMetrics(IMeterFactory meters, IServiceProvider services)
    {
        Meter = meters.Create(MeterName);
        _requests = Meter.CreateCounter<long>("notistream.gateway.http.requests", "{request}",
            "HTTP requests answered, by route template and status class (2xx, 4xx, ...).");
        _publishes = Meter.CreateCounter<long>("notistream.gateway.publishes", "{message}",
            "Publishes handed to the pub/sub server, by source (http, github) and outcome (published, unavailable, refused, forbidden).");
        _webhooks = Meter.CreateCounter<long>("notistream.gateway.webhook.deliveries", "{delivery}",
            "GitHub deliveries received, by event (for verified ones only) and verification (verified, bad_signature, missing_signature, missing_secret, too_large).");
        Meter.CreateObservableUpDownCounter("notistream.gateway.server.connected",
            () => services.GetService<IMessagePublisher>()?.IsConnected == true ? 1L : 0L, "{connection}",
            "1 while the connection to the pub/sub server is up, else 0.");
        Registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        _bridge = new Notistream.Metrics.PrometheusBridge(Registry, Meter, _ => Histogram.ExponentialBuckets(0.001, 2, 16));
    }

    public Meter Meter { get; }

    public CollectorRegistry Registry { get; }

    public void Dispose()
    {
        _bridge.Dispose();
        Meter.Dispose();
    }

    /// <summary>Whether a request from <paramref name="remote"/> may read /metrics.</summary>
    public static bool Allowed(MetricsAccess access, IPAddress? remote) => access switch
    {
        MetricsAccess.Any => true,
        MetricsAccess.Loopback => remote is not null && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote),
        _ => false,
    };

    /// <summary>Counts a finished request under its route template (<c>unmatched</c> when no endpoint took it).</summary>
    public void Request(HttpContext context)
    {
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
        var status = context.Response.StatusCode;
        var statusClass = status switch
        {
            >= 100 and < 200 => "1xx",
            < 300 => "2xx",
            < 400 => "3xx",
            < 500 => "4xx",
            _ => "5xx",
        };
        _requests.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("status_class", statusClass));
    }

    public void Published(HttpContext context, PublishStatus status)
    {
        var source = context.Request.Path.StartsWithSegments("/github") ? "github" : "http";
        var outcome = status switch
        {
            PublishStatus.Published => "published",
            PublishStatus.Forbidden => "forbidden",
            PublishStatus.Refused => "refused",
            _ => "unavailable",
        };
        _publishes.Add(1, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("outcome", outcome));
    }

    /// <param name="eventName">the X-GitHub-Event header; a label only when <paramref name="verification"/> is verified</param>
    public void Webhook(string eventName, string verification)
    {
        var label = verification != "verified" ? "unverified"
            : eventName.Length == 0 ? "none"
            : eventName.Length <= 64 && eventName.All(c => c is (>= 'a' and <= 'z') or '_') ? eventName
            : "other";
        _webhooks.Add(1, new KeyValuePair<string, object?>("event", label), new KeyValuePair<string, object?>("verification", verification));
    }
}
