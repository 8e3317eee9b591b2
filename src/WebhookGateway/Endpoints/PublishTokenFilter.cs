using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// When a publish token is configured, <c>Authorization: Bearer &lt;token&gt;</c> is required:
/// 401 without it, 403 with a wrong one. Checked before the body is read. The comparison is of
/// SHA-256 digests in constant time, so neither content nor length leaks through timing.
/// </summary>
internal sealed class PublishTokenFilter : IEndpointFilter
{
    private readonly byte[]? _tokenDigest;

    public PublishTokenFilter(IOptions<GatewayOptions> options)
    {
        var token = options.Value.Token;
        _tokenDigest = string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (_tokenDigest is null)
        {
            return next(context);
        }

        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length == Scheme.Length)
        {
            return ValueTask.FromResult<object?>(GatewayResults.Unauthorized(http,
                "a publish token is required: send 'Authorization: Bearer <token>'"));
        }

        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header.AsSpan(Scheme.Length).Trim().ToString()));
        if (!CryptographicOperations.FixedTimeEquals(given, _tokenDigest))
        {
            return ValueTask.FromResult<object?>(GatewayResults.Problem(StatusCodes.Status403Forbidden, "the publish token is wrong"));
        }

        return next(context);
    }
}
