using System.Collections;
using System.Net;
using System.Net.Http.Headers;
using Notistream.Gateway.Tests.Infrastructure;
using static Notistream.Gateway.Tests.Endpoints.PublishEndpointTests;

namespace Notistream.Gateway.Tests.Endpoints;

/// <summary>
/// Publish tokens scoped to channel patterns (<c>Gateway:Tokens</c>), configured through environment
/// variables as a deployment would, next to the global token, through the real pipeline.
/// </summary>
public sealed class ScopedTokenTests
{
    private const string Global = "global-t0ken";
    private const string Alerts = "alerts-t0ken";
    private const string Home = "home-t0ken";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A global token, one scoped to <c>alerts:*</c> and <c>builds/*</c>, one to <c>home</c>.</summary>
    private static Hashtable Environment(bool withGlobal = true)
    {
        var environment = new Hashtable
        {
            ["Gateway__Tokens__0__Token"] = Alerts,
            ["Gateway__Tokens__0__Channels__0"] = "alerts:*",
            ["Gateway__Tokens__0__Channels__1"] = "builds/*",
            ["Gateway__Tokens__1__Token"] = Home,
            ["Gateway__Tokens__1__Channels__0"] = "home",
        };
        if (withGlobal)
        {
            environment["NOTISTREAM_TOKEN"] = Global;
        }

        return environment;
    }

    private static Task<GatewayHost> StartAsync(RecordingPublisher publisher, bool withGlobal = true, params string[] args)
        => GatewayHost.StartAsync(publisher, Environment(withGlobal), args);

    private static async Task<HttpResponseMessage> PostAsync(GatewayHost gateway, string path, HttpContent content, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await gateway.Client.SendAsync(request, Ct);
    }

    [Theory]
    [InlineData("/alerts:disk", Alerts)]
    [InlineData("/builds/main", Alerts)]
    [InlineData("/home", Home)]
    [InlineData("/anything/at/all", Global)]
    [InlineData("/home", Global)]
    public async Task A_token_publishes_to_a_path_channel_its_patterns_allow(string path, string token)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);

        using var response = await PostAsync(gateway, path, new StringContent("m"), token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(path[1..], Assert.Single(publisher.Attempts).Channel);
    }

    [Theory]
    [InlineData("/home", Alerts)]
    [InlineData("/alerts", Alerts)]
    [InlineData("/builds", Alerts)]
    [InlineData("/Alerts:disk", Alerts)]
    [InlineData("/home/kitchen", Home)]
    [InlineData("/alerts:disk", Home)]
    public async Task A_token_may_not_publish_to_a_path_channel_outside_its_patterns(string path, string token)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);

        using var response = await PostAsync(gateway, path, new StringContent("m"), token);

        await AssertProblem(response, HttpStatusCode.Forbidden, $"this token may not publish to '{path[1..]}'");
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Form_and_json_channels_are_checked_against_the_scope_after_parsing()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);

        using var formAllowed = await PostAsync(gateway, "/", Form(("channel", "alerts:cpu"), ("message", "m")), Alerts);
        using var jsonAllowed = await PostAsync(gateway, "/", Json("""{"channel":"builds/x","message":"m"}"""), Alerts);
        using var formRefused = await PostAsync(gateway, "/", Form(("channel", "home"), ("message", "m")), Alerts);
        using var jsonRefused = await PostAsync(gateway, "/", Json("""{"channel":"alerts:cpu","message":"m"}"""), Home);
        using var multipart = new MultipartFormDataContent { { new StringContent("m"), "message" }, { new StringContent("builds"), "channel" } };
        using var multipartRefused = await PostAsync(gateway, "/", multipart, Alerts);

        Assert.Equal(HttpStatusCode.Created, formAllowed.StatusCode);
        Assert.Equal(HttpStatusCode.Created, jsonAllowed.StatusCode);
        await AssertProblem(formRefused, HttpStatusCode.Forbidden, "this token may not publish to 'home'");
        await AssertProblem(jsonRefused, HttpStatusCode.Forbidden, "this token may not publish to 'alerts:cpu'");
        await AssertProblem(multipartRefused, HttpStatusCode.Forbidden, "this token may not publish to 'builds'");
        Assert.Equal(["alerts:cpu", "builds/x"], publisher.Attempts.Select(a => a.Channel));
        Assert.Equal(["form", "json"], publisher.Attempts.Select(a => a.Source));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task With_scoped_tokens_a_missing_token_is_401_and_a_wrong_one_403(bool withGlobal)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher, withGlobal);

        using var missing = await PostAsync(gateway, "/home", new StringContent("m"), null);
        using var missingForm = await PostAsync(gateway, "/", Form(("channel", "home"), ("message", "m")), null);
        using var wrong = await PostAsync(gateway, "/home", new StringContent("m"), "home-t0ke");
        using var wrongJson = await PostAsync(gateway, "/", Json("""{"channel":"home","message":"m"}"""), Alerts + "x");
        using var global = await PostAsync(gateway, "/home", new StringContent("m"), Global);
        using var home = await PostAsync(gateway, "/home", new StringContent("m"), Home);

        await AssertProblem(missing, HttpStatusCode.Unauthorized, "Authorization: Bearer");
        await AssertProblem(missingForm, HttpStatusCode.Unauthorized, "Authorization: Bearer");
        await AssertProblem(wrong, HttpStatusCode.Forbidden, "the publish token is wrong");
        await AssertProblem(wrongJson, HttpStatusCode.Forbidden, "the publish token is wrong");
        Assert.Equal(withGlobal ? HttpStatusCode.OK : HttpStatusCode.Forbidden, global.StatusCode);
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        Assert.Equal(withGlobal ? 2 : 1, publisher.Attempts.Count);
    }

    [Fact]
    public async Task Path_scope_is_checked_before_the_body_and_after_the_channel_is_validated()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher, true, "--MaxMessageBytes", "10", "--MaxChannelBytes", "20");

        // Outside the scope with an oversized body: 403, the body is never read.
        using var outside = await PostAsync(gateway, "/home", new ByteArrayContent(new byte[100]), Alerts);
        // Inside the scope: the body limit applies as before.
        using var inside = await PostAsync(gateway, "/alerts:x", new ByteArrayContent(new byte[100]), Alerts);
        // A channel that can never be published is 400 whatever the scope.
        using var tooLong = await PostAsync(gateway, "/alerts:" + new string('x', 30), new StringContent("m"), Alerts);
        // Unauthenticated: 401 before anything else.
        using var anonymous = await PostAsync(gateway, "/home", new ByteArrayContent(new byte[100]), null);

        await AssertProblem(outside, HttpStatusCode.Forbidden, "this token may not publish to 'home'");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, inside.StatusCode);
        await AssertProblem(tooLong, HttpStatusCode.BadRequest, "channel is longer than 20 bytes");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Form_fields_errors_and_415_come_before_the_scope()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher);

        using var missingMessage = await PostAsync(gateway, "/", Form(("channel", "home")), Alerts);
        using var wrongType = await PostAsync(gateway, "/", new StringContent("channel=home&message=m"), Alerts);

        await AssertProblem(missingMessage, HttpStatusCode.BadRequest, "message is missing");
        await AssertProblem(wrongType, HttpStatusCode.UnsupportedMediaType, "POST /{channel}");
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Entries_sharing_a_token_allow_the_union_of_their_patterns()
    {
        var publisher = new RecordingPublisher();
        var environment = new Hashtable
        {
            ["Gateway__Tokens__0__Token"] = "shared",
            ["Gateway__Tokens__0__Channels__0"] = "a",
            ["Gateway__Tokens__1__Token"] = "shared",
            ["Gateway__Tokens__1__Channels__0"] = "b?",
        };
        await using var gateway = await GatewayHost.StartAsync(publisher, environment);

        using var a = await PostAsync(gateway, "/a", new StringContent("m"), "shared");
        using var b = await PostAsync(gateway, "/b1", new StringContent("m"), "shared");
        using var c = await PostAsync(gateway, "/c", new StringContent("m"), "shared");

        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, c.StatusCode);
        Assert.Equal(["a", "b1"], publisher.Attempts.Select(x => x.Channel));
    }

    [Fact]
    public async Task Github_endpoint_ignores_publish_tokens()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await StartAsync(publisher, true, "--github-secret", "s3cret");

        // No bearer token: /github answers by its own signature rule (401 unsigned), not the publish token's.
        using var unsigned = await PostAsync(gateway, "/github", Json("{}"), null);
        using var bearer = await PostAsync(gateway, "/github", Json("{}"), Alerts);

        await AssertProblem(unsigned, HttpStatusCode.Unauthorized, "X-Hub-Signature-256 header is missing");
        await AssertProblem(bearer, HttpStatusCode.Unauthorized, "X-Hub-Signature-256 header is missing");
        Assert.Empty(publisher.Attempts);
    }

    [Fact]
    public async Task Tokens_are_never_logged()
    {
        var publisher = new RecordingPublisher();
        var gateway = await StartAsync(publisher);
        await using (gateway)
        {
            using var ok = await PostAsync(gateway, "/home", new StringContent("m"), Home);
            using var refused = await PostAsync(gateway, "/alerts:x", new StringContent("m"), Home);
            using var wrong = await PostAsync(gateway, "/home", new StringContent("m"), "guess");

            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        }

        foreach (var text in gateway.Logs.Entries.SelectMany(e => e.Values.Values.Select(v => v?.ToString()).Append(e.Message)))
        {
            foreach (var token in new[] { Global, Alerts, Home })
            {
                Assert.DoesNotContain(token, text ?? string.Empty, StringComparison.Ordinal);
            }
        }
    }
}
