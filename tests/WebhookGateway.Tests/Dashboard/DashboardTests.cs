using System.Collections;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Notistream.Gateway.Dashboard;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Gateway.Tests.Subscribing;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Dashboard;

/// <summary>
/// GET /dashboard and GET /v1/dashboard against our real server through the real gateway: the snapshot's
/// fields after a publish, an SSE subscriber counted by transport, GitHub deliveries, the token it needs,
/// one INFO per second whatever the number of viewers, and docs/gateway.md's dashboard commands.
/// </summary>
public sealed class DashboardTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<JsonElement> SnapshotAsync(GatewayHost gateway, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/dashboard");
        configure?.Invoke(request);
        using var response = await gateway.Client.SendAsync(request, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.Clone();
    }

    /// <summary>Polls the snapshot (rebuilt at most once a second) until <paramref name="condition"/> holds; returns that snapshot.</summary>
    private static async Task<JsonElement> SnapshotWhenAsync(GatewayHost gateway, Func<JsonElement, bool> condition, string what)
    {
        JsonElement last = default;
        await Poll.UntilAsync(async () =>
        {
            last = await SnapshotAsync(gateway);
            return condition(last);
        }, what);
        return last;
    }

    private static long? Long(JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            element = element.GetProperty(name);
        }

        return element.ValueKind == JsonValueKind.Null ? null : element.GetInt64();
    }

    [Fact]
    public async Task A_publish_and_an_sse_subscriber_show_in_the_snapshot_with_the_servers_counts()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port);
        await gateway.WaitUntilReadyAsync();
        var before = await SnapshotAsync(gateway);
        Assert.Equal(0, Long(before, "clients", "http", "sse"));
        Assert.Null(before.GetProperty("rateWindowSeconds").GetString());

        await using (var stream = await SubscribeStream.OpenAsync(gateway, "/news/sse"))
        {
            Assert.Equal("event: open", (await stream.SseEventAsync())![0]);
            await SnapshotWhenAsync(gateway, s => Long(s, "clients", "http", "sse") == 1, "the SSE subscriber to be counted");

            using (var publish = await gateway.Client.PostAsync("/news", new StringContent("hello dashboard"), Ct))
            {
                Assert.Equal(HttpStatusCode.OK, publish.StatusCode);
            }

            var message = await stream.SseEventAsync();
            Assert.StartsWith("id: ", message![0], StringComparison.Ordinal);

            var after = await SnapshotWhenAsync(gateway,
                s => Long(s, "published", "total") >= 1 && Long(s, "delivered", "total") >= 1 && Long(s, "httpDelivered", "total") >= 1,
                "the publish and its delivery to be counted");
            Assert.Equal(1, Long(after, "clients", "http", "sse"));
            Assert.Equal(0, Long(after, "clients", "http", "json") + Long(after, "clients", "http", "raw") + Long(after, "clients", "http", "ws"));
            Assert.True(Long(after, "clients", "server") >= 2, "the gateway's connection and the subscriber's"); // INFO connected_clients
            Assert.True(Long(after, "channels") >= 1, after.ToString());
            Assert.Equal(0, Long(after, "patterns"));
            Assert.Equal(1, Long(after, "history", "entries"));
            Assert.True(Long(after, "history", "bytes") > 0, after.ToString());
            Assert.Equal(0, Long(after, "cutOffs", "server"));
            Assert.Equal(0, Long(after, "cutOffs", "http"));
            var state = after.GetProperty("server");
            Assert.True(state.GetProperty("connected").GetBoolean());
            Assert.Equal(JsonValueKind.Null, state.GetProperty("error").ValueKind);
            Assert.Equal($"127.0.0.1:{server.Port}", state.GetProperty("address").GetString());
            Assert.Null(Long(after, "clients", "webPush")); // Web Push is off without its subject

            // A later snapshot measures rates from the one before it.
            var rated = await SnapshotWhenAsync(gateway, s => s.GetProperty("published").GetProperty("perSecond").ValueKind == JsonValueKind.Number,
                "a rate from two snapshots");
            Assert.True(rated.GetProperty("rateWindowSeconds").GetDouble() >= DashboardSnapshots.CacheFor.TotalSeconds, rated.ToString());
        }

        await SnapshotWhenAsync(gateway, s => Long(s, "clients", "http", "sse") == 0, "the SSE subscriber to be gone");
    }

    [Fact]
    public async Task Only_verified_GitHub_deliveries_are_listed_and_unverified_ones_are_counted()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--github-secret", GitHubDeliveries.Secret);
        var body = GitHubDeliveries.Fixture("push.branch-create.json");
        using (var good = GitHubDeliveries.Json("push", body, GitHubDeliveries.Sign(body), "d-verified"))
        using (var reply = await gateway.Client.SendAsync(good, Ct))
        {
            Assert.Equal(HttpStatusCode.Created, reply.StatusCode);
        }

        // More than the list holds, with headers of the sender's choosing: none may push the real delivery out.
        var forgedCount = DashboardCounters.DeliveriesKept + 5;
        for (var i = 0; i < forgedCount; i++)
        {
            var signature = i % 2 == 0 ? GitHubDeliveries.Sign(body, "not the secret") : null;
            using var forged = GitHubDeliveries.Json("spoofed-event", body, signature, $"d-forged-{i}");
            using var reply = await gateway.Client.SendAsync(forged, Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, reply.StatusCode);
        }

        var snapshot = await SnapshotWhenAsync(gateway, s => s.GetProperty("gitHubRejected").GetInt64() == forgedCount, "the forged deliveries to be counted");
        var verified = Assert.Single(snapshot.GetProperty("gitHub").EnumerateArray());
        Assert.Equal("d-verified", verified.GetProperty("delivery").GetString());
        Assert.Equal("push", verified.GetProperty("event").GetString());
        Assert.Equal("verified", verified.GetProperty("verification").GetString());
        Assert.Equal("Codertocat/Hello-World", verified.GetProperty("repository").GetString());
        Assert.Equal("Codertocat/Hello-World", verified.GetProperty("channel").GetString());
        Assert.Equal(201, verified.GetProperty("status").GetInt32());
        Assert.InRange(verified.GetProperty("time").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));

        // Without a server connection of its own (the recording publisher), the snapshot says so instead of failing.
        Assert.False(string.IsNullOrEmpty(snapshot.GetProperty("server").GetProperty("error").GetString()));
        Assert.Equal(JsonValueKind.Null, snapshot.GetProperty("published").GetProperty("total").ValueKind);
    }

    [Fact]
    public void The_delivery_ring_keeps_the_last_twenty_newest_first_and_clips_long_fields()
    {
        var counters = new DashboardCounters();
        for (var i = 0; i < 25; i++)
        {
            counters.GitHubDelivery(new GitHubDeliveryRecord(DateTimeOffset.UnixEpoch.AddSeconds(i), "push", null, $"d{i}", "verified", null, 201));
        }

        var kept = counters.GitHubDeliveries();
        Assert.Equal(DashboardCounters.DeliveriesKept, kept.Count);
        Assert.Equal([.. Enumerable.Range(5, 20).Reverse().Select(i => $"d{i}")], kept.Select(d => d.Delivery));
        Assert.Equal(DashboardCounters.MaxFieldLength, DashboardCounters.Clip(new string('x', 10_000))!.Length);
        Assert.Null(DashboardCounters.Clip(""));
    }

    [Fact]
    public async Task With_tokens_set_the_page_and_the_snapshot_need_a_token_that_reads_every_channel()
    {
        var tokens = new Hashtable
        {
            ["Gateway__Tokens__0__Token"] = "alerts-reader",
            ["Gateway__Tokens__0__Access"] = "read",
            ["Gateway__Tokens__0__Channels__0"] = "alerts:*",
            ["Gateway__Tokens__1__Token"] = "all-reader",
            ["Gateway__Tokens__1__Access"] = "read",
            ["Gateway__Tokens__1__Channels__0"] = "*",
            ["Gateway__Tokens__2__Token"] = "all-writer",
            ["Gateway__Tokens__2__Channels__0"] = "*",
        };
        await using var gateway = await GatewayHost.StartAsync(new RecordingPublisher(), tokens, "--token", "global-token");

        async Task<HttpResponseMessage> GetAsync(string path, AuthenticationHeaderValue? authorization = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = authorization;
            return await gateway.Client.SendAsync(request, Ct);
        }

        foreach (var path in new[] { "/dashboard", "/v1/dashboard" })
        {
            using var anonymous = await GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("Basic", anonymous.Headers.WwwAuthenticate.Single().Scheme); // so a browser asks for it
            using var wrong = await GetAsync(path, new AuthenticationHeaderValue("Bearer", "not-a-token"));
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
            using var narrow = await GetAsync(path, new AuthenticationHeaderValue("Bearer", "alerts-reader"));
            Assert.Equal(HttpStatusCode.Forbidden, narrow.StatusCode);
            using var writer = await GetAsync(path, new AuthenticationHeaderValue("Bearer", "all-writer"));
            Assert.Equal(HttpStatusCode.Forbidden, writer.StatusCode);
            using var global = await GetAsync(path, new AuthenticationHeaderValue("Bearer", "global-token"));
            Assert.Equal(HttpStatusCode.OK, global.StatusCode);
            using var basic = await GetAsync(path, new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(":all-reader"))));
            Assert.Equal(HttpStatusCode.OK, basic.StatusCode);
            var auth = System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes("Bearer global-token"));
            using var query = await GetAsync($"{path}?auth={auth}");
            Assert.Equal(HttpStatusCode.OK, query.StatusCode);
        }

        // The script and style hold no data: no token needed.
        using var script = await GetAsync("/dashboard/dashboard.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    [Fact]
    public async Task On_a_non_loopback_bind_the_dashboard_is_as_open_as_subscribing_and_the_warning_says_so()
    {
        await using var server = await NotistreamServer.StartAsync();
        var port = FreePort.Next();

        // Without tokens: the subscribe routes are open to whoever reaches the port, and so is the dashboard; the
        // start-up warning names both.
        await using (var open = await GatewayHost.StartConnectedAsync(server.Port, "--urls", $"http://0.0.0.0:{port}"))
        {
            Assert.Equal(new Uri($"http://0.0.0.0:{port}"), open.BaseAddress);
            await Poll.UntilAsync(async () => await StatusAsync(open, "/readyz") == HttpStatusCode.OK, "the gateway to connect");
            var warning = Assert.Single(open.Logs.Entries, e => e.EventId.Id == 3021);
            Assert.Contains("subscribe", warning.Message, StringComparison.Ordinal);
            Assert.Contains("dashboard", warning.Message, StringComparison.Ordinal);
            Assert.Equal(await StatusAsync(open, "/anything/json?poll=1"), await StatusAsync(open, "/v1/dashboard"));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(open, "/v1/dashboard"));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(open, "/dashboard"));
        }

        // With a token on the same bind: both refuse a request without one, and no warning.
        await using var guarded = await GatewayHost.StartConnectedAsync(server.Port, "--urls", $"http://0.0.0.0:{port}", "--token", "bind-token");
        Assert.DoesNotContain(guarded.Logs.Entries, e => e.EventId.Id == 3021);
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(guarded, "/anything/json?poll=1"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(guarded, "/v1/dashboard"));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(guarded, "/dashboard"));
    }

    /// <summary>A GET through loopback to a gateway bound to every address.</summary>
    private static async Task<HttpStatusCode> StatusAsync(GatewayHost gateway, string path)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gateway.BaseAddress.Port}"), Timeout = TaskTimeoutExtensions.DefaultTimeout };
        using var response = await client.GetAsync(path, Ct);
        return response.StatusCode;
    }

    [Fact]
    public async Task The_page_is_served_with_the_web_apps_policy_and_Dashboard_false_turns_it_off()
    {
        await using (var gateway = await GatewayHost.StartAsync(new RecordingPublisher()))
        {
            using var page = await gateway.Client.GetAsync("/dashboard", Ct);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
            Assert.Equal(Notistream.Gateway.Endpoints.WebApp.ContentSecurityPolicy, page.Headers.GetValues("Content-Security-Policy").Single());
            var html = await page.Content.ReadAsStringAsync(Ct);
            Assert.Contains("/dashboard/dashboard.js", html, StringComparison.Ordinal);
            Assert.DoesNotContain("://", html, StringComparison.Ordinal); // nothing from elsewhere
            foreach (var file in new[] { "/dashboard/dashboard.js", "/dashboard/dashboard.css" })
            {
                using var asset = await gateway.Client.GetAsync(file, Ct);
                Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
                Assert.NotEmpty(await asset.Content.ReadAsByteArrayAsync(Ct));
            }
        }

        await using (var off = await GatewayHost.StartAsync(new RecordingPublisher(), "--Dashboard", "false"))
        {
            foreach (var path in new[] { "/dashboard", "/v1/dashboard", "/dashboard/dashboard.js" })
            {
                using var response = await off.Client.GetAsync(path, Ct);
                // 405 where POST /{channel} takes the path: nothing is served either way.
                Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"{path}: {response.StatusCode}");
            }
        }
    }

    [Fact]
    public async Task Many_viewers_within_a_second_cost_one_INFO_and_rates_come_from_the_deltas()
    {
        await using var server = await NotistreamServer.StartAsync();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var logs = new LogCapture();
        await using var app = GatewayApplication.Create(["--urls", "http://127.0.0.1:0", "--server", $"127.0.0.1:{server.Port}"], new Hashtable(), builder =>
        {
            builder.Logging.ClearProviders().AddProvider(logs);
            builder.Services.AddSingleton<TimeProvider>(clock);
        });
        await app.StartAsync(Ct);
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.Single()), Timeout = TaskTimeoutExtensions.DefaultTimeout };
        var snapshots = app.Services.GetRequiredService<DashboardSnapshots>();
        await Poll.UntilAsync(async () => (await client.GetAsync("/readyz", Ct)).IsSuccessStatusCode, "the gateway to connect");

        var first = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.GetStringAsync("/v1/dashboard", Ct)));

        Assert.Equal(1, snapshots.ServerQueries);
        Assert.Single(first.Distinct());
        await using var publisher = await ServerPublisher.ConnectAsync(server.Port);
        for (var i = 0; i < 3; i++)
        {
            await publisher.PublishAsync("rates", $"m{i}");
        }

        // Still within the second: the same snapshot, without the publishes.
        clock.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Equal(first[0], await client.GetStringAsync("/v1/dashboard", Ct));
        Assert.Equal(1, snapshots.ServerQueries);

        clock.Advance(TimeSpan.FromMilliseconds(600));
        var second = JsonDocument.Parse(await client.GetStringAsync("/v1/dashboard", Ct)).RootElement;
        Assert.Equal(2, snapshots.ServerQueries);
        Assert.Equal(1.5, second.GetProperty("rateWindowSeconds").GetDouble());
        Assert.Equal(3, second.GetProperty("published").GetProperty("total").GetInt64());
        Assert.Equal(2.0, second.GetProperty("published").GetProperty("perSecond").GetDouble());
        Assert.Equal(0.0, second.GetProperty("delivered").GetProperty("perSecond").GetDouble()); // nobody subscribed
        await app.StopAsync(Ct);
    }

    [Fact]
    public async Task The_docs_dashboard_commands_print_the_snapshot()
    {
        ExternalProgram.Require("curl", "apt-get install curl");
        const string token = "a-dashboard-token";
        await using var open = await GatewayHost.StartAsync(new RecordingPublisher());
        await using var guarded = await GatewayHost.StartAsync(new RecordingPublisher(), "--token", token);

        var plain = await RunAsync(DocPage.Command("docs/gateway.md", "curl -s http://127.0.0.1:8080/v1/dashboard"), open.BaseAddress.Port, null);
        Assert.True(JsonDocument.Parse(plain).RootElement.TryGetProperty("clients", out _), plain);

        var command = DocPage.Command("docs/gateway.md", "curl -s -u \":$NOTISTREAM_TOKEN\"");
        var withToken = await RunAsync(command, guarded.BaseAddress.Port, token);
        Assert.True(JsonDocument.Parse(withToken).RootElement.TryGetProperty("clients", out _), withToken);
        var refused = await RunAsync(command, guarded.BaseAddress.Port, "wrong");
        Assert.Contains("403", refused, StringComparison.Ordinal); // the token was what made it pass
    }

    private static async Task<string> RunAsync(string command, int port, string? token)
    {
        var start = new ProcessStartInfo("bash", ["-c", command.Replace("8080", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["NOTISTREAM_TOKEN"] = token ?? string.Empty;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct).WithTimeout();
        return await output;
    }

    /// <summary>A clock that moves only when told, so the cache's second is the test's to decide.</summary>
    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private long _ticks = start.UtcTicks;

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
