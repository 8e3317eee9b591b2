using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Publishing;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// <c>POST /</c> (form fields or JSON <c>channel</c> + <c>message</c>) and <c>POST /{channel}</c>
/// (the raw body is the message, ntfy-style; the channel may contain slashes). Checks run
/// cheapest first: token (401/403), content type (415), size (413), fields (400), the token's
/// channel scope (403), then the PUBLISH itself. For <c>POST /{channel}</c> the channel (400, then
/// scope 403) is checked before the body is read.
/// </summary>
internal static class PublishEndpoints
{
    public static IEndpointRouteBuilder MapPublishEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup(string.Empty)
            .AddEndpointFilter<PublishTokenFilter>()
            .RequireRateLimiting(GatewayRateLimiting.PolicyName);
        group.MapPost("/", PostFieldsAsync);
        group.MapPost("/{**channel}", PostRawAsync);
        return routes;
    }

    private static async Task<IResult> PostFieldsAsync(HttpContext context, IMessagePublisher publisher, IOptions<GatewayOptions> options)
    {
        var settings = options.Value;
        var request = context.Request;
        var format = PublishRequest.BodyFormat(request.ContentType);
        if (format is null)
        {
            return GatewayResults.Problem(StatusCodes.Status415UnsupportedMediaType,
                "POST / takes form fields channel and message (application/x-www-form-urlencoded or multipart/form-data) " +
                "or JSON {\"channel\": …, \"message\": …}; to publish a raw body, POST /{channel}");
        }

        var body = await RequestBody.ReadAsync(request, settings.MaxMessageBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return GatewayResults.TooLarge(settings.MaxMessageBytes);
        }

        PublishRequest parsed;
        if (format == "json")
        {
            parsed = PublishRequest.FromJson(body);
        }
        else
        {
            request.Body = new MemoryStream(body, writable: false);
            try
            {
                parsed = PublishRequest.FromForm(await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                // The body is in memory: an IOException here is a truncated multipart body, not a network fault.
                parsed = PublishRequest.Invalid($"the form is malformed: {ex.Message}");
            }
        }

        var error = parsed.Error ?? PublishRequest.ChannelError(parsed.Channel, settings.MaxChannelBytes);
        if (error is not null)
        {
            return GatewayResults.Problem(StatusCodes.Status400BadRequest, error);
        }

        if (PublishTokenFilter.ForbiddenChannel(context, parsed.Channel!) is { } forbidden)
        {
            return forbidden;
        }

        return await PublishAsync(context, publisher, settings, parsed.Channel!, parsed.Message, format).ConfigureAwait(false);
    }

    private static async Task<IResult> PostRawAsync(string channel, HttpContext context, IMessagePublisher publisher, IOptions<GatewayOptions> options)
    {
        var settings = options.Value;
        if (PublishRequest.ChannelError(channel, settings.MaxChannelBytes) is { } error)
        {
            return GatewayResults.Problem(StatusCodes.Status400BadRequest, error);
        }

        if (PublishTokenFilter.ForbiddenChannel(context, channel) is { } forbidden)
        {
            return forbidden;
        }

        var body = await RequestBody.ReadAsync(context.Request, settings.MaxMessageBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return GatewayResults.TooLarge(settings.MaxMessageBytes);
        }

        if (body.Length == 0)
        {
            return GatewayResults.Problem(StatusCodes.Status400BadRequest, "message is empty: the request body is the message");
        }

        return await PublishAsync(context, publisher, settings, channel, body, "body").ConfigureAwait(false);
    }

    private static async Task<IResult> PublishAsync(HttpContext context, IMessagePublisher publisher, GatewayOptions settings,
        string channel, ReadOnlyMemory<byte> message, string source)
    {
        var outcome = await publisher.PublishAsync(channel, message, source).ConfigureAwait(false);
        return GatewayResults.FromOutcome(context, outcome, settings.RetryAfterSeconds,
            published => new PublishedResponse(channel, published.Receivers, published.Id));
    }
}
