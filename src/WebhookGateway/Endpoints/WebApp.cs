using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// The web app (<c>wwwroot/</c>, embedded in the program so a single-file build carries it): <c>GET /</c>
/// gives <c>index.html</c>; <c>app.js</c>, <c>app.css</c>, <c>sw.js</c> (the service worker, at the root so
/// that it controls the whole app), the manifest and the icons are served beside it. Only GET and HEAD of
/// those files are answered here; every other request goes on to the endpoints (<c>POST /</c> publishes).
/// Each file is revalidated on every load (ETag), so a new gateway version shows at once, and the
/// pages may load scripts, styles and connections from this origin only (Content-Security-Policy).
/// </summary>
internal static class WebApp
{
    /// <summary>What the app's files may do: everything from this origin, nothing from elsewhere.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    public static IApplicationBuilder UseWebApp(this IApplicationBuilder app)
    {
        var files = new ManifestEmbeddedFileProvider(typeof(WebApp).Assembly, "wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, DefaultFileNames = ["index.html"] });
        return app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
            OnPrepareResponse = context => SetHeaders(context.Context.Response.Headers),
        });
    }

    /// <summary>The headers of every file of the app (and of the dashboard's): revalidated on each load, this origin only.</summary>
    public static void SetHeaders(IHeaderDictionary headers)
    {
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
        headers["Referrer-Policy"] = "no-referrer";
    }
}
