using System.Collections;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.Tests.Infrastructure;
using static Notistream.Gateway.Tests.Endpoints.PublishEndpointTests;

namespace Notistream.Gateway.Tests.Endpoints;

/// <summary>
/// ntfy's publish API (docs/publish.md, server/server.go of ntfy): every route, header and query alias,
/// the reply next to ntfy's message JSON and the errors next to ntfy's error JSON, through the real pipeline.
/// </summary>
public sealed class NtfyPublishTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<HttpResponseMessage> SendAsync(GatewayHost gateway, HttpMethod method, string path, string? body = null,
        params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body);
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await gateway.Client.SendAsync(request, Ct);
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
        => await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

    private static string Published(RecordingPublisher publisher) => Encoding.UTF8.GetString(Assert.Single(publisher.Attempts).Message);

    /// <summary>The names of the reply's properties, in order.</summary>
    private static string[] Names(JsonElement json) => [.. json.EnumerateObject().Select(p => p.Name)];

    [Fact]
    public async Task Put_with_headers_answers_ntfys_message_json_field_by_field()
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Published(2, "1765101234567-3") };
        await using var gateway = await GatewayHost.StartAsync(publisher);

        // ntfy's docs: curl -H "Title: Unauthorized access detected" -H "Priority: urgent" -H "Tags: warning,skull" -d "Remote access to phils-laptop detected. Act right away." ntfy.sh/phil_alerts
        using var response = await SendAsync(gateway, HttpMethod.Put, "/phil_alerts", "Remote access to phils-laptop detected. Act right away.",
            ("Title", "Unauthorized access detected"), ("Priority", "urgent"), ("Tags", "warning, skull"),
            ("Click", "https://home.nest.com/"), ("Icon", "https://styles.redditmedia.com/t5_32uhe/styles/communityIcon_xnt6chtnr2j21.png"),
            ("Markdown", "yes"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = await ReadJsonAsync(response);
        Assert.Equal(["id", "time", "event", "topic", "title", "message", "priority", "tags", "click", "icon", "content_type", "channel", "receivers"], Names(json));
        Assert.Equal("1765101234567-3", json.GetProperty("id").GetString());
        Assert.Equal(1765101234L, json.GetProperty("time").GetInt64());
        Assert.Equal("message", json.GetProperty("event").GetString());
        Assert.Equal("phil_alerts", json.GetProperty("topic").GetString());
        Assert.Equal("Unauthorized access detected", json.GetProperty("title").GetString());
        Assert.Equal("Remote access to phils-laptop detected. Act right away.", json.GetProperty("message").GetString());
        Assert.Equal(5, json.GetProperty("priority").GetInt32());
        Assert.Equal(["warning", "skull"], json.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("https://home.nest.com/", json.GetProperty("click").GetString());
        Assert.Equal("text/markdown", json.GetProperty("content_type").GetString());
        Assert.Equal("phil_alerts", json.GetProperty("channel").GetString());
        Assert.Equal(2, json.GetProperty("receivers").GetInt64());

        var attempt = Assert.Single(publisher.Attempts);
        Assert.Equal(("phil_alerts", "body"), (attempt.Channel, attempt.Source));
        Assert.Equal(
            """{"message":"Remote access to phils-laptop detected. Act right away.","title":"Unauthorized access detected","priority":5,"tags":["warning","skull"],"click":"https://home.nest.com/","icon":"https://styles.redditmedia.com/t5_32uhe/styles/communityIcon_xnt6chtnr2j21.png","markdown":true}""",
            Encoding.UTF8.GetString(attempt.Message));
    }

    [Fact]
    public async Task Post_of_a_plain_body_stays_201_publishes_the_body_and_answers_the_short_message_json()
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Published(0) };
        await using var gateway = await GatewayHost.StartAsync(publisher);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        using var response = await SendAsync(gateway, HttpMethod.Post, "/mytopic", "Backup successful 😀");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await ReadJsonAsync(response);
        // ntfy's example answer: {"id":"sPs71M8A2T","time":1643935928,"event":"message","topic":"mytopic","message":"Backup successful 😀"}
        Assert.Equal(["id", "time", "event", "topic", "message", "channel", "receivers"], Names(json));
        Assert.Matches("^[A-Za-z0-9]{12}$", json.GetProperty("id").GetString()); // no history: ntfy's kind of id
        Assert.InRange(json.GetProperty("time").GetInt64(), before, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal("Backup successful 😀", json.GetProperty("message").GetString());
        Assert.Equal("Backup successful 😀", Published(publisher));
    }

    [Theory]
    [InlineData("X-Title", "Title")]
    [InlineData("Title", "Title")]
    [InlineData("t", "Title")]
    [InlineData("X-Priority", "Priority")]
    [InlineData("Priority", "Priority")]
    [InlineData("prio", "Priority")]
    [InlineData("p", "Priority")]
    [InlineData("X-Tags", "Tags")]
    [InlineData("Tags", "Tags")]
    [InlineData("tag", "Tags")]
    [InlineData("ta", "Tags")]
    [InlineData("X-Click", "Click")]
    [InlineData("Click", "Click")]
    [InlineData("X-Icon", "Icon")]
    [InlineData("Icon", "Icon")]
    [InlineData("X-Markdown", "Markdown")]
    [InlineData("Markdown", "Markdown")]
    [InlineData("md", "Markdown")]
    public async Task Every_alias_works_as_a_header_and_as_a_query_parameter(string name, string field)
    {
        var (value, expected) = field switch
        {
            "Title" => ("Hi there", """{"message":"body","title":"Hi there"}"""),
            "Priority" => ("high", """{"message":"body","priority":4}"""),
            "Tags" => ("tag1,tag2", """{"message":"body","tags":["tag1","tag2"]}"""),
            "Click" => ("https://example.com/x", """{"message":"body","click":"https://example.com/x"}"""),
            "Icon" => ("https://example.com/i.png", """{"message":"body","icon":"https://example.com/i.png"}"""),
            _ => ("true", """{"message":"body","markdown":true}"""),
        };
        var asHeader = new RecordingPublisher();
        var asQuery = new RecordingPublisher();
        await using (var gateway = await GatewayHost.StartAsync(asHeader))
        {
            using var response = await SendAsync(gateway, HttpMethod.Post, "/topic", "body", (name, value));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await using (var gateway = await GatewayHost.StartAsync(asQuery))
        {
            using var response = await SendAsync(gateway, HttpMethod.Put, $"/topic?{name.ToLowerInvariant()}={Uri.EscapeDataString(value)}", "body");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(expected, Published(asHeader));
        Assert.Equal(expected, Published(asQuery));
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("min", 1)]
    [InlineData("2", 2)]
    [InlineData("LOW", 2)]
    [InlineData("4", 4)]
    [InlineData("high", 4)]
    [InlineData("5", 5)]
    [InlineData("max", 5)]
    [InlineData("urgent", 5)]
    public async Task Priorities_by_number_and_by_name(string given, int expected)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await SendAsync(gateway, HttpMethod.Post, "/topic", "m", ("Priority", given));

        Assert.Equal(expected, (await ReadJsonAsync(response)).GetProperty("priority").GetInt32());
        Assert.Equal($$"""{"message":"m","priority":{{expected}}}""", Published(publisher));
    }

    [Theory]
    [InlineData("3")]
    [InlineData("default")]
    public async Task Default_priority_alone_publishes_the_plain_body_and_answers_priority_3(string given)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await SendAsync(gateway, HttpMethod.Post, "/topic", "m", ("X-Priority", given));

        Assert.Equal(3, (await ReadJsonAsync(response)).GetProperty("priority").GetInt32());
        Assert.Equal("m", Published(publisher));
    }

    [Fact]
    public async Task Rfc_9218_priority_header_from_a_proxy_is_ignored_as_ntfy_does()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await SendAsync(gateway, HttpMethod.Post, "/topic?p=2", "m", ("Priority", "u=3, i"));

        Assert.Equal("""{"message":"m","priority":2}""", Published(publisher));
    }

    [Theory]
    [InlineData("Priority", "6")]
    [InlineData("Priority", "0")]
    [InlineData("X-Priority", "critical")]
    [InlineData("p", "hi")]
    public async Task Unknown_priority_is_400_with_ntfys_40007(string header, string value)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await SendAsync(gateway, HttpMethod.Put, "/topic", "m", (header, value));

        await AssertNtfyError(response, HttpStatusCode.BadRequest, 40007, "invalid priority parameter", "https://ntfy.sh/docs/publish/#message-priority");
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Unknown_priority_as_a_query_parameter_is_400_too()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await gateway.Client.GetAsync("/topic/publish?message=m&prio=7", Ct);

        await AssertNtfyError(response, HttpStatusCode.BadRequest, 40007, "invalid priority parameter", "https://ntfy.sh/docs/publish/#message-priority");
        Assert.Empty(publisher.Attempts);
    }

    [Theory]
    [InlineData("publish")]
    [InlineData("send")]
    [InlineData("trigger")]
    public async Task Get_publish_send_and_trigger_take_everything_from_the_query(string verb)
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Published(1, "1700000000000-0") };
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await gateway.Client.GetAsync($"/mywebhook/{verb}?message=Webhook+triggered%21&t=Alert&tags=rotating_light&priority=4", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await ReadJsonAsync(response);
        Assert.Equal(["id", "time", "event", "topic", "title", "message", "priority", "tags", "channel", "receivers"], Names(json));
        Assert.Equal("Webhook triggered!", json.GetProperty("message").GetString());
        var attempt = Assert.Single(publisher.Attempts);
        Assert.Equal(("mywebhook", "query"), (attempt.Channel, attempt.Source));
        Assert.Equal("""{"message":"Webhook triggered!","title":"Alert","priority":4,"tags":["rotating_light"]}""", Encoding.UTF8.GetString(attempt.Message));
    }

    [Fact]
    public async Task Get_with_only_a_message_publishes_it_plain_and_message_aliases_work()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var m = await gateway.Client.GetAsync("/topic/publish?m=one%5Cntwo", Ct);
        using var header = await SendAsync(gateway, HttpMethod.Get, "/topic/send", null, ("X-Message", "three"));
        using var plain = await SendAsync(gateway, HttpMethod.Post, "/topic", null, ("Message", "four"));
        using var bodyWins = await SendAsync(gateway, HttpMethod.Put, "/topic?message=ignored", "five");

        Assert.Equal(HttpStatusCode.OK, m.StatusCode);
        Assert.Equal(["one\ntwo", "three", "four", "five"], publisher.Attempts.Select(a => Encoding.UTF8.GetString(a.Message)));
    }

    [Fact]
    public async Task Get_without_a_message_and_empty_bodies_are_400()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var get = await gateway.Client.GetAsync("/topic/trigger?title=x", Ct);
        using var put = await SendAsync(gateway, HttpMethod.Put, "/topic", "", ("Title", "x"));

        await AssertNtfyError(get, HttpStatusCode.BadRequest, 40000, "invalid request; message is empty", null);
        await AssertNtfyError(put, HttpStatusCode.BadRequest, 40000, "invalid request; message is empty", null);
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Get_of_other_paths_is_not_a_publish()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await gateway.Client.GetAsync("/topic/publisher?message=m", Ct);
        using var twoSegments = await gateway.Client.GetAsync("/a/b/publish?message=m", Ct);

        Assert.True((int)response.StatusCode >= 400, $"{response.StatusCode}");
        Assert.True((int)twoSegments.StatusCode >= 400, $"{twoSegments.StatusCode}");
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Rfc_2047_encoded_headers_are_decoded_as_ntfy_does()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await SendAsync(gateway, HttpMethod.Post, "/topic", "m",
            ("Title", "=?UTF-8?B?8J+HqfCfh6o=?= =?UTF-8?Q?caf=C3=A9?="), ("Tags", "tag1,=?UTF-8?B?8J+HqfCfh6o=?="));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"message":"m","title":"🇩🇪café","tags":["tag1","🇩🇪"]}""", Published(publisher));
    }

    [Fact]
    public async Task Raw_UTF8_header_values_as_curl_sends_them_are_read_as_UTF8()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        // curl -H "Title: Ünïcode ✓" -H "Tags: 🎉" -d m http://host/topic: the header's bytes are UTF-8, as HttpClient will not send them.
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(gateway.BaseAddress.Host, gateway.BaseAddress.Port, Ct);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(
            $"POST /topic HTTP/1.1\r\nHost: {gateway.BaseAddress.Authority}\r\nTitle: Ünïcode ✓\r\nTags: 🎉\r\nContent-Length: 1\r\nConnection: close\r\n\r\nm"), Ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var status = await reader.ReadLineAsync(Ct);

        Assert.Equal("HTTP/1.1 200 OK", status);
        Assert.Equal("""{"message":"m","title":"Ünïcode ✓","tags":["🎉"]}""", Published(publisher));
    }

    [Fact]
    public async Task Json_with_topic_to_root_publishes_the_ntfy_way()
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Published(1, "1700000000999-7") };
        await using var gateway = await GatewayHost.StartAsync(publisher);

        // ntfy's docs: curl ntfy.sh -d '{"topic": "mytopic", …}' — sent as a form, as curl -d does.
        using var content = new StringContent(
            """{"topic":"mytopic","message":"Disk space is low at 5.1 GB","title":"Low disk space alert","tags":["warning","cd"],"priority":4,"attach":"https://filesrv.lan/space.jpg","filename":"diskspace.jpg","click":"https://homecamera.lan/xasds1h2xsSsa/","actions":[],"icon":"https://example.com/i.png","markdown":true}""",
            Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await gateway.Client.PostAsync("/", content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await ReadJsonAsync(response);
        Assert.Equal(["id", "time", "event", "topic", "title", "message", "priority", "tags", "click", "icon", "content_type", "channel", "receivers"], Names(json));
        Assert.Equal(("1700000000999-7", 1700000000L), (json.GetProperty("id").GetString(), json.GetProperty("time").GetInt64()));
        Assert.Equal("mytopic", json.GetProperty("topic").GetString());
        var attempt = Assert.Single(publisher.Attempts);
        Assert.Equal(("mytopic", "ntfy-json"), (attempt.Channel, attempt.Source));
        Assert.Equal(
            """{"message":"Disk space is low at 5.1 GB","title":"Low disk space alert","priority":4,"tags":["warning","cd"],"click":"https://homecamera.lan/xasds1h2xsSsa/","icon":"https://example.com/i.png","markdown":true}""",
            Encoding.UTF8.GetString(attempt.Message));
    }

    [Fact]
    public async Task Json_with_topic_and_only_a_message_publishes_it_plain_without_a_content_type_too()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        var content = new ByteArrayContent("""{"topic":"t","message":"hi","priority":0}"""u8.ToArray());
        using var response = await gateway.Client.PutAsync("/", content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hi", Published(publisher));
    }

    [Fact]
    public async Task Json_with_channel_keeps_todays_meaning_even_beside_topic()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await gateway.Client.PostAsync("/", Json("""{"channel":"c","topic":"t","message":"m","title":"x"}"""), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var json = await ReadJsonAsync(response);
        Assert.Equal(["channel", "receivers", "id"], Names(json));
        var attempt = Assert.Single(publisher.Attempts);
        Assert.Equal(("c", "m", "json"), (attempt.Channel, Encoding.UTF8.GetString(attempt.Message), attempt.Source));
    }

    [Theory]
    [InlineData("""{"topic":"t","message":"m","priority":9}""", 40007, "invalid priority parameter")]
    [InlineData("""{"topic":"t","message":"m","priority":"high"}""", 40024, "invalid request: request body must be valid JSON; priority must be a number 1–5")]
    [InlineData("""{"topic":"t","message":"m","tags":"a,b"}""", 40024, "invalid request: request body must be valid JSON; tags must be an array of strings")]
    [InlineData("""{"topic":"t","message":5}""", 40024, "invalid request: request body must be valid JSON; message must be a string")]
    [InlineData("""{"topic":"t","message":"m","markdown":"yes"}""", 40024, "invalid request: request body must be valid JSON; markdown must be true or false")]
    [InlineData("""{"topic":"","message":"m"}""", 40009, "invalid request: topic invalid; channel is empty")]
    [InlineData("""{"topic":"t"}""", 40000, "invalid request; message is empty: give \"message\"")]
    [InlineData("""{"topic":"t","message":"m","icon":"ftp://x/i.png"}""", 40021, "invalid request: icon URL is invalid")]
    public async Task Bad_ntfy_json_is_400_with_ntfys_code(string body, int code, string error)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await gateway.Client.PostAsync("/", Json(body), Ct);

        var link = code switch
        {
            40007 => "https://ntfy.sh/docs/publish/#message-priority",
            40021 => "https://ntfy.sh/docs/publish/#icons",
            _ => null,
        };
        var json = await AssertNtfyError(response, HttpStatusCode.BadRequest, code, error, link);
        Assert.Equal(error, json.GetProperty("error").GetString());
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Headers_over_their_bounds_are_400_saying_which()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);
        var url = "https://example.com/" + new string('x', 2048 - 20);

        using var title = await SendAsync(gateway, HttpMethod.Post, "/t", "m", ("Title", new string('x', 257)));
        using var titleAtLimit = await SendAsync(gateway, HttpMethod.Post, $"/t?title={string.Concat(Enumerable.Repeat("%C3%A9", 128))}", "m"); // 256 bytes
        using var click = await SendAsync(gateway, HttpMethod.Post, "/t", "m", ("Click", url + "x"));
        using var icon = await SendAsync(gateway, HttpMethod.Post, "/t", "m", ("Icon", url + "x"));
        using var urlsAtLimit = await SendAsync(gateway, HttpMethod.Post, "/t", "m", ("Click", url), ("Icon", url));
        using var tags = await SendAsync(gateway, HttpMethod.Post, "/t", "m", ("Tags", string.Join(',', Enumerable.Range(0, 17))));
        using var tag = await SendAsync(gateway, HttpMethod.Post, "/t", "m", ("Tags", "a," + new string('b', 65)));
        using var tagsAtLimit = await SendAsync(gateway, HttpMethod.Post, "/t", "m", ("Tags", string.Join(',', Enumerable.Repeat(new string('b', 64), 16))));
        using var jsonTitle = await gateway.Client.PostAsync("/", Json($$"""{"topic":"t","message":"m","title":"{{new string('x', 257)}}"}"""), Ct);

        await AssertNtfyError(title, HttpStatusCode.BadRequest, 40000, "invalid request; title is longer than 256 bytes", null);
        Assert.Equal(HttpStatusCode.OK, titleAtLimit.StatusCode);
        await AssertNtfyError(click, HttpStatusCode.BadRequest, 40000, "invalid request; click is longer than 2048 bytes", null);
        await AssertNtfyError(icon, HttpStatusCode.BadRequest, 40000, "invalid request; icon is longer than 2048 bytes", null);
        Assert.Equal(HttpStatusCode.OK, urlsAtLimit.StatusCode);
        await AssertNtfyError(tags, HttpStatusCode.BadRequest, 40000, "invalid request; tags: 17 given, at most 16", null);
        await AssertNtfyError(tag, HttpStatusCode.BadRequest, 40000, "invalid request; a tag is longer than 64 bytes", null);
        Assert.Equal(HttpStatusCode.OK, tagsAtLimit.StatusCode);
        await AssertNtfyError(jsonTitle, HttpStatusCode.BadRequest, 40000, "invalid request; title is longer than 256 bytes", null);
        Assert.Equal(3, publisher.Attempts.Count);
    }

    [Fact]
    public async Task Body_and_message_parameter_are_bounded_by_MaxMessageBytes()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--MaxMessageBytes", "100");

        using var body = await SendAsync(gateway, HttpMethod.Put, "/t", new string('a', 101), ("Title", "x"));
        using var parameter = await gateway.Client.GetAsync($"/t/publish?message={new string('a', 101)}", Ct);
        using var atLimit = await gateway.Client.GetAsync($"/t/publish?message={new string('a', 100)}", Ct);

        await AssertProblem(body, HttpStatusCode.RequestEntityTooLarge, "larger than the limit of 100 bytes");
        await AssertProblem(parameter, HttpStatusCode.RequestEntityTooLarge, "larger than the limit of 100 bytes");
        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);
        Assert.Single(publisher.Attempts);
    }

    [Fact]
    public async Task A_body_that_is_not_UTF8_goes_plain_alone_and_is_40011_with_a_title()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);
        byte[] binary = [0xFF, 0xFE, 0x00, (byte)'x'];

        using var alone = await gateway.Client.PutAsync("/t", new ByteArrayContent(binary), Ct);
        using var titled = new HttpRequestMessage(HttpMethod.Put, "/t") { Content = new ByteArrayContent(binary) };
        titled.Headers.Add("Title", "x");
        using var withTitle = await gateway.Client.SendAsync(titled, Ct);

        Assert.Equal(HttpStatusCode.OK, alone.StatusCode);
        var json = await ReadJsonAsync(alone);
        Assert.Equal((Convert.ToBase64String(binary), "base64"), (json.GetProperty("message").GetString(), json.GetProperty("encoding").GetString()));
        Assert.Equal(binary, Assert.Single(publisher.Attempts).Message);
        await AssertNtfyError(withTitle, HttpStatusCode.BadRequest, 40011, "invalid request: message must be UTF-8 encoded", null);
    }

    [Fact]
    public async Task Put_to_a_channel_with_slashes_and_a_bad_channel_are_handled_as_post()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--MaxChannelBytes", "10");

        using var nested = await SendAsync(gateway, HttpMethod.Put, "/ci/nightly", "m");
        using var tooLong = await SendAsync(gateway, HttpMethod.Put, "/abcdefghijk", "m");

        Assert.Equal(HttpStatusCode.OK, nested.StatusCode);
        Assert.Equal("ci/nightly", Assert.Single(publisher.Attempts).Channel);
        await AssertNtfyError(tooLong, HttpStatusCode.BadRequest, 40009, "invalid request: topic invalid; channel is longer than 10 bytes", null);
    }

    [Fact]
    public async Task Publish_failures_keep_their_status_with_ntfys_fields()
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Unavailable("not connected to the pub/sub server") };
        await using var gateway = await GatewayHost.StartAsync(publisher, "--RetryAfterSeconds", "7");

        using var response = await SendAsync(gateway, HttpMethod.Put, "/t", "m", ("Title", "x"));

        var json = await AssertNtfyError(response, HttpStatusCode.ServiceUnavailable, null, "not published: not connected to the pub/sub server", null);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.False(json.TryGetProperty("code", out _));
    }

    private static Hashtable ScopedTokens() => new()
    {
        ["NOTISTREAM_TOKEN"] = "global-t0ken",
        ["Gateway__Tokens__0__Token"] = "alerts-t0ken",
        ["Gateway__Tokens__0__Channels__0"] = "alerts*",
    };

    public static TheoryData<string, string> Routes => new()
    {
        { "PUT", "/alerts" },
        { "POST", "/alerts" },
        { "GET", "/alerts/publish?message=m" },
        { "GET", "/alerts/send?message=m" },
        { "GET", "/alerts/trigger?message=m" },
        { "POST", "/" },
        { "PUT", "/" },
    };

    private static HttpRequestMessage Request(string method, string path, string channel = "alerts")
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("alerts", channel, StringComparison.Ordinal));
        if (method != "GET")
        {
            request.Content = path == "/" || path.StartsWith("/?", StringComparison.Ordinal)
                ? new StringContent($$"""{"topic":"{{channel}}","message":"m","title":"x"}""", Encoding.UTF8, "application/json")
                : new StringContent("m");
        }

        return request;
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Every_route_needs_a_token_as_POST_channel_does(string method, string path)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, ScopedTokens());

        using var none = await gateway.Client.SendAsync(Request(method, path), Ct);
        using var wrongRequest = Request(method, path);
        wrongRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "nope");
        using var wrong = await gateway.Client.SendAsync(wrongRequest, Ct);
        using var outOfScopeRequest = Request(method, path, "home");
        outOfScopeRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "alerts-t0ken");
        using var outOfScope = await gateway.Client.SendAsync(outOfScopeRequest, Ct);
        using var scopedRequest = Request(method, path);
        scopedRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "alerts-t0ken");
        using var scoped = await gateway.Client.SendAsync(scopedRequest, Ct);

        await AssertNtfyError(none, HttpStatusCode.Unauthorized, 40101, "unauthorized", "https://ntfy.sh/docs/publish/#authentication");
        await AssertNtfyError(wrong, HttpStatusCode.Forbidden, 40301, "forbidden", "https://ntfy.sh/docs/publish/#authentication");
        await AssertNtfyError(outOfScope, HttpStatusCode.Forbidden, 40301, "forbidden", "https://ntfy.sh/docs/publish/#authentication");
        Assert.True(scoped.IsSuccessStatusCode, $"{scoped.StatusCode}");
        Assert.Equal("alerts", Assert.Single(publisher.Attempts).Channel);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Auth_query_parameter_is_the_authorization_header_in_base64url(string method, string path)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, ScopedTokens());
        var separator = path.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        static string Auth(string header) => Convert.ToBase64String(Encoding.UTF8.GetBytes(header)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        using var bearer = await gateway.Client.SendAsync(Request(method, $"{path}{separator}auth={Auth("Bearer global-t0ken")}"), Ct);
        // ntfy's Basic auth with an empty user name: the password is the token.
        using var basic = await gateway.Client.SendAsync(Request(method, $"{path}{separator}auth={Auth("Basic " + Convert.ToBase64String(":alerts-t0ken"u8))}"), Ct);
        using var wrong = await gateway.Client.SendAsync(Request(method, $"{path}{separator}auth={Auth("Bearer nope")}"), Ct);
        using var garbled = await gateway.Client.SendAsync(Request(method, $"{path}{separator}auth=%21%21%21"), Ct);
        using var outOfScope = await gateway.Client.SendAsync(Request(method, $"{path}{separator}auth={Auth("Bearer alerts-t0ken")}", "home"), Ct);

        Assert.True(bearer.IsSuccessStatusCode, $"{bearer.StatusCode}");
        Assert.True(basic.IsSuccessStatusCode, $"{basic.StatusCode}");
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, garbled.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, outOfScope.StatusCode);
        Assert.Equal(2, publisher.Attempts.Count);
    }

    [Fact]
    public async Task New_routes_are_rate_limited_as_post_is()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--RateLimit:PermitsPerMinute", "2", "--RateLimit:ExemptLoopback", "false");

        using var put = await SendAsync(gateway, HttpMethod.Put, "/c", "m");
        using var get = await gateway.Client.GetAsync("/c/publish?m=x", Ct);
        using var third = await gateway.Client.GetAsync("/c/trigger?m=x", Ct);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], new[] { put.StatusCode, get.StatusCode, third.StatusCode });
        Assert.True(third.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        var error = await AssertNtfyError(third, HttpStatusCode.TooManyRequests, 42901, "limit reached: too many requests", "https://ntfy.sh/docs/publish/#limitations");
        Assert.Contains("2 requests a minute", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>A problem (status and detail, as every gateway error) that is also ntfy's error JSON: <c>code</c>, <c>http</c>, <c>error</c>, <c>link</c>.</summary>
    internal static async Task<JsonElement> AssertNtfyError(HttpResponseMessage response, HttpStatusCode status, int? code, string errorStartsWith, string? link)
    {
        Assert.Equal(status, response.StatusCode);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal((int)status, json.GetProperty("status").GetInt32());
        Assert.Equal((int)status, json.GetProperty("http").GetInt32());
        if (code is not null)
        {
            Assert.Equal(code, json.GetProperty("code").GetInt32());
        }

        Assert.StartsWith(errorStartsWith, json.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(json.GetProperty("detail").GetString()));
        if (link is null)
        {
            Assert.False(json.TryGetProperty("link", out _));
        }
        else
        {
            Assert.Equal(link, json.GetProperty("link").GetString());
        }

        return json;
    }
}
