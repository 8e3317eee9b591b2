using System.Collections;
using System.Net;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Dashboard;
using Notistream.Gateway.Endpoints;
using Notistream.Gateway.GitHub;
using Notistream.Gateway.Logging;
using Notistream.Gateway.Metrics;
using Notistream.Gateway.Options;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.WebPush;
using Notistream.RespServer.Hosting;

namespace Notistream.Gateway;

/// <summary>Builds the gateway: configuration, services, endpoints. Program and the tests both start here.</summary>
internal static class GatewayApplication
{
    /// <summary>The gateway's own publish lines at Information; framework and Redis client chatter only from Warning.</summary>
    private static readonly Dictionary<string, string?> _defaultLogLevels = new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:StackExchange.Redis"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
    };

    /// <param name="args">Command line: <c>--server host:port</c>, <c>--token</c>, <c>--urls</c>, <c>--&lt;Option&gt; value</c>.</param>
    /// <param name="environment">Environment variables to read; the process's own when null.</param>
    /// <param name="configure">Last changes before building (tests replace services here).</param>
    public static WebApplication Create(string[] args, IDictionary? environment = null, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        // Lowest precedence: quiet defaults that appsettings, environment or command line may override.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = _defaultLogLevels });
        var deprecated = new List<string>();
        builder.Configuration.AddInMemoryCollection(GatewayConfiguration.FromEnvironment(environment ?? Environment.GetEnvironmentVariables(), deprecated));
        builder.Configuration.AddCommandLine(args, GatewayConfiguration.SwitchMappings);
        if (GatewayConfiguration.ListenUrl(builder.Configuration) is { } url)
        {
            builder.WebHost.UseUrls(url);
        }

        var section = builder.Configuration.GetSection(GatewayConfiguration.Section);
        var options = section.Get<GatewayOptions>() ?? new GatewayOptions();
        // Refused before the host exists, so a typo gives one line per setting rather than a host crash log.
        if (new GatewayOptionsValidator().Validate(null, options) is { Failed: true } invalid)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(GatewayOptions), invalid.Failures);
        }

        builder.Services.AddOptions<GatewayOptions>().Bind(section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Limits.MaxRequestBodySize = Math.Max(options.MaxMessageBytes, options.MaxGitHubBodyBytes));

        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddSingleton<GitHubEventSummarizer>();
        builder.Services.AddSingleton<GitHubWebhookEndpoint>();
        builder.Services.AddHealthChecks().AddCheck<PubSubHealthCheck>("pubsub", tags: [PubSubHealthCheck.ReadyTag]);
        builder.Services.AddGatewayRateLimiting(options.RateLimit);
        builder.Services.AddProblemDetails();
        builder.Services.AddWebPush();
        builder.Services.AddDashboard();

        // Under systemd (Type=notify): READY=1 once Kestrel listens, STOPPING=1 on the way out, and the
        // journal's one-line format with priorities instead of the console's two-line colour format.
        if (SystemdSupport.NotifySocketSet)
        {
            builder.Services.AddSystemdNotify();
        }

        if (SystemdSupport.LogsToJournal)
        {
            builder.Logging.AddSystemdConsole();
        }

        configure?.Invoke(builder);
        if (!builder.Services.Any(service => service.ServiceType == typeof(IMessagePublisher)))
        {
            // The real connection, unless a test registered its own publisher.
            builder.Services.AddSingleton<RedisPublisher>();
            builder.Services.AddSingleton<IMessagePublisher>(services => services.GetRequiredService<RedisPublisher>());
            builder.Services.AddSingleton<IServerInfo>(services => services.GetRequiredService<RedisPublisher>());
            builder.Services.AddHostedService(services => services.GetRequiredService<RedisPublisher>());
        }

        var app = builder.Build();
        var metrics = app.Services.GetRequiredService<GatewayMetrics>();
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            finally
            {
                metrics.Request(context);
            }
        });
        if (options.WebApp)
        {
            // Before routing: POST /{**channel} would otherwise match /app.js and answer 405 to its GET.
            app.UseWebApp();
        }

        app.UseRouting();
        app.UseRateLimiter();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(options.Subscribe.KeepaliveSeconds) });
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteHealthAsync });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(PubSubHealthCheck.ReadyTag) });
        app.MapPost("/github", (HttpContext context, GitHubWebhookEndpoint endpoint) => endpoint.HandleAsync(context))
            .RequireRateLimiting(GatewayRateLimiting.PolicyName);
        app.MapPublishEndpoints();
        app.MapSubscribeEndpoints();
        app.MapWebPush();
        app.MapDashboard();
        app.MapGet("/metrics", (HttpContext context) => ServeMetricsAsync(context, metrics, options.Metrics));

        app.Lifetime.ApplicationStarted.Register(() => WarnAboutSettings(app, deprecated));
        return app;
    }

    /// <summary>GET /metrics: Prometheus's text format, to the clients <paramref name="access"/> allows; 404 to the others.</summary>
    private static async Task ServeMetricsAsync(HttpContext context, GatewayMetrics metrics, MetricsAccess access)
    {
        if (!GatewayMetrics.Allowed(access, context.Connection.RemoteIpAddress))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary><c>/healthz</c>'s body: <c>{"status":"Healthy","version":"0.9.0+abc1234"}</c>, the version <c>--version</c> prints.</summary>
    private static Task WriteHealthAsync(HttpContext context, HealthReport report) =>
        context.Response.WriteAsJsonAsync(new Dictionary<string, string> { ["status"] = report.Status.ToString(), ["version"] = ProductVersion.Text });

    private static void WarnAboutSettings(WebApplication app, List<string> deprecated)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(GatewayApplication).FullName!);
        foreach (var line in deprecated)
        {
            GatewayLog.DeprecatedVariable(logger, line);
        }

        var options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        if (string.IsNullOrEmpty(options.GitHubWebhookSecret))
        {
            GatewayLog.GitHubSecretMissing(logger);
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        if (string.IsNullOrEmpty(options.Token) && options.Tokens.Count == 0 && addresses.Any(address => !IsLoopback(address)))
        {
            GatewayLog.NoTokenOnPublicAddress(logger, string.Join(", ", addresses));
        }
    }

    private static bool IsLoopback(string address)
    {
        if (!Uri.TryCreate(address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri))
        {
            return false;
        }

        return uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}
