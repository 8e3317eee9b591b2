using System.Net;
using System.Text;
using System.Threading.Channels;
using Lib.Net.Http.WebPush;
using Lib.Net.Http.WebPush.Authentication;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// Web Push delivery: reads what the registrations name from the pub/sub server (<see cref="WebPushFeed"/>)
/// and sends each message to each registration that asked for it as an encrypted push (RFC 8291
/// aes128gcm, RFC 8292 VAPID), through Lib.Net.Http.WebPush.
/// <para>
/// Flow, each stage with one owner and a bounded queue between stages: the feed alone writes
/// <see cref="_incoming"/>; the dispatcher (<see cref="DispatchAsync"/>) alone reads it and owns the
/// per-registration <see cref="SubscriptionQueue"/>s (bounded, drop-oldest, drops counted into the next
/// push's <c>missed</c>); it hands a queue that has work to <see cref="_ready"/>, where each queue is at
/// most once, so that queue is bounded by the number of registrations; <see cref="WebPushOptions.Senders"/>
/// senders take queues from it and send their messages one at a time. The feed is woken when the
/// registrations change.
/// </para>
/// </summary>
internal sealed class WebPushService : IHostedService, IAsyncDisposable
{
    /// <summary>
    /// Followed messages published more than this before a registration are not pushed to it: the margin
    /// covers a server clock (which times the ids) behind the gateway's.
    /// </summary>
    private const long RegisteredMarginMs = 60_000;

    /// <summary>Messages from the server not yet dispatched: the feed waits when it is full (following) or drops the message (subscribed).</summary>
    private const int IncomingCapacity = 4096;

    private static readonly TimeSpan _defaultRetryAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan _sendTimeout = TimeSpan.FromSeconds(30);

    private readonly GatewayOptions _gateway;
    private readonly WebPushOptions _options;
    private readonly IHostEnvironment _environment;
    private readonly ILogger<WebPushService> _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<IncomingMessage> _incoming;
    private readonly Channel<SubscriptionQueue> _ready = Channel.CreateUnbounded<SubscriptionQueue>();
    private readonly List<Task> _loops = [];
    private long _incomingDropped;
    private int _disposed;
    private WebPushFeed? _feed;
    private HttpClient? _http;
    private PushServiceClient? _client;

    public WebPushService(IOptions<GatewayOptions> options, IHostEnvironment environment, ILogger<WebPushService> logger, ILoggerFactory loggerFactory)
    {
        _gateway = options.Value;
        _options = _gateway.WebPush;
        _environment = environment;
        _logger = logger;
        _loggerFactory = loggerFactory;
        _incoming = Channel.CreateBounded<IncomingMessage>(
            new BoundedChannelOptions(IncomingCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    }

    /// <summary>Whether Web Push is configured (a Subject is set).</summary>
    public bool Enabled => !string.IsNullOrEmpty(_options.Subject);

    /// <summary>The VAPID keys; set once by <see cref="StartAsync"/>, before requests are served. Null while off.</summary>
    public VapidKeys? Keys { get; private set; }

    /// <summary>The registrations; set once by <see cref="StartAsync"/>. Null while off.</summary>
    public WebPushSubscriptionStore? Store { get; private set; }

    /// <summary>What reads the pub/sub server for Web Push; set once by <see cref="StartAsync"/> (tests). Null while off.</summary>
    internal WebPushFeed? Feed => _feed;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            WebPushLog.Off(_logger);
            return;
        }

        var state = Environment.GetEnvironmentVariable("STATE_DIRECTORY");
        var keyFile = WebPushFiles.Resolve(_options.KeyFile, _environment.ContentRootPath, state);
        var subscriptionsFile = WebPushFiles.Resolve(_options.SubscriptionsFile, _environment.ContentRootPath, state);
        // A corrupt file stops start-up here with a message naming it.
        Keys = VapidKeys.LoadOrCreate(keyFile, out var created);
        Store = WebPushSubscriptionStore.Load(subscriptionsFile, _options.MaxSubscriptions);
        WebPushLog.On(_logger, Store.Current.Count, keyFile, created ? " (made now)" : "");

        var vapid = new VapidAuthentication(Keys.PublicKey, Keys.PrivateKey) { Subject = _options.Subject };
        _http = new HttpClient(new PushRequestHandler(vapid)) { Timeout = _sendTimeout };
        _client = new PushServiceClient(_http)
        {
            DefaultAuthentication = vapid,
            DefaultAuthenticationScheme = VapidAuthenticationScheme.Vapid,
            // 429s are retried here, off the sender, within MaxRetries and MaxRetryAfterSeconds.
            AutoRetryAfter = false,
            DefaultTimeToLive = _options.TimeToLiveSeconds,
        };

        var feed = new WebPushFeed(_gateway, Store, subscriptionsFile + ".position", _incoming.Writer, OnIncomingDropped, _logger, _loggerFactory);
        _feed = feed;
        Store.Changed += feed.Wake;

        var stopping = _stopping.Token;
        _loops.Add(Task.Run(() => feed.RunAsync(stopping), CancellationToken.None));
        _loops.Add(Task.Run(() => DispatchAsync(Store, stopping), CancellationToken.None));
        for (var i = 0; i < _options.Senders; i++)
        {
            _loops.Add(Task.Run(() => SendLoopAsync(Store, _client, stopping), CancellationToken.None));
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _incoming.Writer.TryComplete();
        _ready.Writer.TryComplete();
        await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private void OnIncomingDropped()
    {
        var dropped = Interlocked.Increment(ref _incomingDropped);
        if ((dropped & (dropped - 1)) == 0)
        {
            // 1, 2, 4, 8, …: a line now and then, not one per message.
            WebPushLog.IncomingDropped(_logger, dropped);
        }
    }

    /// <summary>The only reader of <see cref="_incoming"/> and owner of the per-registration queues.</summary>
    private async Task DispatchAsync(WebPushSubscriptionStore store, CancellationToken stopping)
    {
        var queues = new Dictionary<string, SubscriptionQueue>(StringComparer.Ordinal);
        var seen = store.Current;
        try
        {
            await foreach (var message in _incoming.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                var registrations = store.Current;
                if (!ReferenceEquals(registrations, seen))
                {
                    foreach (var (endpoint, queue) in queues.Where(pair => !registrations.ContainsKey(pair.Key)).ToList())
                    {
                        queue.Close();
                        queues.Remove(endpoint);
                    }

                    seen = registrations;
                }

                var channel = Encoding.UTF8.GetBytes(message.Channel);
                if (message.Gap > 0)
                {
                    // Counted into the next push that comes through the same channel or pattern; a channel's
                    // gap also counts for registrations that get it through a pattern.
                    foreach (var registration in registrations.Values)
                    {
                        var through = registration.Channels.Contains(message.Source, StringComparer.Ordinal) ? message.Source
                            : WebPushRegistration.IsPattern(message.Source) ? null
                            : FirstMatch(registration, message.Channel, channel);
                        if (through is not null)
                        {
                            QueueOf(registration).AddMissed(through, message.Gap);
                        }
                    }

                    continue;
                }

                foreach (var registration in registrations.Values)
                {
                    // A message that matches several of a registration's entries is sent once, through the first.
                    // Subscribed, it comes once per SUBSCRIBE or PSUBSCRIBE that matches: the copy through that
                    // first entry is sent. Followed, it comes once, through a name if any follows it by name.
                    var through = FirstMatch(registration, message.Channel, channel);
                    if (through is null || (message.Id is null && through != message.Source)
                        || (message.Id is not null && message.Time.ToUnixTimeMilliseconds() < registration.Since - RegisteredMarginMs))
                    {
                        continue; // not for it; or published before it registered (history read again for another's sake)
                    }

                    var queue = QueueOf(registration);
                    if (queue.Offer(through == message.Source ? message : message with { Source = through }))
                    {
                        _ready.Writer.TryWrite(queue);
                    }
                }

                message.Receipt?.Release(); // the dispatcher's hold: each queue that took it holds it now
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // stopping
        }

        SubscriptionQueue QueueOf(WebPushRegistration registration)
        {
            if (!queues.TryGetValue(registration.Endpoint, out var queue))
            {
                queue = new SubscriptionQueue(registration.Endpoint, _options.QueuePerSubscription);
                queues[registration.Endpoint] = queue;
            }

            return queue;
        }
    }

    private static string? FirstMatch(WebPushRegistration registration, string channel, byte[] channelBytes)
    {
        foreach (var entry in registration.Channels)
        {
            if (WebPushRegistration.IsPattern(entry)
                ? ChannelGlob.IsMatch(Encoding.UTF8.GetBytes(entry), channelBytes)
                : string.Equals(entry, channel, StringComparison.Ordinal))
            {
                return entry;
            }
        }

        return null;
    }

    private async Task SendLoopAsync(WebPushSubscriptionStore store, PushServiceClient client, CancellationToken stopping)
    {
        try
        {
            await foreach (var queue in _ready.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                await DrainAsync(queue, store, client, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <summary>Sends what <paramref name="queue"/> holds until it is empty, its registration gone, or a 429 makes it wait.</summary>
    private async Task DrainAsync(SubscriptionQueue queue, WebPushSubscriptionStore store, PushServiceClient client, CancellationToken stopping)
    {
        while (queue.TryTake(out var pending, out var missed))
        {
            if (!store.Current.TryGetValue(queue.Endpoint, out var registration))
            {
                SubscriptionQueue.Done(pending);
                queue.Close();
                continue; // TryTake now unschedules it
            }

            var message = pending.Message;
            var origin = WebPushLog.Origin(registration.Endpoint);
            try
            {
                await client.RequestPushMessageDeliveryAsync(Subscription(registration), Push(message, missed), stopping).ConfigureAwait(false);
                WebPushLog.Sent(_logger, origin, message.Channel, 201);
                SubscriptionQueue.Done(pending);
            }
            catch (PushServiceClientException ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
            {
                // RFC 8030 section 7.3: the subscription has expired or was withdrawn.
                if (store.Remove(registration.Endpoint))
                {
                    WebPushLog.Removed(_logger, origin, $"the push service answered {(int)ex.StatusCode}");
                }

                SubscriptionQueue.Done(pending);
                queue.Close();
            }
            catch (PushServiceClientException ex) when (ex.StatusCode == HttpStatusCode.TooManyRequests && pending.Attempt < _options.MaxRetries)
            {
                var delay = RetryAfter(ex);
                WebPushLog.Throttled(_logger, origin, (int)Math.Ceiling(delay.TotalSeconds), pending.Attempt + 1);
                queue.PutBack(pending with { Attempt = pending.Attempt + 1 }, missed);
                // Still scheduled: no other sender takes it; it is handed back once the wait is over.
                _ = ReadyLaterAsync(queue, delay, stopping);
                return;
            }
            catch (PushServiceClientException ex)
            {
                WebPushLog.SendFailed(_logger, origin, message.Channel, $"the push service answered {(int)ex.StatusCode}");
                queue.Failed(pending, missed);
            }
            catch (HttpRequestException ex)
            {
                WebPushLog.SendFailed(_logger, origin, message.Channel, ex.Message);
                queue.Failed(pending, missed);
            }
            catch (TaskCanceledException) when (!stopping.IsCancellationRequested)
            {
                WebPushLog.SendFailed(_logger, origin, message.Channel, "no answer in time");
                queue.Failed(pending, missed);
            }
        }
    }

    private async Task ReadyLaterAsync(SubscriptionQueue queue, TimeSpan delay, CancellationToken stopping)
    {
        await Task.Delay(delay, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _ready.Writer.TryWrite(queue);
    }

    /// <summary>The 429's Retry-After (seconds or a date), within 1 s and <see cref="WebPushOptions.MaxRetryAfterSeconds"/>.</summary>
    private TimeSpan RetryAfter(PushServiceClientException ex)
    {
        var delay = ex.Headers?.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow,
            _ => _defaultRetryAfter,
        };
        return TimeSpan.FromSeconds(Math.Clamp(delay.TotalSeconds, 1, _options.MaxRetryAfterSeconds));
    }

    private static PushSubscription Subscription(WebPushRegistration registration)
    {
        var subscription = new PushSubscription { Endpoint = registration.Endpoint };
        subscription.SetKey(PushEncryptionKeyName.P256DH, registration.P256dh);
        subscription.SetKey(PushEncryptionKeyName.Auth, registration.Auth);
        return subscription;
    }

    private PushMessage Push(IncomingMessage message, int missed)
    {
        var fields = NotificationFields.Decode(message.Payload);
        var payload = PushPayload.Build(message.Channel, message.Time, fields, missed);
        return new PushMessage(Encoding.UTF8.GetString(payload))
        {
            Topic = PushPayload.Topic(message.Channel),
            Urgency = fields.Urgency,
            TimeToLive = TimeToLive(message.Time, DateTimeOffset.UtcNow),
        };
    }

    /// <summary>
    /// <see cref="WebPushOptions.TimeToLiveSeconds"/> counted from when the message was published: one
    /// pushed late (published while the gateway was away) is kept by the push service no longer than one
    /// pushed at once; 0 (deliver now or never) once that time is over.
    /// </summary>
    internal int TimeToLive(DateTimeOffset published, DateTimeOffset now) =>
        (int)Math.Clamp(Math.Ceiling(_options.TimeToLiveSeconds - (now - published).TotalSeconds), 0, _options.TimeToLiveSeconds);

    /// <summary>Once: the container disposes the service and the hosted-service registration of the same instance.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_feed is { } feed)
        {
            await feed.DisposeAsync().ConfigureAwait(false);
        }

        _http?.Dispose();
        _stopping.Dispose();
    }
}
