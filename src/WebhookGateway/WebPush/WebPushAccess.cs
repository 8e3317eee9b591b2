using Microsoft.Extensions.Options;
using Notistream.Gateway.Endpoints;
using Notistream.Gateway.Options;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// Who may register for pushes. Without any token configured, anyone who reaches the port, as for
/// publishing. With a token configured, a registration must carry one that may read its channels:
/// until tokens carry read scopes that is the global <see cref="GatewayOptions.Token"/> only, since a
/// scoped token is a right to publish, not to read. <see cref="RefuseUnlessMayRead"/> is the one place
/// that decides, so that it can ask the scoped check once tokens have one.
/// </summary>
internal sealed class WebPushAccess(IOptions<GatewayOptions> options)
{
    private readonly PublishTokenSet _tokens = new(options.Value);

    /// <summary>Null when the request may register (or unregister) for <paramref name="channels"/>; otherwise the 401 or 403 to answer.</summary>
    public IResult? RefuseUnlessMayRead(HttpContext context, IReadOnlyList<string> channels)
    {
        if (!_tokens.IsRequired)
        {
            return null;
        }

        var header = context.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length == Scheme.Length)
        {
            return GatewayResults.Unauthorized(context, "a token is required to register for Web Push: send 'Authorization: Bearer <token>'");
        }

        var grant = _tokens.Find(header.AsSpan(Scheme.Length).Trim().ToString());
        if (grant is null)
        {
            return GatewayResults.Problem(StatusCodes.Status403Forbidden, "the token is wrong");
        }

        if (!ReferenceEquals(grant, PublishGrant.Everything))
        {
            return GatewayResults.Problem(StatusCodes.Status403Forbidden,
                $"a scoped publish token may not register for Web Push (channels {string.Join(", ", channels)}): use the gateway's global token");
        }

        return null;
    }
}
