using System.Globalization;
using Notistream.Gateway.Publishing;

namespace Notistream.Gateway.Endpoints;

/// <summary>The answer to a publish: 201 with <c>{"channel","receivers","id"}</c>; <c>id</c> is null without history.</summary>
internal sealed record PublishedResponse(string Channel, long Receivers, string? Id);

/// <summary>The answer to a GitHub delivery that was published.</summary>
internal sealed record GitHubPublishedResponse(string Channel, long Receivers, string Summary, string? Id);

/// <summary>The answer to a GitHub delivery acknowledged without publishing (202, or 200 for a redelivery).</summary>
internal sealed record GitHubAcceptedResponse(bool Published, string Reason);

/// <summary>Every error is <c>application/problem+json</c> whose <c>detail</c> says what to fix.</summary>
internal static class GatewayResults
{
    public static IResult Problem(int status, string detail) => Results.Problem(detail: detail, statusCode: status);

    public static IResult Unauthorized(HttpContext context, string detail)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Problem(StatusCodes.Status401Unauthorized, detail);
    }

    public static IResult TooLarge(int limit) => Problem(StatusCodes.Status413PayloadTooLarge,
        string.Create(CultureInfo.InvariantCulture, $"the request body is larger than the limit of {limit} bytes"));

    /// <summary>
    /// 201 only for a PUBLISH the server answered; 503 + Retry-After when it is unreachable or did
    /// not answer; 403 when the server's ACL refuses the channel (NOPERM); 502 for another error.
    /// </summary>
    public static IResult FromOutcome(HttpContext context, PublishOutcome outcome, int retryAfterSeconds, Func<PublishOutcome, object> published)
    {
        context.RequestServices.GetService<Metrics.GatewayMetrics>()?.Published(context, outcome.Status);
        switch (outcome.Status)
        {
            case PublishStatus.Published:
                return Results.Json(published(outcome), statusCode: StatusCodes.Status201Created);
            case PublishStatus.Forbidden:
                return Problem(StatusCodes.Status403Forbidden, $"not published: {outcome.Reason}");
            case PublishStatus.Refused:
                return Problem(StatusCodes.Status502BadGateway, $"not published: {outcome.Reason}");
            default:
                context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return Problem(StatusCodes.Status503ServiceUnavailable, $"not published: {outcome.Reason}");
        }
    }
}
