using System.Collections;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Subscribing;

/// <summary>
/// Subscribing with tokens configured: the global token reads everything; scoped tokens read only with
/// Access read or read-write, only channels their patterns match and only patterns their patterns cover;
/// a read-only token does not publish. The token as Bearer, as Basic's password, or as ?auth=.
/// </summary>
public sealed class SubscribeAuthTests
{
    private const string Global = "global-t0ken";
    private const string Reader = "reader-t0ken";
    private const string Writer = "writer-t0ken";
    private const string Both = "both-t0ken";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Hashtable Environment() => new()
    {
        ["NOTISTREAM_TOKEN"] = Global,
        ["Gateway__Tokens__0__Token"] = Reader,
        ["Gateway__Tokens__0__Access"] = "read",
        ["Gateway__Tokens__0__Channels__0"] = "alerts:*",
        ["Gateway__Tokens__0__Channels__1"] = "octo/hello",
        ["Gateway__Tokens__1__Token"] = Writer,
        ["Gateway__Tokens__1__Channels__0"] = "alerts:*",
        ["Gateway__Tokens__2__Token"] = Both,
        ["Gateway__Tokens__2__Access"] = "read-write",
        ["Gateway__Tokens__2__Channels__0"] = "home",
    };

    private static async Task<HttpStatusCode> GetAsync(GatewayHost gateway, string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        configure?.Invoke(request);
        using var response = await gateway.Client.SendAsync(request, Ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
            Assert.Equal((int)response.StatusCode, error.GetProperty("http").GetInt32());
        }

        return response.StatusCode;
    }

    [Theory]
    [InlineData("/alerts:disk/json?poll=1", null, HttpStatusCode.Unauthorized)]
    [InlineData("/alerts:disk/json?poll=1", "wrong", HttpStatusCode.Forbidden)]
    [InlineData("/alerts:disk/json?poll=1", Global, HttpStatusCode.OK)]
    [InlineData("/anything,*/json?poll=1", Global, HttpStatusCode.OK)]
    [InlineData("/alerts:disk/json?poll=1", Reader, HttpStatusCode.OK)]
    [InlineData("/alerts:disk,octo%2Fhello/json?poll=1", Reader, HttpStatusCode.OK)]
    [InlineData("/alerts:*/json?poll=1", Reader, HttpStatusCode.OK)]
    [InlineData("/alerts:d*/json?poll=1", Reader, HttpStatusCode.OK)]
    [InlineData("/alerts:[ab]*/json?poll=1", Reader, HttpStatusCode.OK)]
    [InlineData("/alerts*/json?poll=1", Reader, HttpStatusCode.Forbidden)]
    [InlineData("/*/json?poll=1", Reader, HttpStatusCode.Forbidden)]
    [InlineData("/octo%2F*/json?poll=1", Reader, HttpStatusCode.Forbidden)]
    [InlineData("/alerts:disk,home/json?poll=1", Reader, HttpStatusCode.Forbidden)]
    [InlineData("/alerts:disk/json?poll=1", Writer, HttpStatusCode.Forbidden)]
    [InlineData("/home/json?poll=1", Both, HttpStatusCode.OK)]
    [InlineData("/home,alerts:x/json?poll=1", Both, HttpStatusCode.Forbidden)]
    public async Task A_token_reads_what_its_access_and_patterns_allow(string path, string? token, HttpStatusCode expected)
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(null, Environment(), "--server", $"127.0.0.1:{server.Port}");

        Assert.Equal(expected, await GetAsync(gateway, path, token is null ? null : Auth.Bearer(token)));
    }

    [Fact]
    public async Task The_token_may_come_as_basic_password_or_as_the_auth_parameter()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(null, Environment(), "--server", $"127.0.0.1:{server.Port}");
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes(":" + Reader));
        var wrongBasic = Convert.ToBase64String(Encoding.UTF8.GetBytes("user:nope"));
        static string AuthParameter(string header) => Convert.ToBase64String(Encoding.UTF8.GetBytes(header)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, "/alerts:x/json?poll=1", r => r.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic)));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(gateway, "/alerts:x/json?poll=1", r => r.Headers.Authorization = new AuthenticationHeaderValue("Basic", wrongBasic)));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, $"/alerts:x/json?poll=1&auth={AuthParameter("Bearer " + Reader)}"));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(gateway, $"/alerts:x/json?poll=1&auth={AuthParameter("Basic " + basic)}"));
        Assert.Equal(HttpStatusCode.Forbidden, await GetAsync(gateway, $"/alerts:x/json?poll=1&auth={AuthParameter("Bearer " + Writer)}"));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(gateway, "/alerts:x/json?poll=1&auth=%%%"));
    }

    [Fact]
    public async Task A_read_only_token_does_not_publish_and_a_write_token_still_does()
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, Environment());

        using var read = new HttpRequestMessage(HttpMethod.Post, "/alerts:disk") { Content = new StringContent("m") };
        Auth.Bearer(Reader)(read);
        using var refused = await gateway.Client.SendAsync(read, Ct);
        using var write = new HttpRequestMessage(HttpMethod.Post, "/alerts:disk") { Content = new StringContent("m") };
        Auth.Bearer(Writer)(write);
        using var accepted = await gateway.Client.SendAsync(write, Ct);
        using var both = new HttpRequestMessage(HttpMethod.Post, "/home") { Content = new StringContent("m") };
        Auth.Bearer(Both)(both);
        using var accepted2 = await gateway.Client.SendAsync(both, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, accepted2.StatusCode);
        Assert.Equal(["alerts:disk", "home"], publisher.Attempts.Select(a => a.Channel));
    }

    [Fact]
    public async Task An_unknown_access_value_stops_start_up()
    {
        var environment = Environment();
        environment["Gateway__Tokens__0__Access"] = "subscribe";

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(new RecordingPublisher(), environment));

        Assert.Contains("Access 'subscribe' is not read, write or read-write", failure.Message, StringComparison.Ordinal);
    }
}
