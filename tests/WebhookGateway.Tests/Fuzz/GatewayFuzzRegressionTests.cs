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
}
