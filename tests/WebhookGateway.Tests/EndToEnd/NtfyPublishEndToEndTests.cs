using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.EndToEnd;

/// <summary>
/// ntfy-style publishes through the gateway's real connection to a real server, as a RESP subscriber
/// sees them: the plain body when only a message was given, the compact JSON otherwise.
/// </summary>
public abstract class NtfyPublishEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected abstract Task<IPubSubServer> StartServerAsync();

    private protected abstract bool KeepsHistory { get; }

    [Fact]
    public async Task A_subscriber_gets_the_plain_body_or_the_compact_json_and_the_reply_names_the_message()
    {
        await using var server = await StartServerAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port);
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, null, "backups");

        using var plain = await gateway.Client.PutAsync("/backups", new StringContent("Backup successful 😀"), Ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/backups?tags=warning,skull") { Content = new StringContent("Backup failed") };
        request.Headers.Add("Title", "Nightly backup");
        request.Headers.Add("Priority", "high");
        using var rich = await gateway.Client.SendAsync(request, Ct);
        using var get = await gateway.Client.GetAsync("/backups/publish?message=from+a+GET&click=https://example.com/", Ct);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], new[] { plain.StatusCode, rich.StatusCode, get.StatusCode });
        Assert.Equal("Backup successful 😀", await subscriber.NextTextAsync("backups"));
        var json = await subscriber.NextTextAsync("backups");
        Assert.Equal("""{"message":"Backup failed","title":"Nightly backup","priority":4,"tags":["warning","skull"]}""", json);
        Assert.True(NtfyPayload.TryDecode(Encoding.UTF8.GetBytes(json), out var fields));
        Assert.Equal(("Nightly backup", 4), (fields.Title, fields.Priority));
        Assert.Equal("""{"message":"from a GET","click":"https://example.com/"}""", await subscriber.NextTextAsync("backups"));

        var answer = await rich.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal(("backups", 1L), (answer.GetProperty("topic").GetString(), answer.GetProperty("receivers").GetInt64()));
        var id = answer.GetProperty("id").GetString()!;
        await using var reader = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout();
        if (KeepsHistory)
        {
            // The id is the message's id in the channel's history, and time is its time.
            var entry = Assert.Single(await reader.GetDatabase().StreamRangeAsync("backups", id, id).WithTimeout());
            Assert.Equal(json, entry["message"].ToString());
            Assert.Equal(long.Parse(id.Split('-')[0], System.Globalization.CultureInfo.InvariantCulture) / 1000, answer.GetProperty("time").GetInt64());
        }
        else
        {
            Assert.Matches("^[A-Za-z0-9]{12}$", id);
        }
    }

    [Fact]
    public async Task Json_with_topic_reaches_a_subscriber_of_the_topic()
    {
        await using var server = await StartServerAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port);
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, null, "mytopic");

        using var content = new StringContent("""{"topic":"mytopic","message":"Disk space is low","title":"Low disk","priority":5,"markdown":true}""");
        using var response = await gateway.Client.PostAsync("/", content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"message":"Disk space is low","title":"Low disk","priority":5,"markdown":true}""", await subscriber.NextTextAsync("mytopic"));
    }
}

public sealed class NtfyPublishRedisEndToEndTests : NtfyPublishEndToEndTests
{
    private protected override bool KeepsHistory => false;

    private protected override async Task<IPubSubServer> StartServerAsync() => await RedisServer.StartAsync();
}

public sealed class NtfyPublishNotistreamEndToEndTests : NtfyPublishEndToEndTests
{
    private protected override bool KeepsHistory => true;

    private protected override async Task<IPubSubServer> StartServerAsync() => await OurServer.StartAsync();
}
