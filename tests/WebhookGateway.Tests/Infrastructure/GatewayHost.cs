using System.Collections;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Notistream.Gateway.Publishing;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Infrastructure;

/// <summary>
/// The real gateway pipeline (the same <see cref="GatewayApplication.Create"/> as Program) on
/// Kestrel at 127.0.0.1 port 0, with an <see cref="HttpClient"/> for it. Reads no environment
/// variables unless given some, so the machine's settings cannot leak into a test.
/// </summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private GatewayHost(WebApplication app, LogCapture logs)
    {
        App = app;
        Logs = logs;
        BaseAddress = new Uri(app.Urls.Single());
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TaskTimeoutExtensions.DefaultTimeout };
    }

    public WebApplication App { get; }

    public LogCapture Logs { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <param name="publisher">Replaces the Redis connection; null keeps the real one (give <c>--server</c>).</param>
    public static async Task<GatewayHost> StartAsync(RecordingPublisher? publisher, IDictionary? environment, params string[] args)
    {
        var logs = new LogCapture();
        var app = GatewayApplication.Create(["--urls", "http://127.0.0.1:0", .. args], environment ?? new Hashtable(), builder =>
        {
            builder.Logging.ClearProviders().AddProvider(logs);
            if (publisher is not null)
            {
                builder.Services.TryAddSingleton<IMessagePublisher>(publisher);
            }
        });
        await app.StartAsync().WithTimeout();
        return new GatewayHost(app, logs);
    }

    public static Task<GatewayHost> StartAsync(RecordingPublisher publisher, params string[] args) => StartAsync(publisher, null, args);

    /// <summary>A gateway with its real StackExchange.Redis connection to <paramref name="serverPort"/>.</summary>
    public static Task<GatewayHost> StartConnectedAsync(int serverPort, params string[] args)
        => StartAsync(null, null, ["--server", $"127.0.0.1:{serverPort}", .. args]);

    /// <summary>Waits (polling, with the default timeout) until /readyz says <paramref name="ready"/>.</summary>
    public Task WaitUntilReadyAsync(bool ready = true) => Poll.UntilAsync(async () =>
    {
        using var response = await Client.GetAsync("/readyz");
        return response.IsSuccessStatusCode == ready;
    }, ready ? "the gateway to report ready" : "the gateway to report not ready");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().WithTimeout();
        await App.DisposeAsync();
    }
}
