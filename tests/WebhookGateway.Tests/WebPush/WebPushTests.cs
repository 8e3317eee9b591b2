using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Gateway.WebPush;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.WebPush;

/// <summary>
/// Web Push end to end: a real notistream server, the gateway with its real connections, and a push
/// service stand-in that decrypts every push with the browser's keys (made here) and checks the VAPID token.
/// </summary>
public sealed class WebPushTests : IAsyncLifetime
{
    private const string Subject = "mailto:ops@example.com";

    private readonly string _folder = Directory.CreateTempSubdirectory("notistream-webpush-").FullName;
    private readonly List<IDisposable> _browsers = [];
    private OurServer _server = null!;
    private PushServiceStandIn _pushService = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string KeyFile => Path.Join(_folder, "vapid.json");

    private string SubscriptionsFile => Path.Join(_folder, "subscriptions.json");

    public async ValueTask InitializeAsync()
    {
        _server = await OurServer.StartAsync();
        _pushService = await PushServiceStandIn.StartAsync();
    }

    private Task<GatewayHost> StartGatewayAsync(params string[] args) => StartGatewayAsync(_server.Port, args);

    private Task<GatewayHost> StartGatewayAsync(int serverPort, params string[] args) => GatewayHost.StartConnectedAsync(serverPort,
    [
        "--WebPush:Subject", Subject, "--WebPush:KeyFile", KeyFile, "--WebPush:SubscriptionsFile", SubscriptionsFile,
        .. args,
    ]);

    private BrowserSubscription Browser(string id)
    {
        var browser = new BrowserSubscription(new Uri(_pushService.BaseAddress, $"/push/{id}").ToString());
        _browsers.Add(browser);
        return browser;
    }

    private static async Task<HttpResponseMessage> RegisterAsync(GatewayHost gateway, string json, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webpush") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await gateway.Client.SendAsync(request, Ct);
    }

    /// <summary>Waits until the gateway's Web Push connection is subscribed on the server: to <paramref name="channel"/>, or to some pattern.</summary>
    private Task WaitForServerSubscriptionAsync(string? channel) => WaitForServerSubscriptionAsync(_server.Port, channel);

    private static async Task WaitForServerSubscriptionAsync(int serverPort, string? channel, string? password = null)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{serverPort}{(password is null ? "" : ",password=" + password)}").WithTimeout();
        var db = redis.GetDatabase();
        await Poll.UntilAsync(async () =>
        {
            if (channel is null)
            {
                return (long)await db.ExecuteAsync("PUBSUB", "NUMPAT") > 0;
            }

            var reply = await db.ExecuteAsync("PUBSUB", "NUMSUB", channel);
            return (long)reply[1] > 0;
        }, $"the gateway to subscribe to {channel ?? "a pattern"}");
    }

    private static async Task PublishAsync(GatewayHost gateway, string channel, string body)
    {
        using var response = await gateway.Client.PostAsync($"/{channel}", new StringContent(body), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<string> PublicKeyAsync(GatewayHost gateway)
    {
        var answer = await gateway.Client.GetFromJsonAsync<JsonElement>("/v1/webpush/key", Ct);
        return answer.GetProperty("publicKey").GetString()!;
    }

    /// <summary>Checks the VAPID token and the headers of <paramref name="push"/>, decrypts it, and returns its JSON.</summary>
    private static JsonElement Open(ReceivedPush push, BrowserSubscription browser, string publicKey, string urgency, string channel)
    {
        Assert.Equal(publicKey, Vapid.Verify(push.Authorization, new Uri(browser.Endpoint), Subject));
        Assert.Equal("aes128gcm", push.ContentEncoding);
        Assert.Equal(urgency, push.Urgency);
        // A day, counted from the publish: a retried or late push has less left.
        Assert.InRange(int.Parse(push.Ttl!, CultureInfo.InvariantCulture), 86_400 - 60, 86_400);
        Assert.Equal(PushPayload.Topic(channel), push.Topic);
        Assert.Matches("^[A-Za-z0-9_-]{32}$", push.Topic!);
        Assert.True(push.Body.Length <= 4096);
        return JsonDocument.Parse(browser.Decrypt(push.Body)).RootElement;
    }

    [Fact]
    public async Task A_publish_reaches_the_push_service_encrypted_signed_and_with_its_fields()
    {
        await using var gateway = await StartGatewayAsync();
        await gateway.WaitUntilReadyAsync();
        var publicKey = await PublicKeyAsync(gateway);
        var browser = Browser("phone");
        using (var response = await RegisterAsync(gateway, browser.RegistrationJson("alerts")))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await WaitForServerSubscriptionAsync("alerts");
        await PublishAsync(gateway, "alerts", "disk full");
        var push = await _pushService.NextAsync();
        var payload = Open(push, browser, publicKey, "normal", "alerts");
        Assert.Equal("alerts", payload.GetProperty("channel").GetString());
        Assert.Equal("disk full", payload.GetProperty("message").GetString());
        Assert.Equal(3, payload.GetProperty("priority").GetInt32());
        Assert.Equal(0, payload.GetProperty("missed").GetInt32());
        Assert.InRange(payload.GetProperty("time").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);

        // A payload in the shared JSON shape is read as its fields; priority 5 is urgency high.
        await PublishAsync(gateway, "alerts", """{"title":"Backup","message":"failed twice","priority":5,"tags":["warning"],"click":"https://example.com/b"}""");
        payload = Open(await _pushService.NextAsync(), browser, publicKey, "high", "alerts");
        Assert.Equal(("Backup", "failed twice", 5), (payload.GetProperty("title").GetString(), payload.GetProperty("message").GetString(), payload.GetProperty("priority").GetInt32()));
        Assert.Equal("warning", payload.GetProperty("tags")[0].GetString());
        Assert.Equal("https://example.com/b", payload.GetProperty("click").GetString());

        // Any other JSON is message text; a message too long for a push is cut with an ellipsis.
        await PublishAsync(gateway, "alerts", """{"text":"not the contract"}""");
        payload = Open(await _pushService.NextAsync(), browser, publicKey, "normal", "alerts");
        Assert.Equal("""{"text":"not the contract"}""", payload.GetProperty("message").GetString());
        await PublishAsync(gateway, "alerts", new string('x', 10_000));
        push = await _pushService.NextAsync();
        payload = Open(push, browser, publicKey, "normal", "alerts");
        var message = payload.GetProperty("message").GetString()!;
        Assert.EndsWith("…", message, StringComparison.Ordinal);
        Assert.InRange(message.Length, 3000, 4000);
    }

    [Fact]
    public async Task A_pattern_registration_gets_the_channels_it_matches_once_each()
    {
        await using var gateway = await StartGatewayAsync();
        await gateway.WaitUntilReadyAsync();
        var publicKey = await PublicKeyAsync(gateway);
        var browser = Browser("laptop");
        using (var response = await RegisterAsync(gateway, browser.RegistrationJson("ci/*", "ci/nightly")))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await WaitForServerSubscriptionAsync(null);
        await WaitForServerSubscriptionAsync("ci/nightly");
        await PublishAsync(gateway, "ci/nightly", "green");
        await PublishAsync(gateway, "other", "not for it");
        await PublishAsync(gateway, "ci/release", "tagged");

        var first = Open(await _pushService.NextAsync(), browser, publicKey, "normal", "ci/nightly");
        Assert.Equal(("ci/nightly", "green"), (first.GetProperty("channel").GetString(), first.GetProperty("message").GetString()));
        var second = Open(await _pushService.NextAsync(), browser, publicKey, "normal", "ci/release");
        Assert.Equal(("ci/release", "tagged"), (second.GetProperty("channel").GetString(), second.GetProperty("message").GetString()));
        Assert.Null(await _pushService.NextOrNullAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task A_410_prunes_the_registration_for_good()
    {
        var browser = Browser("gone");
        await using (var gateway = await StartGatewayAsync())
        {
            await gateway.WaitUntilReadyAsync();
            using (var response = await RegisterAsync(gateway, browser.RegistrationJson("alerts")))
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }

            await WaitForServerSubscriptionAsync("alerts");
            _pushService.Script("gone", (410, null));
            await PublishAsync(gateway, "alerts", "one");
            Assert.Equal(410, (await _pushService.NextAsync()).AnsweredStatus);
            await Poll.UntilAsync(() => Task.FromResult(!File.ReadAllText(SubscriptionsFile).Contains(browser.Endpoint, StringComparison.Ordinal)),
                "the registration to leave the subscriptions file");
            await PublishAsync(gateway, "alerts", "two");
            Assert.Null(await _pushService.NextOrNullAsync(TimeSpan.FromMilliseconds(500)));
        }

        await using var restarted = await StartGatewayAsync();
        await restarted.WaitUntilReadyAsync();
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/v1/webpush") { Content = JsonContent.Create(new { endpoint = browser.Endpoint }) };
        using var delete = await restarted.Client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
    }

    [Fact]
    public async Task A_429_is_retried_after_its_Retry_After_and_delivered()
    {
        await using var gateway = await StartGatewayAsync();
        await gateway.WaitUntilReadyAsync();
        var publicKey = await PublicKeyAsync(gateway);
        var browser = Browser("busy");
        using (var response = await RegisterAsync(gateway, browser.RegistrationJson("alerts")))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await WaitForServerSubscriptionAsync("alerts");
        _pushService.Script("busy", (429, "1"));
        await PublishAsync(gateway, "alerts", "eventually");
        var refused = await _pushService.NextAsync();
        Assert.Equal(429, refused.AnsweredStatus);
        var started = DateTime.UtcNow;
        var retried = await _pushService.NextAsync();
        Assert.Equal(201, retried.AnsweredStatus);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(900), "the retry waited for Retry-After");
        var payload = Open(retried, browser, publicKey, "normal", "alerts");
        Assert.Equal("eventually", payload.GetProperty("message").GetString());
        Assert.Equal(0, payload.GetProperty("missed").GetInt32());
    }

    [Fact]
    public async Task Bad_registrations_are_refused_with_400_and_the_reason()
    {
        await using var gateway = await StartGatewayAsync("--WebPush:MaxChannelsPerSubscription", "3");
        var browser = Browser("bad");
        var good = JsonDocument.Parse(browser.RegistrationJson("alerts")).RootElement;
        string With(string endpoint, string p256dh, string auth, params string[] channels) => JsonSerializer.Serialize(new { endpoint, keys = new { p256dh, auth }, channels });
        var p256dh = good.GetProperty("keys").GetProperty("p256dh").GetString()!;
        var auth = good.GetProperty("keys").GetProperty("auth").GetString()!;

        (string Json, string Detail)[] cases =
        [
            (With(browser.Endpoint, p256dh[..^4], auth, "alerts"), "p256dh"),
            (With(browser.Endpoint, p256dh, auth + "AAAA", "alerts"), "auth"),
            (With(browser.Endpoint, "BA" + new string('A', 85), auth, "alerts"), "p256dh"),
            (With("http://push.example.com/push/1", p256dh, auth, "alerts"), "https"),
            (With("ftp://127.0.0.1/push/1", p256dh, auth, "alerts"), "https"),
            (With(browser.Endpoint, p256dh, auth, "a", "b", "c", "d"), "channels"),
            (With(browser.Endpoint, p256dh, auth), "channels"),
            (With(browser.Endpoint, p256dh, auth, "bad\nname"), "control"),
            (With(browser.Endpoint, p256dh, auth, "alerts[x"), "'['"),
            (With(browser.Endpoint, p256dh, auth, new string('c', 300)), "MaxChannelBytes"),
            ("[1, 2]", "object"),
            ("{\"endpoint\": 1}", "endpoint"),
            ("not json", "JSON"),
        ];
        foreach (var (json, detail) in cases)
        {
            using var response = await RegisterAsync(gateway, json);
            var text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{json} → {(int)response.StatusCode} {text}");
            Assert.Contains(detail, text, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(SubscriptionsFile));

        // http to loopback is taken (a stand-in in tests); so is a re-registration, which replaces.
        using (var first = await RegisterAsync(gateway, browser.RegistrationJson("alerts")))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        using var again = await RegisterAsync(gateway, browser.RegistrationJson("alerts", "builds/*"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Registrations_are_bounded_and_need_a_token_that_may_read_their_channels_when_one_is_set()
    {
        await using var gateway = await StartGatewayAsync("--WebPush:MaxSubscriptions", "1", "--token", "global-secret",
            "--Gateway:Tokens:0:Token", "scoped-secret", "--Gateway:Tokens:0:Channels:0", "alerts",
            "--Gateway:Tokens:1:Token", "reader-secret", "--Gateway:Tokens:1:Access", "read", "--Gateway:Tokens:1:Channels:0", "ci/*");
        var one = Browser("one");
        var two = Browser("two");
        using (var none = await RegisterAsync(gateway, one.RegistrationJson("alerts")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        }

        // A publish-only (write) token may not read; a read token only what its patterns cover.
        using (var scoped = await RegisterAsync(gateway, one.RegistrationJson("alerts"), "scoped-secret"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, scoped.StatusCode);
        }

        using (var outside = await RegisterAsync(gateway, one.RegistrationJson("alerts"), "reader-secret"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, outside.StatusCode);
        }

        using (var reader = await RegisterAsync(gateway, one.RegistrationJson("ci/build"), "reader-secret"))
        {
            Assert.Equal(HttpStatusCode.Created, reader.StatusCode);
        }

        using (var wrong = await RegisterAsync(gateway, one.RegistrationJson("alerts"), "nope"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        }

        using (var again = await RegisterAsync(gateway, one.RegistrationJson("alerts"), "global-secret"))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode); // the same browser: its registration replaced
        }

        using var full = await RegisterAsync(gateway, two.RegistrationJson("alerts"), "global-secret");
        Assert.Equal(HttpStatusCode.Conflict, full.StatusCode);
        Assert.Contains("MaxSubscriptions", await full.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_and_registrations_survive_a_restart()
    {
        var browser = Browser("kept");
        string publicKey;
        await using (var gateway = await StartGatewayAsync())
        {
            publicKey = await PublicKeyAsync(gateway);
            using var response = await RegisterAsync(gateway, browser.RegistrationJson("alerts"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SubscriptionsFile));
        }

        await using var restarted = await StartGatewayAsync();
        await restarted.WaitUntilReadyAsync();
        Assert.Equal(publicKey, await PublicKeyAsync(restarted));
        await WaitForServerSubscriptionAsync("alerts");
        await PublishAsync(restarted, "alerts", "after the restart");
        var payload = Open(await _pushService.NextAsync(), browser, publicKey, "normal", "alerts");
        Assert.Equal("after the restart", payload.GetProperty("message").GetString());
    }

    /// <summary>PUBLISHes straight to the server, as while the gateway is stopped.</summary>
    private static async Task PublishToServerAsync(int serverPort, params (string Channel, string Message)[] messages)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{serverPort}").WithTimeout();
        foreach (var (channel, message) in messages)
        {
            await redis.GetSubscriber().PublishAsync(StackExchange.Redis.RedisChannel.Literal(channel), message);
        }
    }

    /// <summary>The pushes that come until none has for <paramref name="quiet"/>, decrypted, with the browser they went to.</summary>
    private async Task<List<(string Browser, JsonElement Payload)>> DrainAsync(string publicKey, TimeSpan quiet, params BrowserSubscription[] browsers)
    {
        var received = new List<(string, JsonElement)>();
        while (await _pushService.NextOrNullAsync(quiet) is { } push)
        {
            var browser = browsers.Single(b => b.Endpoint.EndsWith("/" + push.Id, StringComparison.Ordinal));
            var payload = JsonDocument.Parse(browser.Decrypt(push.Body)).RootElement;
            Assert.Equal(publicKey, Vapid.Verify(push.Authorization, new Uri(browser.Endpoint), Subject));
            received.Add((push.Id, payload));
        }

        return received;
    }

    [Fact]
    public async Task What_is_published_while_the_gateway_is_stopped_is_pushed_when_it_is_back()
    {
        var phone = Browser("away");
        var laptop = Browser("away-pattern");
        string publicKey;
        await using (var gateway = await StartGatewayAsync())
        {
            await gateway.WaitUntilReadyAsync();
            publicKey = await PublicKeyAsync(gateway);
            using (var response = await RegisterAsync(gateway, phone.RegistrationJson("alerts")))
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }

            using (var response = await RegisterAsync(gateway, laptop.RegistrationJson("ci/*")))
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }

            await WaitForServerSubscriptionAsync("alerts");
            await WaitForServerSubscriptionAsync(null);
            await PublishAsync(gateway, "alerts", "before");
            var before = Open(await _pushService.NextAsync(), phone, publicKey, "normal", "alerts");
            Assert.Equal("before", before.GetProperty("message").GetString());
        }

        Assert.Matches("^[0-9]+-[0-9]+\n$", File.ReadAllText(SubscriptionsFile + ".position"));
        await PublishToServerAsync(_server.Port, ("alerts", "away 1"), ("ci/nightly", "away 2"), ("alerts", "away 3"), ("other", "not for them"));
        var stoppedUntil = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        await using var restarted = await StartGatewayAsync();
        var pushes = await DrainAsync(publicKey, TimeSpan.FromSeconds(2), phone, laptop);
        Assert.Equal(["away 1", "away 3"], pushes.Where(p => p.Browser == "away").Select(p => p.Payload.GetProperty("message").GetString()));
        Assert.Equal(["away 2"], pushes.Where(p => p.Browser == "away-pattern").Select(p => p.Payload.GetProperty("message").GetString()));
        Assert.All(pushes, p => Assert.Equal(0, p.Payload.GetProperty("missed").GetInt32()));
        // Timed when published, not when pushed.
        Assert.All(pushes, p => Assert.InRange(p.Payload.GetProperty("time").GetInt64(), stoppedUntil - 60, stoppedUntil));
    }

    [Fact]
    public async Task Messages_history_lost_while_the_gateway_was_stopped_are_counted_as_missed()
    {
        await using var server = await OurServer.StartAsync(more: ["--channel-history", "* 5 24h"]);
        var phone = Browser("short");
        string publicKey;
        await using (var gateway = await StartGatewayAsync(server.Port))
        {
            await gateway.WaitUntilReadyAsync();
            publicKey = await PublicKeyAsync(gateway);
            using (var response = await RegisterAsync(gateway, phone.RegistrationJson("alerts")))
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }

            await WaitForServerSubscriptionAsync(server.Port, "alerts");
            await PublishAsync(gateway, "alerts", "before");
            Assert.Equal("before", Open(await _pushService.NextAsync(), phone, publicKey, "normal", "alerts").GetProperty("message").GetString());
        }

        // History trims whole nodes of 100 entries (XADD MAXLEN ~): of 300, at most about 100 are kept.
        const int Away = 300;
        await PublishToServerAsync(server.Port, [.. Enumerable.Range(0, Away).Select(i => ("alerts", $"m{i}"))]);

        await using var restarted = await StartGatewayAsync(server.Port);
        var pushes = await DrainAsync(publicKey, TimeSpan.FromSeconds(2), phone);
        // What is pushed comes in order and ends with the last; each message not pushed (lost from history,
        // or dropped from the registration's bounded queue) is counted once, in the next push's missed.
        var numbers = pushes.Select(p => int.Parse(p.Payload.GetProperty("message").GetString()![1..], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(Away - 1, numbers[^1]);
        var expected = 0;
        foreach (var (number, push) in numbers.Zip(pushes))
        {
            Assert.Equal(number - expected, push.Payload.GetProperty("missed").GetInt32());
            expected = number + 1;
        }

        Assert.True(numbers[0] > 0, "the history lost the first messages");
        Assert.True(numbers.Count < 200, $"{numbers.Count} pushed");
    }

    [Fact]
    public async Task Messages_still_waiting_to_be_pushed_when_the_gateway_stops_are_pushed_after_the_restart()
    {
        var phone = Browser("waiting");
        string publicKey;
        await using (var gateway = await StartGatewayAsync("--WebPush:MaxRetryAfterSeconds", "60"))
        {
            await gateway.WaitUntilReadyAsync();
            publicKey = await PublicKeyAsync(gateway);
            using (var response = await RegisterAsync(gateway, phone.RegistrationJson("alerts")))
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }

            await WaitForServerSubscriptionAsync("alerts");
            // The push service is busy for a minute: the first push waits out its Retry-After, the others queue behind it.
            _pushService.Script("waiting", (429, "60"));
            await PublishAsync(gateway, "alerts", "one");
            await PublishAsync(gateway, "alerts", "two");
            await PublishAsync(gateway, "alerts", "three");
            Assert.Equal(429, (await _pushService.NextAsync()).AnsweredStatus);
        }

        // Stopped with all three unsent: the kept position is before them.
        await using var restarted = await StartGatewayAsync();
        var pushes = await DrainAsync(publicKey, TimeSpan.FromSeconds(2), phone);
        Assert.Equal(["one", "two", "three"], pushes.Select(p => p.Payload.GetProperty("message").GetString()));
        Assert.All(pushes, p => Assert.Equal(0, p.Payload.GetProperty("missed").GetInt32()));
    }

    [Fact]
    public async Task A_named_channel_without_history_is_subscribed_while_the_others_are_still_followed()
    {
        await using var server = await OurServer.StartAsync(more: ["--channel-history", "kept:* 1000 24h"]);
        var phone = Browser("mixed");
        string publicKey;
        await using (var gateway = await StartGatewayAsync(server.Port))
        {
            await gateway.WaitUntilReadyAsync();
            publicKey = await PublicKeyAsync(gateway);
            using (var response = await RegisterAsync(gateway, phone.RegistrationJson("plain", "kept:a")))
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }

            await Poll.UntilAsync(() => Task.FromResult(gateway.Logs.Entries.Any(e => e.EventId.Id == 3209 && e.Message.Contains("subscribed instead: plain", StringComparison.Ordinal))),
                "the gateway to subscribe to the channel without history");
            await WaitForServerSubscriptionAsync(server.Port, "plain");
            await WaitForServerSubscriptionAsync(server.Port, "kept:a");
            await PublishAsync(gateway, "plain", "live");
            await PublishAsync(gateway, "kept:a", "followed");
            var live = await DrainAsync(publicKey, TimeSpan.FromSeconds(1), phone);
            Assert.Equal(["followed", "live"], live.Select(p => p.Payload.GetProperty("message").GetString()).Order());
        }

        // The channel with history is still followed from a kept position: what came while stopped is pushed.
        await PublishToServerAsync(server.Port, ("kept:a", "while away"), ("plain", "lost, without history"));
        await using var restarted = await StartGatewayAsync(server.Port);
        var pushes = await DrainAsync(publicKey, TimeSpan.FromSeconds(2), phone);
        Assert.Equal(["while away"], pushes.Select(p => p.Payload.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Behind_a_password_every_channel_without_history_is_found_after_one_with_history()
    {
        await using var server = await OurServer.StartAsync(password: "pw", more: ["--channel-history", "kept:* 1000 24h"]);
        await using var gateway = await StartGatewayAsync(server.Port, "--server-password", "pw");
        await gateway.WaitUntilReadyAsync();
        var publicKey = await PublicKeyAsync(gateway);
        var phone = Browser("secured");
        // kept:a is tried first and accepted; the tries after it must still be logged in.
        using (var response = await RegisterAsync(gateway, phone.RegistrationJson("kept:a", "plain1", "plain2")))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await Poll.UntilAsync(() => Task.FromResult(gateway.Logs.Entries.Any(e => e.EventId.Id == 3209 && e.Message.Contains("subscribed instead: plain1, plain2", StringComparison.Ordinal))),
            "the gateway to subscribe to both channels without history");
        await WaitForServerSubscriptionAsync(server.Port, "plain2", "pw");
        await PublishAsync(gateway, "plain2", "live");
        Assert.Equal("live", Open(await _pushService.NextAsync(), phone, publicKey, "normal", "plain2").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Against_redis_Web_Push_subscribes_and_keeps_no_position()
    {
        await using var redis = await RedisServer.StartAsync();
        File.WriteAllText(SubscriptionsFile + ".position", "1700000000000-0\n"); // from an earlier run against a Notistream server
        await using var gateway = await StartGatewayAsync(redis.Port);
        await gateway.WaitUntilReadyAsync();
        var publicKey = await PublicKeyAsync(gateway);
        var phone = Browser("redis");
        using (var response = await RegisterAsync(gateway, phone.RegistrationJson("alerts", "ci/*")))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await Poll.UntilAsync(() => Task.FromResult(gateway.Logs.Entries.Any(e => e.EventId.Id == 3209 && e.Message.Contains("unknown command", StringComparison.OrdinalIgnoreCase))),
            "the gateway to say it subscribes instead");
        await WaitForServerSubscriptionAsync(redis.Port, "alerts");
        await WaitForServerSubscriptionAsync(redis.Port, null);
        await PublishToServerAsync(redis.Port, ("alerts", "one"), ("ci/main", "two"));
        var pushes = await DrainAsync(publicKey, TimeSpan.FromSeconds(1), phone);
        Assert.Equal(["one", "two"], pushes.Select(p => p.Payload.GetProperty("message").GetString()).Order());
        // A later start against a Notistream server would replay history from a stale position: it is gone.
        Assert.False(File.Exists(SubscriptionsFile + ".position"));
    }

    [Fact]
    public async Task Against_a_server_without_history_Web_Push_subscribes_and_says_what_that_costs()
    {
        await using var server = await OurServer.StartAsync(more: ["--channel-history", "none"]);
        await using var gateway = await StartGatewayAsync(server.Port);
        await gateway.WaitUntilReadyAsync();
        var publicKey = await PublicKeyAsync(gateway);
        var phone = Browser("plain");
        using (var response = await RegisterAsync(gateway, phone.RegistrationJson("alerts")))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await Poll.UntilAsync(() => Task.FromResult(gateway.Logs.Entries.Any(e => e.EventId.Id == 3209 && e.Message.Contains("keeps no history", StringComparison.Ordinal))),
            "the gateway to say it subscribes instead");
        await WaitForServerSubscriptionAsync(server.Port, "alerts");
        await PublishAsync(gateway, "alerts", "live only");
        Assert.Equal("live only", Open(await _pushService.NextAsync(), phone, publicKey, "normal", "alerts").GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_subscribe_that_fails_after_the_client_took_it_loses_nothing_once_the_server_counts_the_gateway()
    {
        await using var server = await OurServer.StartAsync(more: ["--channel-history", "none"]);
        await using var gateway = await StartGatewayAsync(server.Port);
        await gateway.WaitUntilReadyAsync();
        var publicKey = await PublicKeyAsync(gateway);
        // The first SUBSCRIBE is answered, but after the client gave up (a timeout under load): the client keeps
        // the queue it made, and the server counts a subscriber.
        var feed = gateway.App.Services.GetRequiredService<WebPushService>().Feed!;
        var subscribes = 0;
        feed.Subscribe = async (subscriber, channel) =>
        {
            var queue = await subscriber.SubscribeAsync(channel);
            return Interlocked.Increment(ref subscribes) == 1
                ? throw new StackExchange.Redis.RedisTimeoutException(StackExchange.Redis.CommandFlags.None, "answered too late (test)", StackExchange.Redis.CommandStatus.Sent)
                : queue;
        };
        var phone = Browser("late");
        using (var response = await RegisterAsync(gateway, phone.RegistrationJson("alerts")))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await Poll.UntilAsync(() => Task.FromResult(gateway.Logs.Entries.Any(e => e.EventId.Id == 3206 && e.Message.Contains("answered too late", StringComparison.Ordinal))),
            "the gateway to say the subscribe failed");
        // Once the server counts the gateway as a subscriber, a publish is pushed: whether that is the failed
        // subscribe's (which must not be) or the retry's.
        await WaitForServerSubscriptionAsync(server.Port, "alerts");
        await PublishAsync(gateway, "alerts", "after a late answer");
        Assert.Equal("after a late answer", Open(await _pushService.NextAsync(), phone, publicKey, "normal", "alerts").GetProperty("message").GetString());
        Assert.Equal(2, Volatile.Read(ref subscribes));
    }

    [Fact]
    public async Task A_corrupt_key_file_stops_start_up_with_a_message_naming_it()
    {
        File.WriteAllText(KeyFile, """{"publicKey":"abc","privateKey":"def"}""");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartGatewayAsync());
        Assert.Contains(KeyFile, error.Message, StringComparison.Ordinal);
        Assert.Contains("WebPush:KeyFile", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_subject_Web_Push_is_off_and_says_so()
    {
        await using var gateway = await GatewayHost.StartAsync(new RecordingPublisher(), "--WebPush:KeyFile", KeyFile);
        using var key = await gateway.Client.GetAsync("/v1/webpush/key", Ct);
        Assert.Equal(HttpStatusCode.NotFound, key.StatusCode);
        Assert.Contains("WebPush:Subject", await key.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Contains(gateway.Logs.Entries, e => e.EventId.Id == 3200);
        Assert.False(File.Exists(KeyFile));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var browser in _browsers)
        {
            browser.Dispose();
        }

        await _pushService.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}
