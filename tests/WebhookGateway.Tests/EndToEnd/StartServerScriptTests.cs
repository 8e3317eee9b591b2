using System.Net;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.EndToEnd;

/// <summary><c>./startserver.sh</c> as a user runs it: real processes, real ports, real signals.</summary>
public sealed class StartServerScriptTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Starts_both_parts_publishes_through_them_and_sigterm_stops_both()
    {
        await using var script = await StartServerScript.StartAsync(null, ("GITHUB_WEBHOOK_SECRET", GitHubDeliveries.Secret));
        await script.WaitUntilRunningAsync();
        var pids = script.PartPids;
        Assert.Equal(2, pids.Count);
        Assert.All(pids, pid => Assert.True(StartServerScript.IsRunning(pid)));
        Assert.Contains($"redis-cli -h 127.0.0.1 -p {script.Port} subscribe channel1", script.Output, StringComparison.Ordinal);

        await using (var subscriber = await RespSubscriber.SubscribeAsync(script.Port, null, "channel1", "Codertocat/Hello-World"))
        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{script.WebPort}") })
        {
            using var form = new FormUrlEncodedContent([KeyValuePair.Create("message", "hello"), KeyValuePair.Create("channel", "channel1")]);
            using var response = await http.PostAsync("/", form, Ct);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal("hello", await subscriber.NextTextAsync("channel1"));

            var body = GitHubDeliveries.Fixture("star.created.json");
            using var delivery = await http.SendAsync(GitHubDeliveries.Json("star", body, GitHubDeliveries.Sign(body)), Ct);
            Assert.Equal(HttpStatusCode.Created, delivery.StatusCode);
            Assert.Equal("Codertocat starred Codertocat/Hello-World (1 star)", await subscriber.NextTextAsync("Codertocat/Hello-World"));
        }

        script.Signal("TERM", script.Process.Id);

        Assert.Equal(0, await script.WaitForExitAsync());
        await TaskTimeoutExtensions.WaitUntil(() => pids.All(pid => !StartServerScript.IsRunning(pid)), "both parts to be gone");
    }

    [Fact]
    public async Task When_one_part_dies_the_script_stops_the_other_and_exits_non_zero()
    {
        await using var script = await StartServerScript.StartAsync(null);
        await script.WaitUntilRunningAsync();
        var pids = script.PartPids;
        Assert.Equal(2, pids.Count);

        script.Signal("KILL", pids[0]);

        Assert.NotEqual(0, await script.WaitForExitAsync());
        Assert.False(StartServerScript.IsRunning(pids[1]), "the gateway outlived the script");
        Assert.Contains("exited with code", script.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Web_alone_publishes_to_the_server_it_is_pointed_at_here_redis_server()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var script = await StartServerScript.StartAsync("web", ("NOTISTREAM_SERVER", $"127.0.0.1:{redis.Port}"));
        await script.WaitUntilRunningAsync();
        Assert.Single(script.PartPids);
        await using var subscriber = await RespSubscriber.SubscribeAsync(redis.Port, null, "alerts");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{script.WebPort}") };

        using var response = await http.PostAsync("/alerts", new StringContent("disk full"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("disk full", await subscriber.NextTextAsync("alerts"));
    }

    [Fact]
    public async Task Web_alone_publishes_to_NOTISTREAM_HOST_and_NOTISTREAM_PORT()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var script = await StartServerScript.StartAsync("web",
            ("NOTISTREAM_HOST", "127.0.0.1"), ("NOTISTREAM_PORT", redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await script.WaitUntilRunningAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(redis.Port, null, "alerts");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{script.WebPort}") };

        using var response = await http.PostAsync("/alerts", new StringContent("disk full"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("disk full", await subscriber.NextTextAsync("alerts"));
        Assert.Contains($"publishing to 127.0.0.1:{redis.Port}", script.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("deprecated", script.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Both_parts_share_NOTISTREAM_PASSWORD_and_a_client_s_user_or_tls_variables_do_not_reach_the_gateway()
    {
        await using var script = await StartServerScript.StartAsync(null,
            ("NOTISTREAM_PASSWORD", "s3cret"), ("NOTISTREAM_USER", "laptop"), ("NOTISTREAM_TLS", "true"));
        await script.WaitUntilRunningAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(script.Port, "s3cret", "alerts");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{script.WebPort}") };

        using var response = await http.PostAsync("/alerts", new StringContent("disk full"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("disk full", await subscriber.NextTextAsync("alerts"));
        Assert.DoesNotContain("deprecated", script.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_keeps_its_streams_in_NOTISTREAM_DATA_which_it_creates_and_a_restart_finds_them()
    {
        var data = Path.Combine(Path.GetTempPath(), $"notistream-data-{Guid.NewGuid():N}", "data");
        try
        {
            await using (var script = await StartServerScript.StartAsync("pubsub", ("NOTISTREAM_DATA", data)))
            {
                await script.WaitUntilRunningAsync();
                Assert.Contains($"data in {data}", script.Output, StringComparison.Ordinal);
                using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{script.Port},allowAdmin=true");
                Assert.Equal("yes", (string?)(await redis.GetDatabase().ExecuteAsync("CONFIG", "GET", "appendonly"))[1]);
                await redis.GetSubscriber().PublishAsync(StackExchange.Redis.RedisChannel.Literal("alerts"), "kept across a restart");
                script.Signal("TERM", script.Process.Id);
                Assert.Equal(0, await script.WaitForExitAsync());
            }

            Assert.True(File.Exists(Path.Combine(data, "appendonlydir", "appendonly.aof.manifest")));
            await using (var script = await StartServerScript.StartAsync("pubsub", ("NOTISTREAM_DATA", data)))
            {
                await script.WaitUntilRunningAsync();
                using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{script.Port}");
                var entries = (StackExchange.Redis.RedisResult[])(await redis.GetDatabase().ExecuteAsync("XRANGE", "alerts", "-", "+"))!;
                var entry = Assert.Single(entries);
                Assert.Equal("kept across a restart", (string?)((StackExchange.Redis.RedisResult[])((StackExchange.Redis.RedisResult[])entry!)[1]!)[1]);
            }
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(data)!, recursive: true);
        }
    }

    [Fact]
    public async Task Pubsub_alone_starts_only_the_server_and_a_taken_port_is_refused()
    {
        await using var script = await StartServerScript.StartAsync("pubsub");
        await script.WaitUntilRunningAsync();

        Assert.Single(script.PartPids);
        Assert.True(await RedisServer.AnswersAsync(script.Port));
        await using var second = await StartServerScript.StartAsync("pubsub", ("NOTISTREAM_PORT", script.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(1, await second.WaitForExitAsync());
        Assert.Contains($"port {script.Port} is already in use", second.Output, StringComparison.Ordinal);
    }
}
