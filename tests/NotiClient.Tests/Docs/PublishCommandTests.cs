using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.Docs;

/// <summary>
/// README.md's redis-cli and openssl lines and docs/gateway.md's gateway and curl lines (ntfy's too), as the pages show
/// them (see <see cref="DocShell"/>), against this build's server and gateway.
/// </summary>
public sealed partial class PublishCommandTests
{
    [Fact]
    public async Task Readme_redis_cli_subscribe_psubscribe_and_XRANGE_lines()
    {
        await using var server = await NotistreamServer.StartAsync();
        using var folder = new TempDirectory();
        string Line(string start) => DocPage.Command("README.md", start).Replace("6379", DocShell.Port(server.Port), StringComparison.Ordinal);

        await using var subscribe = DocShell.Start(Line("redis-cli -p 6379 subscribe channel1"), folder.Path, server.Port);
        await using var psubscribe = DocShell.Start(Line("redis-cli -p 6379 psubscribe 'owner/*'"), folder.Path, server.Port);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout();
        var db = redis.GetDatabase();
        await TaskTimeoutExtensions.WaitUntil(
            () => (long)((RedisResult[])db.Execute("PUBSUB", "NUMSUB", "channel1")!)[1] == 1 && (long)db.Execute("PUBSUB", "NUMPAT") == 1,
            "both redis-cli to subscribe");

        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal("channel1"), "hello").WithTimeout();
        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal("owner/repo"), "pushed").WithTimeout();

        await subscribe.WaitForOutputAsync("message\nchannel1\nhello\n");
        await psubscribe.WaitForOutputAsync("pmessage\nowner/*\nowner/repo\npushed\n");
        var history = await DocShell.RunAsync(Line("redis-cli XRANGE channel1 - +"), folder.Path, server.Port);
        Assert.Matches(@"^\d+-\d+\nmessage\nhello\n$", history);
    }

    [Fact]
    public async Task Readme_GITHUB_WEBHOOK_SECRET_line_makes_a_secret_of_40_hex_digits()
    {
        using var folder = new TempDirectory();
        var line = DocPage.Command("README.md", "export GITHUB_WEBHOOK_SECRET=");
        Assert.Equal(line, DocPage.Command("docs/gateway.md", "export GITHUB_WEBHOOK_SECRET="));
        ExternalProgram.Require("openssl", "apt-get install openssl");

        var secret = await DocShell.RunAsync(line + "printf '%s' \"$GITHUB_WEBHOOK_SECRET\"\n", folder.Path, 6379);

        Assert.Matches("^[0-9a-f]{40}$", secret);
    }

    [Fact]
    public async Task Gateway_run_line_and_every_curl_line_publish()
    {
        var curl = ExternalProgram.Require("curl", "apt-get install curl");
        Assert.NotNull(curl);
        await using var server = await NotistreamServer.StartAsync();
        using var folder = new TempDirectory();
        var web = DocShell.OtherFreePort(server.Port);
        var tokenWeb = DocShell.OtherFreePort(server.Port, web);
        const string token = "a-publish-token";
        string Ports(string text, int http) => text.Replace("6379", DocShell.Port(server.Port), StringComparison.Ordinal).Replace("8080", DocShell.Port(http), StringComparison.Ordinal);
        var run = DocPage.Command("docs/gateway.md", "dotnet " + DocShell.GatewayDll);
        var withToken = new Dictionary<string, string?> { ["NOTISTREAM_TOKEN"] = token };

        await using var gateway = DocShell.Start(Ports(run, web), folder.Path, server.Port);
        await using var tokenGateway = DocShell.Start(Ports(run, tokenWeb), folder.Path, server.Port, withToken);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout();
        var received = new ConcurrentQueue<string>();
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Pattern("*"), (channel, message) => received.Enqueue($"{channel}: {message}")).WithTimeout();
        await WaitReadyAsync(gateway, web);
        await WaitReadyAsync(tokenGateway, tokenWeb);
        await File.WriteAllTextAsync(folder.File("report.txt"), "nightly build\nall green\n", TestContext.Current.CancellationToken);

        var lines = new (string Page, string Start, int Port, Dictionary<string, string?>? Environment, string Expected)[]
        {
            ("README.md", "curl -d \"message=hello&channel=channel1\"", web, null, "channel1: hello"),
            ("docs/gateway.md", "curl -d \"message=hello&channel=channel1\"", web, null, "channel1: hello"),
            ("docs/gateway.md", "curl -H 'Content-Type: application/json'", web, null, "channel1: hello"),
            ("docs/gateway.md", "curl --data-binary @report.txt", web, null, "ci/nightly: nightly build\nall green\n"),
            ("docs/gateway.md", "curl -H \"Authorization: Bearer $NOTISTREAM_TOKEN\"", tokenWeb, withToken, "channel1: hello"),
            ("docs/gateway.md", "curl -H \"Title: Backup failed\"", web, null,
                """backups: {"message":"nightly backup of /home failed","title":"Backup failed","priority":4,"tags":["warning","floppy_disk"]}"""),
            ("docs/gateway.md", "curl -T report.txt", web, null, "ci/nightly: nightly build\nall green\n"),
            ("docs/gateway.md", "curl \"http://127.0.0.1:8080/backups/publish", web, null,
                """backups: {"message":"disk full","priority":5,"tags":["rotating_light"]}"""),
            ("docs/gateway.md", "curl -d '{\"topic\"", web, null,
                """backups: {"message":"disk full","title":"nas","priority":4,"tags":["warning"]}"""),
            ("docs/gateway.md", "curl \"http://127.0.0.1:8080/backups/trigger", tokenWeb, withToken, "backups: ping"),
        };
        foreach (var (page, start, port, environment, expected) in lines)
        {
            received.Clear();
            var answer = await DocShell.RunAsync(Ports(DocPage.Command(page, start), port), folder.Path, server.Port, environment);
            Assert.Matches(CreatedAnswer(), answer);
            await TaskTimeoutExtensions.WaitUntil(() => received.Contains(expected), $"'{expected}' from {page}: {start}");
        }

        // The token gateway refuses the same publish without the token: the token line was what made it pass.
        var refused = await DocShell.RunAsync(Ports(DocPage.Command("docs/gateway.md", "curl -H \"Authorization: Bearer $NOTISTREAM_TOKEN\""), tokenWeb), folder.Path, server.Port);
        Assert.Contains("401", refused, StringComparison.Ordinal);
        // …and so did ?auth= in the trigger line.
        var refusedTrigger = await DocShell.RunAsync(Ports(DocPage.Command("docs/gateway.md", "curl \"http://127.0.0.1:8080/backups/trigger"), tokenWeb), folder.Path, server.Port);
        Assert.Contains("40101", refusedTrigger, StringComparison.Ordinal);
        Assert.Contains("0.0.0.0", run, StringComparison.Ordinal);
    }

    internal static Task WaitReadyAsync(ChildProcess gateway, int port) =>
        TaskTimeoutExtensions.WaitUntil(
            () =>
            {
                Assert.False(gateway.HasExited, gateway.AllOutput);
                try
                {
                    using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                    using var response = http.GetAsync($"http://127.0.0.1:{port}/readyz").GetAwaiter().GetResult();
                    return response.IsSuccessStatusCode;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // not listening yet, or too busy starting to answer within the request's 2 s
                    return false;
                }
            },
            $"the gateway on {port} to be ready",
            TimeSpan.FromSeconds(30));

    [GeneratedRegex("\"receivers\":\\s*1\\b")]
    private static partial Regex CreatedAnswer();
}
