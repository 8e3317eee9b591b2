using System.Text;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.Recipes;

/// <summary>
/// docs/persistence.md's recipes for reading channel history with stock clients ("Reading history with
/// stock clients"), run against our server: the redis-cli loop exactly as the page shows it (taken from
/// docs/persistence.md), and the StackExchange.Redis doorbell reproduced here line for line.
/// </summary>
public sealed class HistoryRecipeTests
{
    private const string RecipeMarker = "<!-- recipe: redis-cli-xread";

    private static string DocBlock(string marker)
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Join(folder.FullName, "notistream.sln")))
        {
            folder = folder.Parent;
        }

        Assert.NotNull(folder);
        var page = File.ReadAllText(Path.Join(folder.FullName, "docs", "persistence.md"));
        var at = page.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"docs/persistence.md has no '{marker}'");
        var start = page.IndexOf("```sh\n", at, StringComparison.Ordinal) + "```sh\n".Length;
        var end = page.IndexOf("```", start, StringComparison.Ordinal);
        return page[start..end];
    }

    [Fact]
    public async Task The_redis_cli_loop_prints_each_message_once_whole_and_in_order()
    {
        var redisCli = ExternalProgram.Require("redis-cli", "apt-get install redis-tools");
        await using var server = await NotistreamServer.StartAsync();
        // The page's loop talks to the default port; this points its redis-cli at the test server.
        var script = $"redis-cli() {{ command '{redisCli}' -p {server.Port} \"$@\"; }}\n" + DocBlock(RecipeMarker);
        await using var loop = ChildProcess.Start("bash", ["-c", script], new Dictionary<string, string?>());
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port},allowAdmin=true").WithTimeout();
        var db = connection.GetDatabase();
        // '$' means what comes next: publish once the first XREAD is waiting.
        await TaskTimeoutExtensions.WaitUntil(() => db.Execute("CLIENT", "LIST").ToString().Contains("cmd=xread", StringComparison.Ordinal), "the loop's XREAD to block");

        var subscriber = connection.GetSubscriber();
        foreach (var message in new[] { "disk full", "two\nlines", "back to normal" })
        {
            await subscriber.PublishAsync(RedisChannel.Literal("alerts"), message).WithTimeout();
        }

        await TaskTimeoutExtensions.WaitUntil(() => loop.StandardOutput == "disk full\ntwo\nlines\nback to normal\n", $"the three messages; output so far:\n{loop.AllOutput}");
    }

    [Fact]
    public async Task The_StackExchange_Redis_doorbell_reads_what_was_kept_then_each_new_message_once_also_after_a_reconnect()
    {
        await using var server = await TestServer.StartAsync(ServerKind.Notistream);
        await using (var before = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout())
        {
            await before.GetSubscriber().PublishAsync(RedisChannel.Literal("alerts"), "kept 1").WithTimeout();
            await before.GetSubscriber().PublishAsync(RedisChannel.Literal("alerts"), "kept 2").WithTimeout();
        }

        var console = new LockedStringWriter();
        using var stop = new CancellationTokenSource();
        var reading = Task.Run(() => DoorbellAsync($"127.0.0.1:{server.Port}", console, stop.Token));
        await TaskTimeoutExtensions.WaitUntil(() => console.ToString() == "kept 1\nkept 2\n", $"what was kept; got:\n{console}");

        await using (var publisher = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port},abortConnect=false").WithTimeout())
        {
            for (var i = 1; i <= 3; i++)
            {
                await publisher.GetSubscriber().PublishAsync(RedisChannel.Literal("alerts"), $"live {i}").WithTimeout();
            }

            await TaskTimeoutExtensions.WaitUntil(() => console.ToString().EndsWith("live 3\n", StringComparison.Ordinal), $"the live messages; got:\n{console}");
        }

        // A restarted server (ours keeps history in memory: it starts empty, with later ids): the doorbell rings again.
        await server.RestartAsync();
        await using (var publisher = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout())
        {
            var db = publisher.GetDatabase();
            await TaskTimeoutExtensions.WaitUntil(() => (long)((RedisResult[])db.Execute("PUBSUB", "NUMSUB", "alerts")!)[1] > 0, "the doorbell subscribed again", TimeSpan.FromSeconds(30));
            await publisher.GetSubscriber().PublishAsync(RedisChannel.Literal("alerts"), "after restart").WithTimeout();
        }

        await TaskTimeoutExtensions.WaitUntil(() => console.ToString().EndsWith("after restart\n", StringComparison.Ordinal), $"the message after the restart; got:\n{console}", TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await reading.WithTimeout();
        Assert.Equal("kept 1\nkept 2\nlive 1\nlive 2\nlive 3\nafter restart\n", console.ToString());
    }

    /// <summary>docs/persistence.md's StackExchange.Redis recipe, with <paramref name="console"/> for Console.Out and a way to stop.</summary>
    private static async Task DoorbellAsync(string endPoint, TextWriter console, CancellationToken stop)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(endPoint);
        await using var _ = redis;
        var db = redis.GetDatabase();
        var last = "0-0";                        // the last id you handled; keep it across restarts
        var doorbell = new SemaphoreSlim(0);
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal("alerts"), (_, _) => doorbell.Release());
        redis.ConnectionRestored += (_, _) => doorbell.Release();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                foreach (var entry in await db.StreamReadAsync("alerts", last))
                {
                    console.WriteLine(entry["message"]);
                    last = entry.Id!;
                }

                await doorbell.WaitAsync(TimeSpan.FromSeconds(30), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (RedisConnectionException)
            {
                // The server is restarting; StackExchange.Redis reconnects and ConnectionRestored rings.
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }
}
