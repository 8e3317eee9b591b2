using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Endpoints;

/// <summary>Every status code of <c>POST /</c> and <c>POST /{channel}</c>, through the real pipeline on a real socket.</summary>
public sealed class PublishEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Form_post_publishes_and_answers_201_with_channel_receivers_and_id()
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Published(3, "1700000000000-4") };
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await gateway.Client.PostAsync("/", Form(("message", "hello"), ("channel", "channel1")), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("channel1", body.GetProperty("channel").GetString());
        Assert.Equal(3, body.GetProperty("receivers").GetInt64());
        Assert.Equal("1700000000000-4", body.GetProperty("id").GetString());
        var attempt = Assert.Single(publisher.Attempts);
        Assert.Equal("channel1", attempt.Channel);
        Assert.Equal("hello"u8.ToArray(), attempt.Message);
        Assert.Equal("form", attempt.Source);
    }

    [Fact]
    public async Task Multipart_form_json_and_raw_body_all_publish_their_message()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var multipart = new MultipartFormDataContent { { new StringContent("multi"), "message" }, { new StringContent("c1"), "channel" } };
        Assert.Equal(HttpStatusCode.Created, (await gateway.Client.PostAsync("/", multipart, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await gateway.Client.PostAsync("/", Json("""{"channel":"c2","message":"jsön","extra":1}"""), Ct)).StatusCode);
        byte[] binary = [0, 1, 2, 13, 10, 0xFF, 0xFE, (byte)'x'];
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.PostAsync("/team/builds", new ByteArrayContent(binary), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.PostAsync("/alerts", new StringContent("text body", Encoding.UTF8, "text/plain"), Ct)).StatusCode);

        Assert.Equal(["c1", "c2", "team/builds", "alerts"], publisher.Attempts.Select(a => a.Channel));
        Assert.Equal(["form", "json", "body", "body"], publisher.Attempts.Select(a => a.Source));
        Assert.Equal(["multi"u8.ToArray(), "jsön"u8.ToArray(), binary, "text body"u8.ToArray()], publisher.Attempts.Select(a => a.Message));
    }

    [Theory]
    [InlineData("channel=c", "message is missing")]
    [InlineData("message=m", "channel is missing")]
    [InlineData("channel=&message=m", "channel is empty")]
    [InlineData("channel=%20%20&message=m", "channel is empty")]
    [InlineData("channel=c&message=", "message is empty")]
    [InlineData("channel=a&channel=b&message=m", "channel is given 2 times; give it once")]
    [InlineData("channel=a%0Ab&message=m", "channel contains a control character")]
    public async Task Form_with_a_missing_empty_or_invalid_field_is_400_saying_which(string form, string expected)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var content = new StringContent(form, Encoding.ASCII, "application/x-www-form-urlencoded");
        using var response = await gateway.Client.PostAsync("/", content, Ct);

        await AssertProblem(response, HttpStatusCode.BadRequest, expected);
        Assert.Empty(publisher.Attempts);
    }

    [Theory]
    [InlineData("""{"channel":"c"}""", "message is missing")]
    [InlineData("""{"channel":"c","message":null}""", "message is missing")]
    [InlineData("""{"channel":"c","message":42}""", "message must be a JSON string, not number")]
    [InlineData("""{"channel":"","message":"m"}""", "channel is empty")]
    [InlineData("""["c","m"]""", "the JSON body must be an object")]
    [InlineData("""{"channel":"c",""", "the body is not valid JSON")]
    public async Task Json_with_a_missing_empty_or_invalid_field_is_400_saying_which(string json, string expected)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await gateway.Client.PostAsync("/", Json(json), Ct);

        await AssertProblem(response, HttpStatusCode.BadRequest, expected);
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Channel_over_the_length_limit_is_400_and_at_the_limit_is_published()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--MaxChannelBytes", "10");

        using var tooLong = await gateway.Client.PostAsync("/", Form(("channel", "abcdefghijk"), ("message", "m")), Ct);
        // 5 two-byte characters: 10 UTF-8 bytes, exactly the limit.
        using var atLimit = await gateway.Client.PostAsync("/", Form(("channel", "ééééé"), ("message", "m")), Ct);
        using var rawTooLong = await gateway.Client.PostAsync("/abcdefghijk", new StringContent("m"), Ct);

        await AssertProblem(tooLong, HttpStatusCode.BadRequest, "channel is longer than 10 bytes");
        Assert.Equal(HttpStatusCode.Created, atLimit.StatusCode);
        await AssertProblem(rawTooLong, HttpStatusCode.BadRequest, "channel is longer than 10 bytes");
        Assert.Equal("ééééé", Assert.Single(publisher.Attempts).Channel);
    }

    [Fact]
    public async Task Raw_post_with_an_empty_body_is_400()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await gateway.Client.PostAsync("/alerts", new ByteArrayContent([]), Ct);

        await AssertProblem(response, HttpStatusCode.BadRequest, "message is empty");
        Assert.Empty(publisher.Attempts);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData(null)]
    public async Task Root_post_with_another_content_type_is_415(string? contentType)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        var content = new ByteArrayContent("channel=c&message=m"u8.ToArray());
        if (contentType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        using var response = await gateway.Client.PostAsync("/", content, Ct);

        await AssertProblem(response, HttpStatusCode.UnsupportedMediaType, "POST /{channel}");
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Body_over_the_size_limit_is_413_with_or_without_content_length()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--MaxMessageBytes", "1000");

        var atLimit = new string('a', 1000);
        using var exactly = await gateway.Client.PostAsync("/big", new StringContent(atLimit), Ct);
        using var declared = await gateway.Client.PostAsync("/big", new StringContent(atLimit + "b"), Ct);
        using var chunked = await gateway.Client.PostAsync("/big", new ChunkedContent(new byte[5000]), Ct);
        using var form = await gateway.Client.PostAsync("/", Form(("channel", "c"), ("message", atLimit)), Ct);

        Assert.Equal(HttpStatusCode.OK, exactly.StatusCode);
        await AssertProblem(declared, HttpStatusCode.RequestEntityTooLarge, "larger than the limit of 1000 bytes");
        await AssertProblem(chunked, HttpStatusCode.RequestEntityTooLarge, "larger than the limit of 1000 bytes");
        await AssertProblem(form, HttpStatusCode.RequestEntityTooLarge, "larger than the limit of 1000 bytes");
        Assert.Single(publisher.Attempts);
    }

    [Fact]
    public async Task Default_limit_is_64_KiB()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var atLimit = await gateway.Client.PostAsync("/c", new ByteArrayContent(new byte[64 * 1024]), Ct);
        using var over = await gateway.Client.PostAsync("/c", new ByteArrayContent(new byte[(64 * 1024) + 1]), Ct);

        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, over.StatusCode);
    }

    [Fact]
    public async Task With_a_token_configured_a_missing_token_is_401_a_wrong_one_403_and_the_right_one_publishes()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--token", "t0ken");

        using var missing = await gateway.Client.PostAsync("/", Form(("channel", "c"), ("message", "m")), Ct);
        using var wrongRequest = new HttpRequestMessage(HttpMethod.Post, "/c") { Content = new StringContent("m") };
        wrongRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "t0ke");
        using var wrong = await gateway.Client.SendAsync(wrongRequest, Ct);
        using var basicRequest = new HttpRequestMessage(HttpMethod.Post, "/c") { Content = new StringContent("m") };
        basicRequest.Headers.Authorization = new AuthenticationHeaderValue("Basic", "dDBrZW4=");
        using var basic = await gateway.Client.SendAsync(basicRequest, Ct);
        using var rightRequest = new HttpRequestMessage(HttpMethod.Post, "/c") { Content = new StringContent("m") };
        rightRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "t0ken");
        using var right = await gateway.Client.SendAsync(rightRequest, Ct);

        await AssertProblem(missing, HttpStatusCode.Unauthorized, "Authorization: Bearer");
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        await AssertProblem(wrong, HttpStatusCode.Forbidden, "the publish token is wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, basic.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Single(publisher.Attempts);
    }

    [Fact]
    public async Task Token_is_checked_before_the_body_so_an_oversized_unauthenticated_post_is_401()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--token", "t0ken", "--MaxMessageBytes", "10");

        using var response = await gateway.Client.PostAsync("/c", new ByteArrayContent(new byte[100]), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Unavailable_server_is_503_with_retry_after_and_never_a_2xx()
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Unavailable("not connected to the pub/sub server") };
        await using var gateway = await GatewayHost.StartAsync(publisher, "--RetryAfterSeconds", "7");

        using var form = await gateway.Client.PostAsync("/", Form(("channel", "c"), ("message", "m")), Ct);
        using var raw = await gateway.Client.PostAsync("/c", new StringContent("m"), Ct);

        foreach (var response in new[] { form, raw })
        {
            await AssertProblem(response, HttpStatusCode.ServiceUnavailable, "not published: not connected to the pub/sub server");
            Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        }
    }

    [Fact]
    public async Task Server_refusing_the_publish_is_502()
    {
        var publisher = new RecordingPublisher { Outcome = () => PublishOutcome.Refused("the pub/sub server refused the PUBLISH: NOAUTH Authentication required.") };
        await using var gateway = await GatewayHost.StartAsync(publisher);

        using var response = await gateway.Client.PostAsync("/c", new StringContent("m"), Ct);

        await AssertProblem(response, HttpStatusCode.BadGateway, "NOAUTH");
    }

    [Fact]
    public async Task Real_connection_to_a_closed_port_answers_503_at_once_and_readyz_503()
    {
        // Nothing listens on this port: StackExchange.Redis cannot connect, and must not queue the message.
        await using var gateway = await GatewayHost.StartConnectedAsync(FreePort.Next(), "--ConnectTimeoutMilliseconds", "1000");

        using var response = await gateway.Client.PostAsync("/", Form(("channel", "c"), ("message", "m")), Ct);
        using var ready = await gateway.Client.GetAsync("/readyz", Ct);
        using var health = await gateway.Client.GetAsync("/healthz", Ct);

        await AssertProblem(response, HttpStatusCode.ServiceUnavailable, "not published");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Rate_limit_gives_429_with_retry_after_per_client_address()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--RateLimit:PermitsPerMinute", "2", "--RateLimit:ExemptLoopback", "false");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await gateway.Client.PostAsync("/c", new StringContent("m"), Ct);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(2, publisher.Attempts.Count);
    }

    [Fact]
    public async Task Loopback_clients_are_not_rate_limited_by_default()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--RateLimit:PermitsPerMinute", "2");

        for (var i = 0; i < 5; i++)
        {
            using var response = await gateway.Client.PostAsync("/c", new StringContent("m"), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    internal static FormUrlEncodedContent Form(params (string Key, string Value)[] fields)
        => new(fields.Select(f => KeyValuePair.Create(f.Key, f.Value)));

    internal static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    internal static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string detailContains)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Contains(detailContains, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>A body sent with Transfer-Encoding: chunked (no Content-Length), as a streaming client does.</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
