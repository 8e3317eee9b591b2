using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Subscribing;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.Endpoints;

/// <summary>
/// Subscribing over HTTP, as ntfy's subscribe API: <c>GET /{channels}/json</c> (a JSON object per line),
/// <c>/sse</c> (Server-Sent Events, <c>id:</c> on every message), <c>/raw</c> (a message's text per line) and
/// <c>/ws</c> (WebSocket, a JSON text frame per event). <c>{channels}</c> is one path segment, a
/// comma-separated list of channels and patterns; a <c>/</c> in a channel is written <c>%2F</c>, read from
/// the raw request target so that <c>%252F</c> stays a literal <c>%2F</c>. Checks, cheapest first: URL
/// length (414), channels and parameters (400), token and its read scope (401/403), WebSocket upgrade
/// (400), subscriber limit (429), then NOTI.SUBSCRIBE (403 for the server's NOPERM, 400 for a channel
/// without history, 502 for another refusal, 503 when the server is unreachable). Errors are ntfy's JSON
/// <c>{"code","http","error","link"}</c>.
/// </summary>
internal static class SubscribeEndpoints
{
    /// <summary>The writer loop flushes after this many bytes written, at the latest.</summary>
    internal const int FlushBytes = 64 * 1024;

    /// <summary>The writer loop flushes after this many events written, at the latest.</summary>
    internal const int FlushEvents = 64;

    private static readonly string[] _formats = ["json", "sse", "raw", "ws"];

    public static IEndpointRouteBuilder MapSubscribeEndpoints(this IEndpointRouteBuilder routes)
    {
        var options = routes.ServiceProvider.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var state = new SubscribeState(options, new PublishTokenSet(options), new SubscriberLimit(options.Subscribe.MaxSubscribers),
            routes.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SubscribeEndpoints).FullName!),
            routes.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System,
            routes.ServiceProvider.GetRequiredService<Dashboard.DashboardCounters>());
        foreach (var format in _formats)
        {
            routes.MapGet("/{topics}/" + format, (HttpContext context) => HandleAsync(context, format, state));
        }

        return routes;
    }

    private sealed record SubscribeState(GatewayOptions Options, PublishTokenSet Tokens, SubscriberLimit Limit, ILogger Logger, TimeProvider Time,
        Dashboard.DashboardCounters Counters);

    private static async Task HandleAsync(HttpContext context, string format, SubscribeState state)
    {
        var settings = state.Options;
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? string.Empty;
        if (Encoding.UTF8.GetByteCount(rawTarget) > settings.Subscribe.MaxUrlBytes)
        {
            await WriteErrorAsync(context, new SubscribeError(414, 41401, $"the request target is longer than {settings.Subscribe.MaxUrlBytes} bytes")).ConfigureAwait(false);
            return;
        }

        if (SubscribeRequest.TopicsSegment(rawTarget) is not { } rawTopics)
        {
            await WriteErrorAsync(context, new SubscribeError(400, 40009, "invalid request: topic invalid")).ConfigureAwait(false);
            return;
        }

        var request = SubscribeRequest.Parse(context.Request, rawTopics, settings.Subscribe.MaxChannels, settings.MaxChannelBytes, state.Time, out var invalid);
        if (invalid is null)
        {
            invalid = Authorize(context, state.Tokens, request);
        }

        if (invalid is null && format == "ws" && !context.WebSockets.IsWebSocketRequest)
        {
            invalid = new SubscribeError(400, 40016, "invalid request: client not using the websocket protocol", "https://ntfy.sh/docs/subscribe/api/#websockets");
        }

        if (invalid is not null)
        {
            await WriteErrorAsync(context, invalid).ConfigureAwait(false);
            return;
        }

        if (!state.Limit.TryEnter())
        {
            SubscribeLog.Refused(state.Logger, $"{settings.Subscribe.MaxSubscribers} subscribers already (Subscribe:MaxSubscribers)");
            await WriteErrorAsync(context, new SubscribeError(429, 42903, "limit reached: too many active subscriptions", "https://ntfy.sh/docs/publish/#limitations")).ConfigureAwait(false);
            return;
        }

        try
        {
            await ServeAsync(context, format, state, request).ConfigureAwait(false);
        }
        finally
        {
            state.Limit.Leave();
        }
    }

    /// <summary>
    /// With tokens configured, a token with read access to every channel listed (by its patterns) and every
    /// pattern listed (only as <see cref="PublishGrant.AllowsPattern"/> decides: conservatively). The token
    /// comes as <c>Authorization: Bearer</c>, as Basic with the token as password, or as <c>?auth=</c> (the
    /// Authorization value in unpadded base64url), as ntfy takes them.
    /// </summary>
    private static SubscribeError? Authorize(HttpContext context, PublishTokenSet tokens, SubscribeRequest request)
    {
        if (!tokens.IsRequired)
        {
            return null;
        }

        var token = PresentedToken(context.Request);
        if (token is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return new SubscribeError(401, 40101, "unauthorized: a token with read access is required (Authorization: Bearer <token>, or ?auth=)", "https://ntfy.sh/docs/publish/#authentication");
        }

        if (tokens.FindRead(token) is not { } grant)
        {
            return new SubscribeError(403, 40301, "forbidden: the token is wrong", "https://ntfy.sh/docs/publish/#authentication");
        }

        foreach (var channel in request.Channels)
        {
            if (!grant.Allows(channel))
            {
                return new SubscribeError(403, 40301, $"forbidden: this token may not subscribe to '{channel}'");
            }
        }

        foreach (var pattern in request.Patterns)
        {
            if (!grant.AllowsPattern(pattern))
            {
                return new SubscribeError(403, 40301, $"forbidden: this token may not subscribe to the pattern '{pattern}' (a pattern needs one of the token's, or one that covers it as 'prefix*')");
            }
        }

        return null;
    }

    /// <summary>The token a request presents, in any of the forms <see cref="Authorize"/> takes; null without one.</summary>
    internal static string? PresentedToken(HttpRequest request)
    {
        var value = request.Headers.Authorization.ToString().Trim();
        var query = request.Query["auth"].ToString().Trim();
        if (query.Length == 0)
        {
            query = request.Query["authorization"].ToString().Trim();
        }

        if (query.Length > 0)
        {
            try
            {
                value = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(query.TrimEnd('='))).Trim();
            }
            catch (FormatException)
            {
                return null;
            }
        }

        if (value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = value["Bearer ".Length..].Trim();
            return token.Length > 0 ? token : null;
        }

        if (value.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(value["Basic ".Length..].Trim()));
                var colon = pair.IndexOf(':');
                var password = colon < 0 ? string.Empty : pair[(colon + 1)..];
                return password.Length > 0 ? password : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return null;
    }

    private static async Task ServeAsync(HttpContext context, string format, SubscribeState state, SubscribeRequest request)
    {
        HttpSubscription subscription;
        try
        {
            subscription = await HttpSubscription.OpenAsync(state.Options, request, context.Abort, context.RequestAborted, state.Logger).ConfigureAwait(false);
        }
        catch (FollowRefusedException ex)
        {
            SubscribeLog.Refused(state.Logger, ex.Message);
            var error = ex.Message.StartsWith("NOPERM", StringComparison.Ordinal)
                ? new SubscribeError(403, 40301, $"forbidden: the gateway's server user may not subscribe to these channels ({ex.Message})")
                : ex.Message.Contains("keeps no history", StringComparison.Ordinal)
                    ? new SubscribeError(400, 40009, $"invalid request: {ex.Message}")
                    : new SubscribeError(502, 50201, $"the pub/sub server refused the subscription: {ex.Message}");
            await WriteErrorAsync(context, error).ConfigureAwait(false);
            return;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or InvalidDataException
            or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            SubscribeLog.Refused(state.Logger, ex.Message);
            context.Response.Headers.RetryAfter = state.Options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await WriteErrorAsync(context, new SubscribeError(503, 50301, $"not connected to the pub/sub server: {ex.Message}")).ConfigureAwait(false);
            return;
        }

        await using (subscription.ConfigureAwait(false))
        {
            SubscribeLog.Opened(state.Logger, format, request.Topics, request.Start.From);
            var reason = "the subscriber left";
            // A stream ends when its client leaves, and when the gateway stops: Kestrel's shutdown waits for
            // every request, and a subscription would otherwise hold it until its client went away.
            var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            state.Counters.SubscriberOpened(format);
            try
            {
                reason = format == "ws"
                    ? await StreamWebSocketAsync(context, state, request, subscription, stopping).ConfigureAwait(false)
                    : await StreamHttpAsync(context, format, state, request, subscription, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
            {
                reason = "the gateway is stopping";
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or WebSocketException or ObjectDisposedException)
            {
                // The client went away (or was cut off) mid-write.
            }
            finally
            {
                state.Counters.SubscriberClosed(format);
            }

            if (subscription.CutOffAsSlow)
            {
                state.Counters.SubscriberCutOff();
                SubscribeLog.CutOff(state.Logger, format, request.Topics, subscription.EndReason!);
            }
            else
            {
                SubscribeLog.Ended(state.Logger, format, request.Topics, reason);
            }
        }
    }

    private static async Task<string> StreamHttpAsync(HttpContext context, string format, SubscribeState state, SubscribeRequest request, HttpSubscription subscription, CancellationToken stopping)
    {
        using var streaming = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var response = context.Response;
        response.ContentType = format switch
        {
            "sse" => "text/event-stream; charset=utf-8",
            "raw" => "text/plain; charset=utf-8",
            _ => "application/x-ndjson; charset=utf-8",
        };
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass each event on at once
        var body = response.BodyWriter;
        var encoder = new EventEncoder();
        return await PumpAsync(state, request, subscription, message =>
        {
            var bytes = encoder.Encode(format, message).Span;
            body.Write(bytes);
            return ValueTask.FromResult(bytes.Length);
        }, async cancellationToken => await body.FlushAsync(cancellationToken).ConfigureAwait(false), streaming.Token).ConfigureAwait(false);
    }

    private static async Task<string> StreamWebSocketAsync(HttpContext context, SubscribeState state, SubscribeRequest request, HttpSubscription subscription, CancellationToken stopping)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);

        // The client sends nothing we use; reading is how its close (or loss) is seen.
        var receiving = Task.Run(async () =>
        {
            var buffer = new byte[1024];
            try
            {
                while (true)
                {
                    var received = await socket.ReceiveAsync(buffer, closed.Token).ConfigureAwait(false);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or IOException)
            {
            }
            finally
            {
                await closed.CancelAsync().ConfigureAwait(false);
            }
        });

        var reason = "the subscriber left";
        var encoder = new EventEncoder();
        using var pumping = CancellationTokenSource.CreateLinkedTokenSource(closed.Token, stopping);
        try
        {
            reason = await PumpAsync(state, request, subscription,
                async message =>
                {
                    // A WebSocket send completes only as the socket takes it: it flushes, so there is nothing to count.
                    await socket.SendAsync(encoder.Encode("ws", message), WebSocketMessageType.Text, endOfMessage: true, closed.Token).ConfigureAwait(false);
                    return 0;
                },
                _ => Task.CompletedTask, pumping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (closed.IsCancellationRequested)
        {
            // The client closed (or went away).
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            reason = "the gateway is stopping"; // the close below says so (1001, going away)
        }

        // Our close: in answer to the client's, or first when the stream ended here (poll, server gone). The
        // receive loop then sees the client's answer; cancelling a receive would abort the socket instead.
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await socket.CloseOutputAsync(stopping.IsCancellationRequested ? WebSocketCloseStatus.EndpointUnavailable : WebSocketCloseStatus.NormalClosure,
                    null, grace.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or IOException)
            {
            }
        }

        await Task.WhenAny(receiving, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
        await closed.CancelAsync().ConfigureAwait(false);
        await receiving.ConfigureAwait(false);
        return reason;
    }

    /// <summary>
    /// The writer loop: <c>open</c> (unless polling), then the queue's events through the filters, flushed
    /// whenever the queue is empty and every <see cref="FlushEvents"/> events or <see cref="FlushBytes"/> bytes, and a <c>keepalive</c> after each <see cref="SubscribeOptions.KeepaliveSeconds"/>
    /// without output. Returns why it ended.
    /// </summary>
    private static Task<string> PumpAsync(SubscribeState state, SubscribeRequest request, HttpSubscription subscription,
        Func<NtfyMessage, ValueTask<int>> write, Func<CancellationToken, Task> flush, CancellationToken cancellationToken) =>
        PumpEventsAsync(request, subscription.Events, () => subscription.EndReason, subscription.From, subscription.Last, state.Time,
            TimeSpan.FromSeconds(state.Options.Subscribe.KeepaliveSeconds), state.Counters.MessageDelivered, write, flush, cancellationToken);

    /// <summary><see cref="PumpAsync"/> on its parts: <paramref name="write"/> answers the bytes it wrote unflushed.</summary>
    internal static async Task<string> PumpEventsAsync(SubscribeRequest request, ChannelReader<SubscriptionEvent> events, Func<string?> endReason,
        string? from, string? last, TimeProvider time, TimeSpan keepalive, Action delivered,
        Func<NtfyMessage, ValueTask<int>> write, Func<CancellationToken, Task> flush, CancellationToken cancellationToken)
    {
        if (!request.Poll)
        {
            // With catchup=1, ours besides ntfy's fields: where the server starts (its confirmed from), where the
            // catch-up ends, and how often a keepalive comes.
            var open = NtfyMessage.Control("open", request.Topics, time);
            await write(!request.CatchUpEvents ? open : new NtfyMessage
            {
                Id = open.Id, Time = open.Time, Event = open.Event, Topic = open.Topic, FromId = from, Last = last, Keepalive = keepalive.TotalSeconds,
            }).ConfigureAwait(false);
        }

        await flush(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            // Flushed every FlushEvents events or FlushBytes bytes, not only when the queue runs dry: a catch-up or a
            // steady stream keeps it from running dry, and what is written unflushed sits in Kestrel's pipe without
            // bound. Awaiting the flush is where a slow reader holds the loop back (and the queue fills, and the
            // slow-consumer cut-off can fire).
            var pendingBytes = 0L;
            var pendingEvents = 0;
            while (events.TryRead(out var item))
            {
                var message = item.IsCaughtUp ? NtfyMessage.Control("caughtup", request.Topics, time) : NtfyMessage.From(item, time);
                if (request.Filters.Pass(message))
                {
                    pendingBytes += await write(message).ConfigureAwait(false);
                    pendingEvents++;
                    if (message.IsMessage)
                    {
                        delivered();
                    }

                    if (pendingBytes >= FlushBytes || pendingEvents >= FlushEvents)
                    {
                        await flush(cancellationToken).ConfigureAwait(false);
                        (pendingBytes, pendingEvents) = (0, 0);
                    }
                }
            }

            await flush(cancellationToken).ConfigureAwait(false);
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (!request.Poll)
            {
                idle.CancelAfter(keepalive);
            }

            try
            {
                if (!await events.WaitToReadAsync(idle.Token).ConfigureAwait(false))
                {
                    return endReason() ?? "ended";
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await write(NtfyMessage.Control("keepalive", request.Topics, time)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One event in <paramref name="format"/>'s framing, as ntfy's encoders write it (SSE messages with <c>id:</c> too).</summary>
    internal static byte[] Encode(string format, NtfyMessage message) => new EventEncoder().Encode(format, message).ToArray();

    private static Task WriteErrorAsync(HttpContext context, SubscribeError error)
    {
        context.Response.StatusCode = error.Http;
        var body = new Dictionary<string, object> { ["code"] = error.Code, ["http"] = error.Http, ["error"] = error.Error };
        if (error.Link is not null)
        {
            body["link"] = error.Link;
        }

        return context.Response.WriteAsJsonAsync(body);
    }
}
