using System.Net;
using System.Net.Sockets;
using Notistream.RespServer.Tests.Connections;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Hosting;

/// <summary>GET /metrics on metrics-port: what it counts, against what the test did, over real sockets.</summary>
public class MetricsTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Metrics_are_off_unless_metrics_port_is_set_and_then_bound_to_loopback()
    {
        await using var off = await NotistreamServer.StartAsync();
        Assert.Equal(0, off.MetricsPort);
        await using var client = await RawClient.ConnectAsync(off.Port);
        await client.SendAsync(RawClient.Command("CONFIG", "GET", "metrics-*"));
        await client.ExpectAsync("*4\r\n$12\r\nmetrics-port\r\n$1\r\n0\r\n$12\r\nmetrics-bind\r\n$9\r\n127.0.0.1\r\n");
        await client.SendAsync(RawClient.Command("CONFIG", "SET", "metrics-port", "9100"));
        await client.ExpectAsync("-ERR CONFIG SET failed (possibly related to argument 'metrics-port') - can't set immutable config\r\n");

        await using var on = await NotistreamServer.StartAsync("--metrics-port", "-1");
        Assert.NotEqual(0, on.MetricsPort);
        using var listening = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await listening.ConnectAsync(IPAddress.Loopback, on.MetricsPort);
        var notFound = await Http.GetAsync($"http://127.0.0.1:{on.MetricsPort}/other");
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        var found = await Http.GetAsync($"http://127.0.0.1:{on.MetricsPort}/metrics");
        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", found.Content.Headers.ContentType!.ToString());
    }

    [Fact]
    public async Task Counters_move_by_exactly_what_was_published_and_delivered_and_the_gauges_match()
    {
        await using var server = await NotistreamServer.StartAsync("--metrics-port", "-1", "--channel-history", "none");
        var before = await ScrapeAsync(server);

        var subscribers = new List<RawClient>();
        for (var i = 0; i < 3; i++)
        {
            var subscriber = await RawClient.ConnectAsync(server.Port);
            await subscriber.SendAsync(RawClient.Command("SUBSCRIBE", "news"));
            await subscriber.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
            subscribers.Add(subscriber);
        }

        await using var watcher = await RawClient.ConnectAsync(server.Port);
        await watcher.SendAsync(RawClient.Command("PSUBSCRIBE", "ne*", "other.*"));
        await watcher.ExpectAsync("*3\r\n$10\r\npsubscribe\r\n$3\r\nne*\r\n:1\r\n*3\r\n$10\r\npsubscribe\r\n$7\r\nother.*\r\n:2\r\n");
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        for (var i = 0; i < 10; i++)
        {
            await publisher.SendAsync(RawClient.Command("PUBLISH", "news", $"m{i}"));
            await publisher.ExpectAsync(":4\r\n");
        }

        foreach (var subscriber in subscribers)
        {
            for (var i = 0; i < 10; i++)
            {
                await subscriber.ExpectAsync($"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nm{i}\r\n");
            }
        }

        // Counters are added at the end of each batch, just after its replies are queued: wait for the last.
        var after = await ScrapeUntilAsync(server, s => s.Value("notistream_messages_delivered_total") >= before.Value("notistream_messages_delivered_total") + 40);
        Assert.Equal(10, after.Value("notistream_messages_published_total") - before.Value("notistream_messages_published_total"));
        Assert.Equal(40, after.Value("notistream_messages_delivered_total") - before.Value("notistream_messages_delivered_total"));
        Assert.Equal(5, after.Value("notistream_connections_accepted_total") - before.Value("notistream_connections_accepted_total"));
        Assert.Equal(3 + 1 + 10, after.Value("notistream_commands_processed_total") - before.Value("notistream_commands_processed_total"));
        Assert.Equal(5, after.Value("notistream_connections{transport=\"tcp\"}"));
        Assert.Equal(0, after.Value("notistream_connections{transport=\"tls\"}"));
        Assert.Equal(3, after.Value("notistream_subscriptions{kind=\"channel\"}"));
        Assert.Equal(2, after.Value("notistream_subscriptions{kind=\"pattern\"}"));
        Assert.Equal(1, after.Value("notistream_channels"));
        Assert.Equal(0, after.Value("notistream_history_entries"));

        // One publish in 64 that reaches someone is timed: the 64th of this connection.
        Assert.Equal(0, after.Value("notistream_delivery_duration_seconds_count"));
        for (var i = 10; i < 64; i++)
        {
            await publisher.SendAsync(RawClient.Command("PUBLISH", "news", $"m{i}"));
            await publisher.ExpectAsync(":4\r\n");
        }

        var timed = await ScrapeUntilAsync(server, s => s.Value("notistream_delivery_duration_seconds_count") >= 1);
        Assert.Equal(1, timed.Value("notistream_delivery_duration_seconds_count"));
        Assert.InRange(timed.Value("notistream_delivery_duration_seconds_sum"), 0, 5);
        Assert.Equal(1, timed.Value("notistream_delivery_duration_seconds_bucket{le=\"+Inf\"}"));

        // Gone subscribers leave the gauges.
        foreach (var subscriber in subscribers)
        {
            await subscriber.DisposeAsync();
        }

        var gone = await ScrapeUntilAsync(server, s => s.Value("notistream_connections{transport=\"tcp\"}") == 2);
        Assert.Equal(0, gone.Value("notistream_subscriptions{kind=\"channel\"}"));
        Assert.Equal(0, gone.Value("notistream_channels"));
        Assert.Equal(2, gone.Value("notistream_subscriptions{kind=\"pattern\"}"));
    }

    [Fact]
    public async Task History_and_a_reset_of_the_INFO_counters_show_and_the_counters_never_go_back()
    {
        await using var server = await NotistreamServer.StartAsync("--metrics-port", "-1", "--channel-history", "kept.* 100 1h");
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        for (var i = 0; i < 5; i++)
        {
            await publisher.SendAsync(RawClient.Command("PUBLISH", "kept.a", $"m{i}"));
            await publisher.ExpectAsync(":0\r\n");
        }

        var kept = await ScrapeUntilAsync(server, s => s.Value("notistream_messages_published_total") >= 5);
        Assert.Equal(5, kept.Value("notistream_history_entries"));
        Assert.True(kept.Value("notistream_history_size_bytes") > 0);

        await publisher.SendAsync(RawClient.Command("CONFIG", "RESETSTAT"));
        await publisher.ExpectAsync("+OK\r\n");
        var reset = await ScrapeAsync(server);
        Assert.Equal(5, reset.Value("notistream_messages_published_total"));
        Assert.Equal(1, reset.Value("notistream_connections_accepted_total"));
    }

    [Fact]
    public async Task A_subscriber_cut_off_by_the_output_limit_is_counted()
    {
        await using var server = await NotistreamServer.StartAsync("--metrics-port", "-1", "--client-output-buffer-limit", "pubsub", "1mb", "0", "0");
        await using var stalled = await RawClient.ConnectAsync(server.Port, receiveBufferSize: 4096);
        await stalled.SendAsync(RawClient.Command("SUBSCRIBE", "feed"));
        await stalled.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$4\r\nfeed\r\n:1\r\n");
        var before = await ScrapeAsync(server);
        Assert.Equal(0, before.Value("notistream_output_limit_disconnects_total"));

        await using var publisher = await RawClient.ConnectAsync(server.Port);
        var payload = new string('x', 16 * 1024);
        for (var i = 0; i < 512 && server.Context.Registry.SubscriberCount("feed"u8, shard: false) > 0; i++)
        {
            await publisher.SendAsync(RawClient.Command("PUBLISH", "feed", payload));
            await publisher.ReadAsync(4); // ":1\r\n" or ":0\r\n"
        }

        // The cut-off is counted when the client is closed; its subscriptions go with the clean-up that follows,
        // off the event threads, so the gauge reaches 0 a moment later.
        var after = await ScrapeUntilAsync(server, s => s.Value("notistream_output_limit_disconnects_total") >= 1
            && s.Value("notistream_subscriptions{kind=\"channel\"}") == 0);
        Assert.Equal(1, after.Value("notistream_output_limit_disconnects_total"));
        Assert.Equal(0, after.Value("notistream_subscriptions{kind=\"channel\"}"));
    }

    [Fact]
    public async Task Promtool_accepts_the_exposition()
    {
        await using var server = await NotistreamServer.StartAsync("--metrics-port", "-1");
        await using var subscriber = await RawClient.ConnectAsync(server.Port);
        await subscriber.SendAsync(RawClient.Command("SUBSCRIBE", "c"));
        await subscriber.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        for (var i = 0; i < 64; i++)
        {
            await publisher.SendAsync(RawClient.Command("PUBLISH", "c", "m"));
            await publisher.ExpectAsync(":1\r\n");
        }

        await ScrapeUntilAsync(server, s => s.Value("notistream_delivery_duration_seconds_count") >= 1);
        var text = await Http.GetStringAsync($"http://127.0.0.1:{server.MetricsPort}/metrics");
        Assert.Contains("# TYPE notistream_messages_delivered_total counter", text);
        Assert.Contains("# TYPE notistream_delivery_duration_seconds histogram", text);
        Assert.Contains("process_cpu_seconds_total", text);
        await PrometheusScrape.CheckWithPromtoolAsync(text);
    }

    private static async Task<Dictionary<string, double>> ScrapeAsync(NotistreamServer server)
        => PrometheusScrape.Parse(await Http.GetStringAsync($"http://127.0.0.1:{server.MetricsPort}/metrics"));

    private static async Task<Dictionary<string, double>> ScrapeUntilAsync(NotistreamServer server, Func<Dictionary<string, double>, bool> done)
    {
        Dictionary<string, double> last = [];
        await TaskTimeoutExtensions.WaitUntil(() =>
        {
            last = ScrapeAsync(server).GetAwaiter().GetResult();
            return done(last);
        }, "the metrics to show it");
        return last;
    }
}
