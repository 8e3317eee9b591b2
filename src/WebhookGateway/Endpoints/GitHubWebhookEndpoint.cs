using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Notistream.Gateway.Dashboard;
using Notistream.Gateway.GitHub;
using Notistream.Gateway.Logging;
using Notistream.Gateway.Options;
using Notistream.Gateway.Publishing;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// <c>POST /github</c>. Octokit's <c>MapGitHubWebhooks</c> is not used as the endpoint because it
/// accepts unsigned posts when no secret is set, answers 400 to form-encoded deliveries and 500
/// to payloads its strict models refuse, and has no body cap. Here every exit has its own status:
/// 403 no secret configured, 413 too large, 401 bad signature, 400 malformed, 415 other content
/// types, 202 acknowledged but not published, 200 redelivery, 201 published, 503/502 as for any publish.
/// The signature is checked on the raw bytes before anything parses them.
/// </summary>
internal sealed class GitHubWebhookEndpoint
{
    private const string EventHeader = "X-GitHub-Event";
    private const string DeliveryHeader = "X-GitHub-Delivery";

    private readonly GatewayOptions _options;
    private readonly GitHubSignature? _signature;
    private readonly IMessagePublisher _publisher;
    private readonly DeliveryDeduplicator _deliveries;
    private readonly GitHubEventSummarizer _summarizer;
    private readonly ILogger<GitHubWebhookEndpoint> _logger;
    private readonly Metrics.GatewayMetrics? _metrics;
    private readonly DashboardCounters? _dashboard;

    public GitHubWebhookEndpoint(IOptions<GatewayOptions> options, IMessagePublisher publisher,
        GitHubEventSummarizer summarizer, ILogger<GitHubWebhookEndpoint> logger, Metrics.GatewayMetrics? metrics = null,
        DashboardCounters? dashboard = null)
    {
        _metrics = metrics;
        _dashboard = dashboard;
        _options = options.Value;
        _signature = string.IsNullOrEmpty(_options.GitHubWebhookSecret) ? null : new GitHubSignature(_options.GitHubWebhookSecret);
        _publisher = publisher;
        _deliveries = new DeliveryDeduplicator(_options.DeliveryIdsRemembered);
        _summarizer = summarizer;
        _logger = logger;
    }

    public bool HasSecret => _signature is not null;

    /// <summary>
    /// Handles a delivery, and lists it on the dashboard with its repository, channel and status when its signature
    /// verified; one that did not is only counted: its headers are anyone's to choose, and twenty of them would push
    /// the real deliveries out of the list.
    /// </summary>
    public async Task<IResult> HandleAsync(HttpContext context)
    {
        var note = new DeliveryNote();
        var result = await HandleAsync(context, note).ConfigureAwait(false);
        if (_dashboard is not { } dashboard)
        {
            return result;
        }

        if (note.Verification != "verified")
        {
            dashboard.GitHubRejected();
            return result;
        }

        var headers = context.Request.Headers;
        dashboard.GitHubDelivery(new GitHubDeliveryRecord(DateTimeOffset.UtcNow, DashboardCounters.Clip(headers[EventHeader].ToString()),
            DashboardCounters.Clip(note.Repository), DashboardCounters.Clip(headers[DeliveryHeader].ToString()), note.Verification,
            DashboardCounters.Clip(note.Channel), (result as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK));
        return result;
    }

    private async Task<IResult> HandleAsync(HttpContext context, DeliveryNote note)
    {
        var request = context.Request;
        var eventName = request.Headers[EventHeader].ToString();
        var delivery = request.Headers[DeliveryHeader].ToString() is { Length: > 0 } id ? id : null;
        if (_signature is null)
        {
            Webhook(note, eventName, "missing_secret");
            return Refuse(StatusCodes.Status403Forbidden, delivery, eventName,
                "GitHub webhooks are disabled on this gateway: GITHUB_WEBHOOK_SECRET is not set, and unsigned deliveries are refused");
        }

        var body = await RequestBody.ReadAsync(request, _options.MaxGitHubBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            Webhook(note, eventName, "too_large");
            GatewayLog.GitHubRefused(_logger, delivery, eventName, "body over the size limit");
            return GatewayResults.TooLarge(_options.MaxGitHubBodyBytes);
        }

        var signatureHeader = request.Headers[GitHubSignature.HeaderName].ToString();
        if (signatureHeader.Length == 0)
        {
            Webhook(note, eventName, "missing_signature");
            return Refuse(StatusCodes.Status401Unauthorized, delivery, eventName,
                $"the {GitHubSignature.HeaderName} header is missing: set the webhook's secret on GitHub");
        }

        if (!_signature.IsValid(signatureHeader, body))
        {
            Webhook(note, eventName, "bad_signature");
            return Refuse(StatusCodes.Status401Unauthorized, delivery, eventName,
                $"the {GitHubSignature.HeaderName} signature does not match the body and the configured secret");
        }

        Webhook(note, eventName, "verified");
        if (eventName.Length == 0)
        {
            return Refuse(StatusCodes.Status400BadRequest, delivery, eventName, $"the {EventHeader} header is missing");
        }

        var (json, formatError, formatStatus) = await PayloadAsync(request.ContentType, body).ConfigureAwait(false);
        if (json is null)
        {
            return Refuse(formatStatus, delivery, eventName, formatError!);
        }

        if (JsonBody.Parse(Encoding.UTF8.GetBytes(json), "the payload", out var jsonError) is not { } document)
        {
            return Refuse(StatusCodes.Status400BadRequest, delivery, eventName, jsonError!);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Refuse(StatusCodes.Status400BadRequest, delivery, eventName, "the payload is not a JSON object");
            }

            return await PublishAsync(context, eventName, delivery, json, document.RootElement, note).ConfigureAwait(false);
        }
    }

    private async Task<IResult> PublishAsync(HttpContext context, string eventName, string? delivery, string json, JsonElement root, DeliveryNote note)
    {
        note.Repository = Repository(root);
        var result = _summarizer.Summarize(eventName, delivery, json, root);
        if (result.Summary is not { } summary)
        {
            GatewayLog.GitHubIgnored(_logger, delivery, eventName, root.TryGetProperty("action", out var a) ? a.ToString() : null, result.IgnoredReason!);
            return Results.Json(new GitHubAcceptedResponse(false, result.IgnoredReason!), statusCode: StatusCodes.Status202Accepted);
        }

        note.Channel = summary.Channel;
        if (result.FallbackCause is { } cause)
        {
            GatewayLog.GitHubFallbackSummary(_logger, delivery, eventName, cause);
        }

        if (delivery is not null)
        {
            switch (_deliveries.TryClaim(delivery))
            {
                case DeliveryClaim.AlreadyPublished:
                    GatewayLog.GitHubDuplicate(_logger, delivery, eventName);
                    return Results.Json(new GitHubAcceptedResponse(false, "this delivery was published already"), statusCode: StatusCodes.Status200OK);
                case DeliveryClaim.InProgress:
                    return Refuse(StatusCodes.Status409Conflict, delivery, eventName, "this delivery is being published by another request");
            }
        }

        var outcome = await _publisher.PublishAsync(summary.Channel, Encoding.UTF8.GetBytes(summary.Text), "github:" + eventName).ConfigureAwait(false);
        if (delivery is not null)
        {
            if (outcome.Status == PublishStatus.Published)
            {
                _deliveries.Published(delivery);
            }
            else
            {
                _deliveries.Abandon(delivery);
            }
        }

        return GatewayResults.FromOutcome(context, outcome, _options.RetryAfterSeconds,
            published => new GitHubPublishedResponse(summary.Channel, published.Receivers, summary.Text, published.Id));
    }

    /// <summary>The JSON text of a delivery: the body itself, or the <c>payload</c> field of a form.</summary>
    private async Task<(string? Json, string? Error, int Status)> PayloadAsync(string? contentType, byte[] body)
    {
        MediaTypeHeaderValue.TryParse(contentType, out var media);
        var mediaType = media?.MediaType.Value?.ToLowerInvariant();
        if (mediaType == "application/json")
        {
            return (Encoding.UTF8.GetString(body), null, 0);
        }

        if (mediaType != "application/x-www-form-urlencoded")
        {
            return (null, "GitHub deliveries are application/json or application/x-www-form-urlencoded", StatusCodes.Status415UnsupportedMediaType);
        }

        using var reader = new FormReader(new MemoryStream(body, writable: false), Encoding.UTF8)
        {
            ValueLengthLimit = _options.MaxGitHubBodyBytes,
            ValueCountLimit = 64,
        };
        Dictionary<string, Microsoft.Extensions.Primitives.StringValues> fields;
        try
        {
            fields = await reader.ReadFormAsync().ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            return (null, $"the form is malformed: {ex.Message}", StatusCodes.Status400BadRequest);
        }

        return fields.TryGetValue("payload", out var payload) && payload.Count == 1 && !string.IsNullOrEmpty(payload[0])
            ? (payload[0], null, 0)
            : (null, "a form-encoded delivery needs exactly one non-empty 'payload' field", StatusCodes.Status400BadRequest);
    }

    private void Webhook(DeliveryNote note, string eventName, string verification)
    {
        note.Verification = verification;
        _metrics?.Webhook(eventName, verification);
    }

    /// <summary>The payload's <c>repository.full_name</c>, else its <c>organization.login</c> (an organization's hook).</summary>
    private static string? Repository(JsonElement root)
    {
        if (root.TryGetProperty("repository", out var repository) && repository.ValueKind == JsonValueKind.Object
            && repository.TryGetProperty("full_name", out var name) && name.ValueKind == JsonValueKind.String)
        {
            return name.GetString();
        }

        return root.TryGetProperty("organization", out var organization) && organization.ValueKind == JsonValueKind.Object
            && organization.TryGetProperty("login", out var login) && login.ValueKind == JsonValueKind.String
            ? login.GetString()
            : null;
    }

    /// <summary>What one delivery's handling learnt, for its line on the dashboard.</summary>
    private sealed class DeliveryNote
    {
        public string Verification { get; set; } = "unchecked";

        public string? Repository { get; set; }

        public string? Channel { get; set; }
    }

    private IResult Refuse(int status, string? delivery, string? eventName, string reason)
    {
        GatewayLog.GitHubRefused(_logger, delivery, eventName, reason);
        return GatewayResults.Problem(status, reason);
    }
}
