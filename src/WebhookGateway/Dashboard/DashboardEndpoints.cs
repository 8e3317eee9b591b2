using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Endpoints;
using Notistream.Gateway.Options;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.Dashboard;

/// <summary>
/// <c>GET /dashboard</c> (the page, embedded from <c>Dashboard/wwwroot/</c>, with the web app's
/// Content-Security-Policy), its script and style beside it, and <c>GET /v1/dashboard</c>, the JSON snapshot
/// the page polls. The snapshot names channels and repositories, so with tokens configured the page and the
/// snapshot need a token that may read every channel (the global token, or a read token for <c>*</c>),
/// presented as the subscribe routes take it; the page's 401 asks for Basic so a browser prompts for it.
/// </summary>
internal static class DashboardEndpoints
{
    private const string Realm = "Basic realm=\"notistream dashboard\", charset=\"UTF-8\"";

    private static readonly (string Route, string File, string ContentType)[] _files =
    [
        ("/dashboard", "index.html", "text/html; charset=utf-8"),
        ("/dashboard/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
        ("/dashboard/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
    ];

    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddSingleton<DashboardCounters>();
        services.AddSingleton<DashboardSnapshots>();
        return services;
    }

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder routes)
    {
        var options = routes.ServiceProvider.GetRequiredService<IOptions<GatewayOptions>>().Value;
        if (!options.Dashboard)
        {
            return routes;
        }

        var tokens = new PublishTokenSet(options);
        var files = new ManifestEmbeddedFileProvider(typeof(DashboardEndpoints).Assembly, "Dashboard/wwwroot");
        foreach (var (route, file, contentType) in _files)
        {
            var info = files.GetFileInfo(file);
            routes.MapGet(route, async (HttpContext context) =>
            {
                // The page names its script, style and snapshot relative to itself (so that it works under a
                // reverse proxy's path prefix): /dashboard/ would put them a folder too deep.
                if (file == "index.html" && context.Request.Path.Value!.EndsWith('/'))
                {
                    context.Response.Redirect("../dashboard" + context.Request.QueryString);
                    return;
                }

                // Only the page asks for the token: the script and style hold no data.
                if (file == "index.html" && Refuse(context, tokens) is { } refused)
                {
                    await refused.ExecuteAsync(context).ConfigureAwait(false);
                    return;
                }

                WebApp.SetHeaders(context.Response.Headers);
                context.Response.ContentType = contentType;
                context.Response.ContentLength = info.Length;
                await using var stream = info.CreateReadStream();
                await stream.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
            });
        }

        routes.MapGet("/v1/dashboard", async (HttpContext context, DashboardSnapshots snapshots) =>
        {
            if (Refuse(context, tokens) is { } refused)
            {
                return refused;
            }

            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(await snapshots.GetAsync(context.RequestAborted).ConfigureAwait(false));
        });
        return routes;
    }

    /// <summary>Null when the request may see the dashboard; otherwise the 401 or 403 to answer.</summary>
    private static IResult? Refuse(HttpContext context, PublishTokenSet tokens)
    {
        if (!tokens.IsRequired)
        {
            return null;
        }

        if (SubscribeEndpoints.PresentedToken(context.Request) is not { } token)
        {
            context.Response.Headers.WWWAuthenticate = Realm;
            return GatewayResults.Problem(StatusCodes.Status401Unauthorized,
                "the dashboard needs a token that may read every channel: 'Authorization: Bearer <token>', Basic with the token as password, or ?auth=");
        }

        return tokens.FindRead(token) is { } grant && grant.AllowsPattern("*")
            ? null
            : GatewayResults.Problem(StatusCodes.Status403Forbidden, "this token may not see the dashboard: it needs read access to every channel ('*')");
    }
}
