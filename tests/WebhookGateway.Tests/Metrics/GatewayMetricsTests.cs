using System.Net;
using System.Text;
using Notistream.Gateway.Metrics;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;
using static Notistream.Gateway.Tests.Infrastructure.GitHubDeliveries;

namespace Notistream.Gateway.Tests.Metrics;

/// <summary><c>GET /metrics</c> on the gateway: counters against the requests and deliveries the test sent.</summary>
public sealed class GatewayMetricsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Counters_move_by_exactly_the_requests_publishes_and_webhook_deliveries_sent()
    {
        var outcome = PublishOutcome.Published(2);
        var publisher = new RecordingPublisher { Outcome = () => outcome };
        await using var gateway = await GatewayHost.StartAsync(publisher, "--github-secret", Secret);

        for (var i = 0; i < 3; i++)
        {
            using var published = await gateway.Client.PostAsync("/alerts", new StringContent($"m{i}"), Ct);
            Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        }

        outcome = PublishOutcome.Unavailable("down");
        using (var unavailable = await gateway.Client.PostAsync("/alerts", new StringContent("lost"), Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
        }

        outcome = PublishOutcome.Published(1);
        var body = Fixture("issues.opened.json");
        for (var i = 0; i < 2; i++)
        {
            using var delivered = await gateway.Client.SendAsync(Json("issues", body, Sign(body), delivery: $"d{i}"), Ct);
            Assert.Equal(HttpStatusCode.Created, delivered.StatusCode);
        }

        using (var forged = await gateway.Client.SendAsync(Json("issues", body, Sign(body, "not the secret")), Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        }

        using (var unsigned = await gateway.Client.SendAsync(Json("made_up_event", body, signature: null), Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        }

        var text = await gateway.Client.GetStringAsync("/metrics", Ct);
        var samples = PrometheusScrape.Parse(text);
        Assert.Equal(3, samples.Value("notistream_gateway_http_requests_total{route=\"/{**channel}\",status_class=\"2xx\"}"));
        Assert.Equal(1, samples.Value("notistream_gateway_http_requests_total{route=\"/{**channel}\",status_class=\"5xx\"}"));
        Assert.Equal(2, samples.Value("notistream_gateway_http_requests_total{route=\"/github\",status_class=\"2xx\"}"));
        Assert.Equal(2, samples.Value("notistream_gateway_http_requests_total{route=\"/github\",status_class=\"4xx\"}"));
        Assert.Equal(3, samples.Value("notistream_gateway_publishes_total{outcome=\"published\",source=\"http\"}"));
        Assert.Equal(1, samples.Value("notistream_gateway_publishes_total{outcome=\"unavailable\",source=\"http\"}"));
        Assert.Equal(2, samples.Value("notistream_gateway_publishes_total{outcome=\"published\",source=\"github\"}"));
        Assert.Equal(2, samples.Value("notistream_gateway_webhook_deliveries_total{event=\"issues\",verification=\"verified\"}"));
        Assert.Equal(1, samples.Value("notistream_gateway_webhook_deliveries_total{event=\"unverified\",verification=\"bad_signature\"}"));
        Assert.Equal(1, samples.Value("notistream_gateway_webhook_deliveries_total{event=\"unverified\",verification=\"missing_signature\"}"));
        Assert.Equal(1, samples.Value("notistream_gateway_server_connected"));
        // No raw path and no unverified event name becomes a label.
        Assert.DoesNotContain("/alerts", text);
        Assert.DoesNotContain("made_up_event", text);

        publisher.IsConnected = false;
        var later = PrometheusScrape.Parse(await gateway.Client.GetStringAsync("/metrics", Ct));
        Assert.Equal(0, later.Value("notistream_gateway_server_connected"));
        Assert.Equal(1, later.Value("notistream_gateway_http_requests_total{route=\"/metrics\",status_class=\"2xx\"}"));
    }

    [Fact]
    public async Task A_delivery_without_a_configured_secret_is_counted_as_missing_secret()
    {
        await using var gateway = await GatewayHost.StartAsync(new RecordingPublisher());
        var body = Fixture("ping.repo.json");
        using (var refused = await gateway.Client.SendAsync(Json("ping", body, Sign(body)), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        var samples = PrometheusScrape.Parse(await gateway.Client.GetStringAsync("/metrics", Ct));
        Assert.Equal(1, samples.Value("notistream_gateway_webhook_deliveries_total{event=\"unverified\",verification=\"missing_secret\"}"));
        Assert.Equal(0, samples.Value("notistream_gateway_publishes_total{outcome=\"published\",source=\"github\"}"));
    }

    [Fact]
    public async Task Promtool_accepts_the_exposition()
    {
        await using var gateway = await GatewayHost.StartAsync(new RecordingPublisher(), "--github-secret", Secret);
        using (await gateway.Client.PostAsync("/alerts", new StringContent("m"), Ct))
        {
        }

        var text = await gateway.Client.GetStringAsync("/metrics", Ct);
        Assert.Contains("# TYPE notistream_gateway_publishes_total counter", text);
        await PrometheusScrape.CheckWithPromtoolAsync(text);
    }

    [Fact]
    public async Task Metrics_are_served_to_loopback_only_by_default_and_can_be_turned_off()
    {
        Assert.True(GatewayMetrics.Allowed(MetricsAccess.Loopback, IPAddress.Loopback));
        Assert.True(GatewayMetrics.Allowed(MetricsAccess.Loopback, IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.False(GatewayMetrics.Allowed(MetricsAccess.Loopback, IPAddress.Parse("192.0.2.7")));
        Assert.True(GatewayMetrics.Allowed(MetricsAccess.Any, IPAddress.Parse("192.0.2.7")));
        Assert.False(GatewayMetrics.Allowed(MetricsAccess.Off, IPAddress.Loopback));

        // The publish token does not guard /metrics: a scraper carries none.
        await using (var guarded = await GatewayHost.StartAsync(new RecordingPublisher(), "--token", "t0ken"))
        {
            using var response = await guarded.Client.GetAsync("/metrics", Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        }

        await using var off = await GatewayHost.StartAsync(new RecordingPublisher(), "--Gateway:Metrics", "Off");
        using var none = await off.Client.GetAsync("/metrics", Ct);
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Equal("", Encoding.UTF8.GetString(await none.Content.ReadAsByteArrayAsync(Ct)));
    }
}
