using System.Net;
using System.Text.Json;
using Notistream.Gateway.Tests.Infrastructure;

namespace Notistream.Gateway.Tests.Endpoints;

public sealed class HealthEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Healthz_is_200_while_the_process_is_up_and_readyz_follows_the_connection()
    {
        var publisher = new RecordingPublisher { IsConnected = false };
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var health = await gateway.Client.GetAsync("/healthz", Ct);
        using var notReady = await gateway.Client.GetAsync("/readyz", Ct);
        publisher.IsConnected = true;
        using var ready = await gateway.Client.GetAsync("/readyz", Ct);

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task Healthz_says_the_version_as_json_the_version_every_program_prints()
    {
        await using var gateway = await GatewayHost.StartAsync(new RecordingPublisher());

        using var health = await gateway.Client.GetAsync("/healthz", Ct);
        var body = await health.Content.ReadAsStringAsync(Ct);

        Assert.Equal("application/json", health.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("Healthy", json.RootElement.GetProperty("status").GetString());
        var version = json.RootElement.GetProperty("version").GetString();
        Assert.Equal(ProductVersion.Text, version);
        Assert.Matches(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9a-f]{7})?$", version);
    }

    [Fact]
    public async Task Unknown_paths_and_methods_are_not_publishes()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var get = await gateway.Client.GetAsync("/some/channel", Ct);
        // PUT is ntfy's publish (NtfyPublishTests); DELETE is nothing.
        using var delete = await gateway.Client.DeleteAsync("/c", Ct);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Empty(publisher.Attempts);
    }
}
