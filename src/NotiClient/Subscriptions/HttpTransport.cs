using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Notistream.Client.Config;
using Notistream.Client.Resume;

namespace Notistream.Client.Subscriptions;

/// <summary>An event the client cannot read, on a channel it names.</summary>
internal sealed class UnreadableEventException(string message, string channel) : Exception(message)
{
    public string Channel { get; } = channel;
}

/// <summary>The gateway answered a subscribe request with an error: what it said, and how long it asked us to wait.</summary>
internal sealed class HttpSubscribeException(string message, TimeSpan? retryAfter = null) : Exception(message)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The client over HTTP: <c>GET &lt;url&gt;/&lt;channels&gt;/json?since=&lt;cursor&gt;</c> on the webhook gateway, one
/// JSON object per line, for networks that let only HTTP(S) out. Each session hands what it reads to the
/// same <see cref="ResumeSession"/> as a NOTI.SUBSCRIBE over RESP does, so resume, gaps and the catch-up
/// behave the same; asked with <c>catchup=1</c>, the gateway's <c>open</c> event carries NOTI.SUBSCRIBE's confirmed
/// from (<c>from</c>: the server's correction of a cursor ahead of it), the server's last id (where the catch-up
/// ends) and its keepalive interval, and a <c>caughtup</c> event ends the catch-up.
/// </summary>
/// <remarks>
/// A session ends when the gateway ends the stream, the connection fails, anything else goes wrong while
/// reading (then the worker reconnects with backoff), or no line (not even a keepalive) comes for twice the
/// keepalive interval while the reader is not waiting for a slow output. An event that cannot be read (a line
/// over <see cref="MaxLineBytes"/>, not JSON, an id that is not <c>ms-seq</c>, bad base64) is skipped, said, and
/// handed on as a gap of unknown size on its channel (on every name followed when the line does not say
/// which): the stream goes on, and nothing is lost silently. Reading is pulled by the outputs (their queues
/// are bounded), so a slow output slows the stream instead of growing memory.
/// </remarks>
internal sealed partial class HttpTransport : IDisposable
{
    /// <summary>
    /// A longer line is skipped (as a gap). The server takes messages of any size up to its
    /// <c>proto-max-bulk-len</c>, and JSON escaping can make a line up to six times its message, so no bound
    /// holds every message; this one holds any message up to about 680 KiB however it escapes, and one of
    /// 4 MiB of plain text.
    /// </summary>
    public const int MaxLineBytes = 4 * 1024 * 1024;

    /// <summary>ntfy's keepalive interval: assumed when the server does not say its own.</summary>
    public static readonly TimeSpan DefaultKeepalive = TimeSpan.FromSeconds(45);

    /// <summary>The longest Retry-After honoured; a longer one is taken as this.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(10);

    private const int MaxErrorBodyBytes = 4096;

    private readonly ClientConfig _config;
    private readonly Uri _url;
    private readonly HttpClient _http;

    public HttpTransport(ClientConfig config)
    {
        _config = config;
        _url = config.Url ?? throw new ArgumentException("a URL is needed", nameof(config));
        _http = CreateClient(config);
    }

    /// <summary>
    /// HTTP/1.1, or HTTP/2 where TLS negotiates it; TLS checked as for RESP (<see cref="TlsSettings"/>: the CA file,
    /// a client certificate); the system's proxy settings (HTTPS_PROXY) apply; no overall timeout, the stream is long.
    /// </summary>
    public static HttpClient CreateClient(ClientConfig config)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = config.Connection.ConnectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            // HTTP/2 PINGs as well (the handler takes no less than a second).
            KeepAlivePingDelay = Max(config.Connection.KeepAliveInterval, TimeSpan.FromSeconds(1)),
            KeepAlivePingTimeout = Max(config.Connection.KeepAliveTimeout, TimeSpan.FromSeconds(1)),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            SslOptions = RawConnection.TlsOptions(config.Tls, null),
        };
        var client = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
            MaxResponseContentBufferSize = MaxErrorBodyBytes,
        };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("notistream", ProductVersion.Text.Split('+')[0]));
        return client;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// <c>&lt;url&gt;/&lt;a,b%2Fc,owner%2F*&gt;/json?since=&lt;from&gt;</c>: the channels and patterns as one path segment,
    /// each name percent-encoded (so a <c>/</c> is <c>%2F</c>; a <c>,</c> always separates names, even as <c>%2C</c>, as in
    /// ntfy, so a channel with a comma in its name cannot be followed over HTTP, as it cannot be named in the channel list);
    /// NOTI.SUBSCRIBE's <c>$</c> is <c>none</c>, <c>0</c> is <c>all</c>, an id is itself as <c>ms-seq</c> (a bare <c>ms</c>
    /// is <c>ms-0</c>, as NOTI.SUBSCRIBE reads it: never a bare number, which the gateway takes as seconds); <c>catchup=1</c> asks for the
    /// catch-up's end (<c>last</c> on <c>open</c>, a <c>caughtup</c> event), which ntfy's own servers ignore.
    /// </summary>
    public static Uri SubscribeUri(Uri baseUrl, IReadOnlyList<ChannelSpec> channels, string from)
    {
        var names = string.Join(',', channels.Select(c => Uri.EscapeDataString(c.Name)).Distinct(StringComparer.Ordinal));
        var since = from switch
        {
            "$" => "none",
            "0" => "all",
            // Always ms-seq: the gateway (as ntfy) reads a bare number as Unix seconds, NOTI.SUBSCRIBE a bare ms as ms-0.
            _ when MessageId.TryParse(from, out var id) => id.ToString(),
            _ => Uri.EscapeDataString(from),
        };
        return new Uri($"{ConfigValidation.FormatUrl(baseUrl)}/{names}/json?since={since}&catchup=1");
    }

    /// <summary>One subscribe request, from connect to its end; reports to <paramref name="observer"/>, throws nothing but cancellation-free.</summary>
    /// <returns>How long the gateway asked to wait before the next attempt (Retry-After), if it did.</returns>
    public async Task<TimeSpan?> RunSessionAsync(string endPoint, ResumePosition resume, IMessageTarget target, IConnectionObserver observer,
        TimeProvider time, Backoff backoff, IReadOnlySet<string> patterns, CancellationToken cancellationToken)
    {
        var connected = false;
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        HttpResponseMessage? response = null;
        Task? watchdog = null;
        Task? reading = null;
        try
        {
            var from = resume.From;
            response = await SendAsync(from, time, cancellationToken).ConfigureAwait(false);
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var reader = new BoundedLineReader(stream, MaxLineBytes);

            // The first line is the gateway's open event: where the catch-up ends, how often keepalives come.
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            handshake.CancelAfter(_config.Connection.ConnectTimeout * 2);
            StreamLine? first;
            try
            {
                first = await reader.ReadLineAsync(handshake.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException("the gateway sent no open event in time");
            }

            if (first is not { TooLong: false } firstLine)
            {
                throw new InvalidDataException(first is null ? "the gateway ended the stream before its open event" : "the gateway's first line is too long");
            }

            using var open = Parse(firstLine.Bytes!);
            var root = open.RootElement;
            var isOpen = Text(root, "event") == "open";
            MessageId? last = isOpen && MessageId.TryParse(Text(root, "last"), out var lastId) ? lastId : null;
            var keepalive = isOpen && root.TryGetProperty("keepalive", out var k) && k.ValueKind == JsonValueKind.Number && k.GetDouble() is > 0 and < 86_400 and var seconds
                ? TimeSpan.FromSeconds(seconds)
                : DefaultKeepalive;

            // NOTI.SUBSCRIBE's confirmed from, as the gateway passes it on (open's "from"): for a cursor above any id
            // the server gave, its last id (with a gap). A gateway that does not say: the cursor, "$" as the last id.
            MessageId? confirmed = isOpen && MessageId.TryParse(Text(root, "from"), out var serverFrom)
                ? serverFrom
                : from switch
                {
                    "$" => last,
                    "0" => MessageId.Zero,
                    _ => MessageId.TryParse(from, out var fromId) ? fromId : null,
                };
            connected = true;
            backoff.Reset();
            if (confirmed is { } c)
            {
                resume.Confirmed(c);
            }

            observer.Connected(endPoint, _config.Channels);
            var state = new ResumeSession(target, resume, observer, time, endPoint, patterns, last, confirmed is { } f && last is { } l && f < l);
            if (resume.TakeGapOwed())
            {
                await state.MovedWithoutPositionAsync(_config.Channels.Select(c => c.Name), cancellationToken).ConfigureAwait(false);
            }
            var ended = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            watchdog = WatchdogAsync(state, keepalive * 2, time, ended, session.Token);
            reading = ReadAsync(reader, state, isOpen ? null : firstLine.Bytes, observer, endPoint, _config.Channels.Select(c => c.Name).Distinct(StringComparer.Ordinal).ToList(),
                ended, session.Token);
            var reason = await ended.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            await session.CancelAsync().ConfigureAwait(false);
            response.Dispose(); // ends a read that waits on the socket
            await reading.ConfigureAwait(false);
            observer.Lost(endPoint, reason);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Whatever it was, the session is over and the worker reconnects with backoff.
            var reason = Describe(ex);
            if (connected)
            {
                observer.Lost(endPoint, reason);
            }
            else
            {
                observer.ConnectFailed(endPoint, reason);
            }

            return (ex as HttpSubscribeException)?.RetryAfter;
        }
        finally
        {
            await session.CancelAsync().ConfigureAwait(false);
            response?.Dispose();
            if (watchdog is not null)
            {
                await watchdog.ConfigureAwait(false);
            }

            if (reading is not null)
            {
                await reading.ConfigureAwait(false);
            }
        }

        return null;
    }

    /// <summary>One poll of the channels (<c>poll=1</c>, nothing stored asked for): what the setup questions use to check a URL and its token.</summary>
    /// <returns>null when the gateway let us subscribe; otherwise what went wrong, in words.</returns>
    public static async Task<string?> CheckAsync(ClientConfig config, CancellationToken cancellationToken)
    {
        using var transport = new HttpTransport(config);
        try
        {
            using var response = await transport.SendAsync("$", TimeProvider.System, cancellationToken, poll: true).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is HttpSubscribeException or HttpRequestException or TimeoutException or IOException
            or System.Security.Authentication.AuthenticationException or System.Net.Sockets.SocketException)
        {
            return Describe(ex);
        }
    }

    /// <summary><c>notistream send</c> over HTTP: <c>POST &lt;url&gt;/</c> with the channel and message as a form, the token as for subscribing.</summary>
    /// <returns>How many subscribers the server handed it to, as the gateway answers.</returns>
    public static async Task<long> PublishAsync(ClientConfig config, string channel, string message, CancellationToken cancellationToken)
    {
        using var transport = new HttpTransport(config);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(ConfigValidation.FormatUrl(transport._url) + "/"))
        {
            Content = new FormUrlEncodedContent([new("channel", channel), new("message", message)]),
        };
        transport.Authorize(request);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(config.Connection.ConnectTimeout * 2);
        try
        {
            using var response = await transport._http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var said = await ErrorTextAsync(response, timeout.Token).ConfigureAwait(false);
                throw new HttpSubscribeException(response.StatusCode switch
                {
                    HttpStatusCode.Unauthorized => $"the gateway requires a publish token (give it as the password){Said(said)}",
                    HttpStatusCode.Forbidden => $"the gateway refused the token{Said(said)}",
                    _ => $"the gateway answered HTTP {(int)response.StatusCode}{Said(said)}",
                });
            }

            var answer = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            using var json = JsonDocument.Parse(answer);
            return json.RootElement.TryGetProperty("receivers", out var receivers) && receivers.TryGetInt64(out var count) ? count : 0;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer within {(config.Connection.ConnectTimeout * 2).TotalSeconds:0.#} s");
        }
        catch (JsonException)
        {
            throw new HttpSubscribeException("the gateway's answer is not its publish answer (is the URL the gateway's?)");
        }
    }

    /// <summary>The token, as Bearer, or as Basic's password when there is a user (the gateway and ntfy take both).</summary>
    private void Authorize(HttpRequestMessage request)
    {
        if (_config.Password is { } token)
        {
            request.Headers.Authorization = _config.User is { } user
                ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{token}")))
                : new AuthenticationHeaderValue("Bearer", token);
        }
    }

    /// <summary>Why a publish or a subscribe failed, in words.</summary>
    public static string Describe(Exception ex) => ex switch
    {
        HttpSubscribeException or InvalidDataException or TimeoutException => ex.Message,
        HttpRequestException { InnerException: { } inner } when inner is not HttpRequestException => ConnectionErrors.Describe(inner),
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError } => "host not found",
        HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } => "the gateway closed the connection",
        _ => ConnectionErrors.Describe(ex),
    };

    private async Task<HttpResponseMessage> SendAsync(string from, TimeProvider time, CancellationToken cancellationToken, bool poll = false)
    {
        var uri = SubscribeUri(_url, _config.Channels, from);
        using var request = new HttpRequestMessage(HttpMethod.Get, poll ? new Uri(uri + "&poll=1") : uri);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/x-ndjson"));
        Authorize(request);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_config.Connection.ConnectTimeout * 2);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer within {(_config.Connection.ConnectTimeout * 2).TotalSeconds:0.#} s");
        }

        if (response.StatusCode == HttpStatusCode.OK)
        {
            return response;
        }

        using (response)
        {
            var said = await ErrorTextAsync(response, timeout.Token).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new HttpSubscribeException($"the gateway requires a token (give it as the password: --password or NOTISTREAM_PASSWORD){Said(said)}"),
                HttpStatusCode.Forbidden => new HttpSubscribeException($"the gateway refused the token for these channels{Said(said)}"),
                HttpStatusCode.NotFound => new HttpSubscribeException($"no subscribe route at {ConfigValidation.FormatUrl(_url)} (HTTP 404: is it the gateway's address?)"),
                HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable =>
                    new HttpSubscribeException($"the gateway is busy or not ready (HTTP {code}){Said(said)}", RetryAfter(response, time)),
                _ => new HttpSubscribeException($"the gateway answered HTTP {code}{Said(said)}", RetryAfter(response, time)),
            };
        }
    }

    private static string Said(string? text) => text is null ? string.Empty : $": {text}";

    /// <summary>The error text of ntfy's JSON error (<c>{"error": …}</c>), or the start of the body; null for none.</summary>
    private static async Task<string?> ErrorTextAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var buffer = new byte[MaxErrorBodyBytes];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }

            var body = Encoding.UTF8.GetString(buffer, 0, length).Trim();
            try
            {
                using var json = JsonDocument.Parse(body);
                if (json.RootElement.ValueKind == JsonValueKind.Object && Text(json.RootElement, "error") is { } error)
                {
                    return Short(error);
                }
            }
            catch (JsonException)
            {
            }

            return body.Length == 0 ? null : Short(body);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            return null;
        }
    }

    private static string Short(string text)
    {
        var line = new string(text.Split('\n', 2)[0].Select(ch => char.IsControl(ch) ? ' ' : ch).ToArray()).Trim();
        return line.Length <= 200 ? line : line[..200] + "...";
    }

    /// <summary>Retry-After as seconds or as a date, at most <see cref="MaxRetryAfter"/>; null without one.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } date ? date - time.GetUtcNow() : null);
        return wait is { } w ? TimeSpan.FromTicks(Math.Clamp(w.Ticks, 0, MaxRetryAfter.Ticks)) : null;
    }

    private static async Task ReadAsync(BoundedLineReader reader, ResumeSession state, byte[]? pending, IConnectionObserver observer, string endPoint,
        IReadOnlyList<string> names, TaskCompletionSource<string> ended, CancellationToken cancellationToken)
    {
        try
        {
            if (pending is not null)
            {
                await HandleOrSkipAsync(state, pending, observer, endPoint, names, cancellationToken).ConfigureAwait(false);
            }

            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                state.Touch();
                if (line.TooLong)
                {
                    var channel = ChannelIn(line.Head);
                    observer.Skipped(endPoint, $"skipped a line of {line.SkippedLength} bytes from the gateway (more than {reader.MaxLineBytes}){(channel is null ? string.Empty : $" on {channel}")}");
                    await UnreadableAsync(state, channel, names, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await HandleOrSkipAsync(state, line.Bytes!, observer, endPoint, names, cancellationToken).ConfigureAwait(false);
            }

            ended.TrySetResult("the gateway ended the stream");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Session over.
        }
        catch (Exception ex)
        {
            // Anything else ends the session (the worker reconnects), never the worker.
            ended.TrySetResult(Describe(ex));
        }
    }

    /// <summary>One line: handled, or, when it cannot be read, skipped, said and handed on as a gap.</summary>
    private static async Task HandleOrSkipAsync(ResumeSession state, byte[] line, IConnectionObserver observer, string endPoint, IReadOnlyList<string> names,
        CancellationToken cancellationToken)
    {
        try
        {
            await HandleAsync(state, line, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or UnreadableEventException)
        {
            var channel = (ex as UnreadableEventException)?.Channel ?? ChannelIn(line);
            observer.Skipped(endPoint, $"skipped an event the client cannot read: {ex.Message}");
            await UnreadableAsync(state, channel, names, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>An event skipped is a gap of unknown size: on its channel, or on every name followed when it is not known.</summary>
    private static async Task UnreadableAsync(ResumeSession state, string? channel, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        foreach (var name in channel is null ? names : [channel])
        {
            await state.GapAsync(name, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The channel a (possibly cut) line of the gateway's names early, in its <c>topic</c>; null when it does not.</summary>
    internal static string? ChannelIn(byte[]? line)
    {
        if (line is null)
        {
            return null;
        }

        var match = TopicField().Match(Encoding.UTF8.GetString(line));
        if (!match.Success)
        {
            return null;
        }

        try
        {
            // One channel (a message's), not the list an open or keepalive names.
            var topic = JsonSerializer.Deserialize<string>(match.Groups[1].Value);
            return string.IsNullOrEmpty(topic) || topic.Contains(',', StringComparison.Ordinal) ? null : topic;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"""topic""\s*:\s*(""(?:[^""\\]|\\.)*"")")]
    private static partial System.Text.RegularExpressions.Regex TopicField();

    private static async Task HandleAsync(ResumeSession state, byte[] line, CancellationToken cancellationToken)
    {
        if (line.Length == 0)
        {
            return;
        }

        using var document = Parse(line);
        var root = document.RootElement;
        switch (Text(root, "event"))
        {
            case "message":
                var channel = Text(root, "channel") ?? Text(root, "topic") ?? throw new InvalidDataException("a message event without a channel");
                var idText = Text(root, "id");
                if (!MessageId.TryParse(idText, out var id))
                {
                    throw new UnreadableEventException($"a message on {channel} with the id '{idText}'", channel);
                }

                string payload;
                try
                {
                    payload = Payload(root);
                }
                catch (InvalidDataException ex)
                {
                    throw new UnreadableEventException($"{ex.Message} (on {channel}, id {id})", channel);
                }

                await state.MessageAsync(channel, Text(root, "pattern"), id, payload, cancellationToken).ConfigureAwait(false);
                break;
            case "gap":
                var subject = Text(root, "pattern") ?? Text(root, "channel") ?? Text(root, "topic") ?? throw new InvalidDataException("a gap event without a channel");
                long? missed = root.TryGetProperty("missed", out var m) && m.ValueKind == JsonValueKind.Number && m.TryGetInt64(out var count) ? count : null;
                await state.GapAsync(subject, missed, cancellationToken).ConfigureAwait(false);
                break;
            case "caughtup":
                await state.EndCatchUpAsync(cancellationToken).ConfigureAwait(false);
                break;
            default:
                break; // open, keepalive, and events of later versions
        }
    }

    /// <summary>
    /// The message as it was published, for <see cref="Notifications.MessageRenderer"/>: the gateway expands an
    /// ntfy-fields JSON payload into fields, which are folded back into one JSON object; base64 is decoded
    /// (invalid UTF-8 becomes U+FFFD, as over RESP); anything else is the text.
    /// </summary>
    internal static string Payload(JsonElement root)
    {
        var message = Text(root, "message") ?? string.Empty;
        if (Text(root, "encoding") == "base64")
        {
            try
            {
                return Encoding.UTF8.GetString(Convert.FromBase64String(message));
            }
            catch (FormatException)
            {
                throw new InvalidDataException("a message marked base64 that is not");
            }
        }

        var priority = root.TryGetProperty("priority", out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var n) && n != 0 ? n : (int?)null;
        var tags = root.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array
            ? t.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : [];
        var title = Text(root, "title");
        var click = Text(root, "click");
        var icon = Text(root, "icon");
        var markdown = Text(root, "content_type") == "text/markdown";
        if (title is null && priority is null && tags.Count == 0 && click is null && icon is null && !markdown)
        {
            return message;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("message", message);
            if (title is not null)
            {
                json.WriteString("title", title);
            }

            if (priority is { } value)
            {
                json.WriteNumber("priority", value);
            }

            if (tags.Count > 0)
            {
                json.WriteStartArray("tags");
                tags.ForEach(json.WriteStringValue);
                json.WriteEndArray();
            }

            if (click is not null)
            {
                json.WriteString("click", click);
            }

            if (icon is not null)
            {
                json.WriteString("icon", icon);
            }

            if (markdown)
            {
                json.WriteBoolean("markdown", true);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// No line, not even a keepalive, for <paramref name="timeout"/> (twice the gateway's keepalive interval)
    /// while the reader is not waiting for a slow output: the connection is dead, though no FIN or RST came.
    /// </summary>
    private static async Task WatchdogAsync(ResumeSession state, TimeSpan timeout, TimeProvider time, TaskCompletionSource<string> ended, CancellationToken cancellationToken)
    {
        var activity = state.Activity;
        var lastSeen = time.GetTimestamp();
        try
        {
            while (true)
            {
                await Task.Delay(timeout / 4, time, cancellationToken).ConfigureAwait(false);
                if (state.Activity != activity || state.Stalled)
                {
                    activity = state.Activity;
                    lastSeen = time.GetTimestamp();
                }
                else if (time.GetElapsedTime(lastSeen) >= timeout)
                {
                    ended.TrySetResult($"no keepalive from the gateway within {timeout.TotalSeconds:0.#} s");
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Session over.
        }
    }

    private static JsonDocument Parse(byte[] line)
    {
        try
        {
            var document = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 8 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new InvalidDataException("the gateway sent a line that is not a JSON object");
            }

            return document;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"the gateway sent a line that is not JSON ({ex.Message.Split(" Path:")[0]})", ex);
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public void Dispose() => _http.Dispose();
}
