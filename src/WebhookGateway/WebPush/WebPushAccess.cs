using Microsoft.Extensions.Options;
using Notistream.Gateway.Endpoints;
using Notistream.Gateway.Options;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// Who may register for pushes: whoever may subscribe to the same channels over HTTP. Without any token
/// configured, anyone who reaches the port, as for publishing. With tokens configured, a registration must
/// carry a token with read access (the global token, or a scoped token whose <c>Access</c> is <c>read</c> or
/// <c>read-write</c>) to each channel, and to each pattern as <see cref="PublishGrant.AllowsPattern"/> decides,
/// presented as the subscribe routes take it (Bearer, Basic with the token as password, <c>?auth=</c>).
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

        if (SubscribeEndpoints.PresentedToken(context.Request) is not { } token)
        {
            return GatewayResults.Unauthorized(context, "a token with read access is required to register for Web Push: send 'Authorization: Bearer <token>'");
        }

        if (_tokens.FindRead(token) is not { } grant)
        {
            return GatewayResults.Problem(StatusCodes.Status403Forbidden, "the token is wrong");
        }

        foreach (var channel in channels)
        {
            if (WebPushRegistration.IsPattern(channel) ? !grant.AllowsPattern(channel) : !grant.Allows(channel))
            {
                return GatewayResults.Problem(StatusCodes.Status403Forbidden, $"this token may not read '{channel}'");
            }
        }

        return null;
    }
}
