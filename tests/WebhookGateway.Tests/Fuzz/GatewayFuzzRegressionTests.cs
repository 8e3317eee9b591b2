using System.Net;
using System.Net.Http.Headers;
using Notistream.Gateway.Tests.Infrastructure;

namespace Notistream.Gateway.Tests.Fuzz;

/// <summary>Findings of the gateway fuzzer, kept as named cases.</summary>
public sealed class GatewayFuzzRegressionTests
{
    [Theory]
    [InlineData("garbage without any boundary")]
    [InlineData("--x\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\nnews")]
    [InlineData("--x\r\n")]
    public async Task A_truncated_or_garbled_multipart_body_is_a_400_and_publishes_nothing(string body)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);
        using var content = new StringContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=x");
        using var response = await gateway.Client.PostAsync("/", content, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("the form is malformed", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Empty(publisher.Attempts);
    }

    [Theory]
    [InlineData("{\"channel\":\"\\ud800\",\"message\":\"hi\"}", "channel is not valid UTF-16 text")]
    [InlineData("{\"channel\":\"news\",\"message\":\"a\\udc00b\"}", "message is not valid UTF-16 text")]
    [InlineData("{\"\\ud800x\":1,\"channel\":\"news\",\"message\":\"hi\"}", "a property name in the body is not valid UTF-16 text")]
    [InlineData("{\"channel\":\"news\",\"message\":\"hi\",\"tags\":[\"\\ud800\"]}", "a string in the body is not valid UTF-16 text")]
    public async Task A_JSON_string_with_a_lone_surrogate_escape_is_a_400_and_publishes_nothing(string body, string detail)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher);
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await gateway.Client.PostAsync("/", content, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(detail, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Empty(publisher.Attempts);
    }

    /// <summary>Seed 1933963626 found a signed push delivery with <c>"\ud800base_ref"</c> as a property name:
    /// looking up <c>action</c> past it threw, and the gateway answered 500.</summary>
    [Theory]
    [InlineData("\"base_ref\"", "\"\\ud800base_ref\"", "a property name in the payload is not valid UTF-16 text")]
    [InlineData("\"ref\": \"refs/heads/master\"", "\"ref\": \"refs/heads/\\udc00\"", "ref is not valid UTF-16 text")]
    public async Task A_signed_delivery_with_a_lone_surrogate_escape_is_a_400_and_publishes_nothing(string find, string replace, string detail)
    {
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--github-secret", GitHubDeliveries.Secret);
        var original = System.Text.Encoding.UTF8.GetString(GitHubDeliveries.Fixture("push.commits.json"));
        Assert.Contains(find, original, StringComparison.Ordinal);
        var body = System.Text.Encoding.UTF8.GetBytes(original.Replace(find, replace, StringComparison.Ordinal));
        using var request = GitHubDeliveries.Json("push", body, GitHubDeliveries.Sign(body));
        using var response = await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(detail, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Empty(publisher.Attempts);
    }
}
