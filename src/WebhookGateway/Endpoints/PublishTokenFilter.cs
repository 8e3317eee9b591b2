using System.Buffers.Text;
using System.Text;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// When any publish token is configured (global or scoped), <c>Authorization: Bearer &lt;token&gt;</c>
/// (or ntfy's forms of it, see <see cref="Token"/>) is required: 401 without it, 403 when it is none of them. Checked before the body is read. The
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

        if (Token(http.Request) is not { Length: > 0 } token)
        {
            return ValueTask.FromResult<object?>(GatewayResults.Unauthorized(http,
                "a publish token is required: send 'Authorization: Bearer <token>'"));
        }

        if (_tokens.Find(token) is not { } grant)
        {
            return ValueTask.FromResult<object?>(GatewayResults.Problem(StatusCodes.Status403Forbidden, "the publish token is wrong", NtfyError.Forbidden));
        }

        http.Items[_grantKey] = grant;
        return next(context);
    }

    /// <summary>
    /// The token of <c>Authorization: Bearer &lt;token&gt;</c>, or of <c>Basic</c> with an empty user name and the
    /// token as password (ntfy's <c>:&lt;token&gt;</c>); as ntfy does, <c>?auth=</c> (or <c>?authorization=</c>),
    /// the header's value in unpadded base64url, takes the header's place. Null when there is none.
    /// </summary>
    internal static string? Token(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString().Trim();
        var query = request.Query.TryGetValue("authorization", out var longForm) && longForm.Count > 0 && !string.IsNullOrWhiteSpace(longForm[0])
            ? longForm[0]
            : request.Query.TryGetValue("auth", out var shortForm) && shortForm.Count > 0 ? shortForm[0] : null;
        if (!string.IsNullOrWhiteSpace(query))
        {
            try
            {
                header = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(query.Trim())).Trim();
            }
            catch (FormatException)
            {
                return null;
            }
        }

        const string Bearer = "Bearer ";
        if (header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return header[Bearer.Length..].Trim();
        }

        const string Basic = "Basic ";
        if (header.StartsWith(Basic, StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(header[Basic.Length..].Trim()));
                return credentials.StartsWith(':') ? credentials[1..] : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return null;
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

        return GatewayResults.Problem(StatusCodes.Status403Forbidden, $"this token may not publish to '{channel}'", NtfyError.Forbidden);
    }
}
