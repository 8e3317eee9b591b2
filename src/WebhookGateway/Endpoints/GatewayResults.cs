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

    /// <summary>
    /// The problem with ntfy's error fields beside <c>detail</c> — <c>code</c> (left out when 0), <c>http</c>,
    /// <c>error</c>, <c>link</c> (when ntfy has one) — so ntfy's clients read it as one of ntfy's errors.
    /// </summary>
    public static IResult Problem(int status, string detail, NtfyError ntfy)
    {
        var extensions = new Dictionary<string, object?>(4);
        if (ntfy.Code != 0)
        {
            extensions["code"] = ntfy.Code;
        }

        extensions["http"] = status;
        extensions["error"] = ntfy.Error;
        if (ntfy.Link is not null)
        {
            extensions["link"] = ntfy.Link;
        }

        return Results.Problem(detail: detail, statusCode: status, extensions: extensions);
    }

    public static IResult Unauthorized(HttpContext context, string detail)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return Problem(StatusCodes.Status401Unauthorized, detail, NtfyError.Unauthorized);
    }

    public static IResult TooLarge(int limit) => Problem(StatusCodes.Status413PayloadTooLarge,
        string.Create(CultureInfo.InvariantCulture, $"the request body is larger than the limit of {limit} bytes"));

    /// <summary>
    /// 201 only for a PUBLISH the server answered; 503 + Retry-After when it is unreachable or did
    /// not answer; 403 when the server's ACL refuses the channel (NOPERM); 502 for another error.
    /// </summary>
    public static IResult FromOutcome(HttpContext context, PublishOutcome outcome, int retryAfterSeconds, Func<PublishOutcome, object> published)
        => FromOutcome(context, outcome, retryAfterSeconds, published, StatusCodes.Status201Created, ntfyErrors: false);

    /// <param name="publishedStatus">201, or ntfy's 200 on the routes ntfy's clients alone use.</param>
    /// <param name="ntfyErrors">Whether the errors carry ntfy's fields (<see cref="Problem(int, string, NtfyError)"/>).</param>
    public static IResult FromOutcome(HttpContext context, PublishOutcome outcome, int retryAfterSeconds, Func<PublishOutcome, object> published,
        int publishedStatus, bool ntfyErrors)
    {
        context.RequestServices.GetService<Metrics.GatewayMetrics>()?.Published(context, outcome.Status);
        switch (outcome.Status)
        {
            case PublishStatus.Published:
                return Results.Json(published(outcome), statusCode: publishedStatus);
            case PublishStatus.Forbidden:
                return Failed(StatusCodes.Status403Forbidden, $"not published: {outcome.Reason}", NtfyError.Forbidden);
            case PublishStatus.Refused:
                return Failed(StatusCodes.Status502BadGateway, $"not published: {outcome.Reason}", null);
            default:
                context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return Failed(StatusCodes.Status503ServiceUnavailable, $"not published: {outcome.Reason}", null);
        }

        IResult Failed(int status, string detail, NtfyError? ntfy) => ntfyErrors
            ? Problem(status, detail, ntfy ?? NtfyError.Uncoded(detail))
            : Problem(status, detail);
    }
}
