using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// When any publish token is configured (global or scoped), <c>Authorization: Bearer &lt;token&gt;</c>
/// is required: 401 without it, 403 when it is none of them. Checked before the body is read. The
/// token's <see cref="PublishGrant"/> goes to the handler, which refuses a channel outside it with
/// 403 (<see cref="ForbiddenChannel"/>): the path channel before the body is read, a form or JSON
/// channel once the body is parsed.
/// </summary>
internal sealed class PublishTokenFilter : IEndpointFilter
{
    private static readonly object _grantKey = new();

    private readonly PublishTokenSet _tokens;

    public PublishTokenFilter(IOptions<GatewayOptions> options) => _tokens = new PublishTokenSet(options.Value);

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!_tokens.IsRequired)
        {
            http.Items[_grantKey] = PublishGrant.Everything;
            return next(context);
        }

        var header = http.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length == Scheme.Length)
        {
            return ValueTask.FromResult<object?>(GatewayResults.Unauthorized(http,
                "a publish token is required: send 'Authorization: Bearer <token>'"));
        }

        if (_tokens.Find(header.AsSpan(Scheme.Length).Trim().ToString()) is not { } grant)
        {
            return ValueTask.FromResult<object?>(GatewayResults.Problem(StatusCodes.Status403Forbidden, "the publish token is wrong"));
        }

        http.Items[_grantKey] = grant;
        return next(context);
    }

    /// <summary>
    /// The 403 for a <paramref name="channel"/> the request's token may not publish to, or null when it
    /// may. Without a grant (the filter did not run) nothing is allowed.
    /// </summary>
    public static IResult? ForbiddenChannel(HttpContext context, string channel)
    {
        if (context.Items.TryGetValue(_grantKey, out var value) && value is PublishGrant grant && grant.Allows(channel))
        {
            return null;
        }

        return GatewayResults.Problem(StatusCodes.Status403Forbidden, $"this token may not publish to '{channel}'");
    }
}
