using System.Net.Http.Headers;
using Lib.Net.Http.WebPush.Authentication;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// Two corrections to what Lib.Net.Http.WebPush 3.3.1 sends, on the way out:
/// <list type="bullet">
/// <item>It signs its VAPID token for <c>scheme://host</c>, leaving out the port, while RFC 8292
/// section 2 has the token's <c>aud</c> be the push resource's origin, port included. Push services
/// listen on 443, where the two agree; for an endpoint on another port the token is signed again
/// here for the right origin, so a push service that checks it accepts it.</item>
/// <item>It leaves out <c>Urgency</c> when it is normal; RFC 8030 reads that as normal too, but the
/// header is sent anyway, so every push says its urgency.</item>
/// </list>
/// </summary>
internal sealed class PushRequestHandler(VapidAuthentication vapid) : DelegatingHandler(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { IsDefaultPort: false } uri)
        {
            var audience = uri.GetLeftPart(UriPartial.Authority);
            request.Headers.Authorization = new AuthenticationHeaderValue("vapid", vapid.GetVapidSchemeAuthenticationHeaderValueParameter(audience));
        }

        if (!request.Headers.Contains("Urgency"))
        {
            request.Headers.TryAddWithoutValidation("Urgency", "normal");
        }

        return base.SendAsync(request, cancellationToken);
    }
}
