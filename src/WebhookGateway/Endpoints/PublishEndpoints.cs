using System.Text.Json;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Publishing;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// <c>POST /</c> (form fields or JSON <c>channel</c> + <c>message</c>, or ntfy's JSON with <c>topic</c>) and
/// <c>POST /{channel}</c> (the raw body is the message; the channel may contain slashes), and ntfy's
/// other publish routes: <c>PUT /</c>, <c>PUT /{channel}</c>, <c>GET /{channel}/publish</c> (or <c>send</c>,
/// <c>trigger</c>), with ntfy's headers and query parameters (<see cref="NtfyRequest"/>). Checks run
/// cheapest first: token (401/403), content type (415), size (413), fields (400), the token's
/// channel scope (403), then the PUBLISH itself. For <c>/{channel}</c> the channel (400, then scope
/// 403) and the ntfy parameters (400) are checked before the body is read.
/// <para>
/// What is published for an ntfy request is <see cref="NtfyPayload"/>'s: the body itself when only a
/// message was given. Every <c>/{channel}</c> route answers ntfy's 200 (ntfy's CLI takes anything else for a
/// failure); <c>POST /</c> with form fields or <c>{"channel"…}</c> answers 201 as it always has. The body of
/// an ntfy route's answer is ntfy's message JSON (<see cref="NtfyPublishedResponse"/>).
/// </para>
/// </summary>
internal static class PublishEndpoints
{
    public static IEndpointRouteBuilder MapPublishEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup(string.Empty)
            .AddEndpointFilter<PublishTokenFilter>()
            .RequireRateLimiting(GatewayRateLimiting.PolicyName);
        group.MapPost("/", PostFieldsAsync);
        group.MapPut("/", PostFieldsAsync);
        group.MapPost("/{**channel}", PostRawAsync);
        group.MapPut("/{**channel}", PutRawAsync);
        foreach (var verb in (string[])["publish", "send", "trigger"])
        {
            // ntfy's own pattern: a topic is one path segment here.
            group.MapGet($"/{{channel}}/{verb}", GetAsync);
        }

        return routes;
    }

    private static async Task<IResult> PostFieldsAsync(HttpContext context, IMessagePublisher publisher, IOptions<GatewayOptions> options)
    {
        var settings = options.Value;
        var request = context.Request;
        var format = PublishRequest.BodyFormat(request.ContentType);
        var body = await RequestBody.ReadAsync(request, settings.MaxMessageBytes, context.RequestAborted).ConfigureAwait(false);
        // ntfy's clients send their JSON as it comes (curl -d: a form type; scripts: none): an object is JSON.
        if (format != "json" && body is not null && StartsAnObject(body))
        {
            format = "json";
        }

        if (format is null)
        {
            return GatewayResults.Problem(StatusCodes.Status415UnsupportedMediaType,
                "POST / takes form fields channel and message (application/x-www-form-urlencoded or multipart/form-data) " +
                "or JSON {\"channel\": …, \"message\": …}; to publish a raw body, POST /{channel}");
        }

        if (body is null)
        {
            return GatewayResults.TooLarge(settings.MaxMessageBytes);
        }

        PublishRequest parsed;
        if (format == "json")
        {
            if (IsNtfyJson(body))
            {
                return await PublishNtfyJsonAsync(context, publisher, settings, body).ConfigureAwait(false);
            }

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

    private static Task<IResult> PostRawAsync(string channel, HttpContext context, IMessagePublisher publisher, IOptions<GatewayOptions> options)
        => PublishRawAsync(channel, context, publisher, options.Value, StatusCodes.Status200OK);

    private static Task<IResult> PutRawAsync(string channel, HttpContext context, IMessagePublisher publisher, IOptions<GatewayOptions> options)
        => PublishRawAsync(channel, context, publisher, options.Value, StatusCodes.Status200OK);

    /// <summary>POST or PUT /{channel}: the body is the message; ntfy's headers and parameters may add to it.</summary>
    private static async Task<IResult> PublishRawAsync(string channel, HttpContext context, IMessagePublisher publisher, GatewayOptions settings, int publishedStatus)
    {
        if (CheckChannel(context, channel, settings) is { } refused)
        {
            return refused;
        }

        if (NtfyRequest.FromParameters(context.Request, settings.MaxMessageBytes, out var fields, out var priority) is { } problem)
        {
            return problem.ToResult();
        }

        var body = await RequestBody.ReadAsync(context.Request, settings.MaxMessageBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return GatewayResults.Problem(StatusCodes.Status413PayloadTooLarge,
                $"the request body is larger than the limit of {settings.MaxMessageBytes} bytes",
                NtfyError.Uncoded($"the request body is larger than the limit of {settings.MaxMessageBytes} bytes"));
        }

        return await PublishNtfyAsync(context, publisher, settings, channel, fields, priority, body, "body", publishedStatus).ConfigureAwait(false);
    }

    /// <summary>GET /{channel}/publish?message=…: for tools that can only send GETs; ntfy's 200.</summary>
    private static async Task<IResult> GetAsync(string channel, HttpContext context, IMessagePublisher publisher, IOptions<GatewayOptions> options)
    {
        var settings = options.Value;
        if (CheckChannel(context, channel, settings) is { } refused)
        {
            return refused;
        }

        if (NtfyRequest.FromParameters(context.Request, settings.MaxMessageBytes, out var fields, out var priority) is { } problem)
        {
            return problem.ToResult();
        }

        return await PublishNtfyAsync(context, publisher, settings, channel, fields, priority, [], "query", StatusCodes.Status200OK).ConfigureAwait(false);
    }

    /// <summary>ntfy's JSON to <c>/</c>: its <c>topic</c> is the channel; ntfy's 200.</summary>
    private static async Task<IResult> PublishNtfyJsonAsync(HttpContext context, IMessagePublisher publisher, GatewayOptions settings, byte[] body)
    {
        using var document = JsonBody.Parse(body, "the body", out _)!; // IsNtfyJson parsed it already
        if (NtfyRequest.FromJson(document.RootElement, settings, out var topic, out var fields, out var priority) is { } problem)
        {
            return problem.ToResult();
        }

        if (PublishTokenFilter.ForbiddenChannel(context, topic) is { } forbidden)
        {
            return forbidden;
        }

        return await PublishNtfyAsync(context, publisher, settings, topic, fields, priority, [], "ntfy-json", StatusCodes.Status200OK).ConfigureAwait(false);
    }

    private static IResult? CheckChannel(HttpContext context, string channel, GatewayOptions settings)
    {
        if (PublishRequest.ChannelError(channel, settings.MaxChannelBytes) is { } error)
        {
            return GatewayResults.Problem(StatusCodes.Status400BadRequest, error, NtfyError.TopicInvalid.Wrap(error));
        }

        return PublishTokenFilter.ForbiddenChannel(context, channel);
    }

    /// <summary>
    /// Publishes <paramref name="body"/> (or, when it is empty, the message the parameters gave) as
    /// <see cref="NtfyPayload.Encode"/> says: byte for byte when nothing else was given; otherwise the
    /// message must be UTF-8 text (ntfy's 40011) to go into the JSON.
    /// </summary>
    private static async Task<IResult> PublishNtfyAsync(HttpContext context, IMessagePublisher publisher, GatewayOptions settings,
        string channel, NtfyFields fields, int? priority, byte[] body, string source, int publishedStatus)
    {
        NtfyFields sent;
        byte[] payload;
        if (body.Length > 0 && fields.IsPlain)
        {
            // The body wins over a Message parameter, as in ntfy.
            (sent, payload) = (fields with { Message = null }, body);
        }
        else if (body.Length > 0)
        {
            if (!NtfyRequest.TryDecodeUtf8(body, out var text))
            {
                return new NtfyProblem(StatusCodes.Status400BadRequest,
                    "the message must be UTF-8 text to go with a title, priority, tags, click, icon or markdown",
                    NtfyError.MessageNotUtf8).ToResult();
            }

            sent = fields with { Message = text };
            payload = NtfyPayload.Encode(sent);
        }
        else if (fields.Message is not null)
        {
            (sent, payload) = (fields, NtfyPayload.Encode(fields));
        }
        else
        {
            return NtfyProblem.BadRequest("message is empty: the request body is the message, or give Message (X-Message, ?message=, ?m=)").ToResult();
        }

        var outcome = await publisher.PublishAsync(channel, payload, source).ConfigureAwait(false);
        return GatewayResults.FromOutcome(context, outcome, settings.RetryAfterSeconds,
            published => NtfyPublishedResponse.Create(published, channel, sent, priority, payload),
            publishedStatus, ntfyErrors: true);
    }

    private static bool StartsAnObject(byte[] body)
    {
        foreach (var b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return b == (byte)'{';
            }
        }

        return false;
    }

    /// <summary>A JSON object with ntfy's <c>topic</c> and without our <c>channel</c> (which keeps today's meaning).</summary>
    private static bool IsNtfyJson(byte[] body)
    {
        using var document = JsonBody.Parse(body, "the body", out _);
        return document is { RootElement.ValueKind: JsonValueKind.Object } d
            && d.RootElement.TryGetProperty("topic", out _)
            && !d.RootElement.TryGetProperty("channel", out _);
    }

    private static async Task<IResult> PublishAsync(HttpContext context, IMessagePublisher publisher, GatewayOptions settings,
        string channel, ReadOnlyMemory<byte> message, string source)
    {
        var outcome = await publisher.PublishAsync(channel, message, source).ConfigureAwait(false);
        return GatewayResults.FromOutcome(context, outcome, settings.RetryAfterSeconds,
            published => new PublishedResponse(channel, published.Receivers, published.Id));
    }
}
