using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Gateway.Tests.WebPush;
using Notistream.Testing;
using StackExchange.Redis;

namespace Notistream.Gateway.Tests.EndToEnd;

/// <summary>
/// Three Notistream nodes sharing their history in JetStream (three clustered nats-servers), the gateway given
/// all three: an HTTP subscriber (a JSON stream) and a Web Push registration follow on the first node while
/// numbered messages are published through the gateway; the first node is killed (SIGKILL) and publishing goes
/// on. Both carry their position to the next node of the same history: every acknowledged message arrives once,
/// in order, and no gap is reported; a poll with <c>since=</c> an id given by the killed node answers exactly
/// what followed it.
/// </summary>
[Collection(nameof(PublisherCheckInterval))]
public sealed class SharedHistoryGatewayFailoverTests : IAsyncLifetime
{
    private const string Subject = "mailto:ops@example.com";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly TimeSpan _interval = RedisPublisher.CheckInterval;
    private readonly string _folder = Directory.CreateTempSubdirectory("notistream-shared-gateway-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        RedisPublisher.CheckInterval = TimeSpan.FromMilliseconds(300);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        RedisPublisher.CheckInterval = _interval;
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Followers_of_a_killed_node_carry_their_position_to_another_node_of_the_shared_history()
    {
        var natsServer = ExternalProgram.Require("nats-server", "Debian: apt-get install nats-server");
        var watch = Stopwatch.StartNew();
        using var nats = await NatsJetStreamCluster.StartAsync(natsServer);
        await using var a = await ServerChildProcess.StartAsync(FreePort.Next(), nats.NodeArguments(0));
        await using var b = await ServerChildProcess.StartAsync(FreePort.Next(), nats.NodeArguments(1));
        await using var c = await ServerChildProcess.StartAsync(FreePort.Next(), nats.NodeArguments(2));
        foreach (var node in (ServerChildProcess[])[a, b, c])
        {
            await WaitForHistoryAsync(node, nats);
        }

        await using var pushService = await PushServiceStandIn.StartAsync();
        var subscriptionsFile = Path.Join(_folder, "subscriptions.json");
        await using var gateway = await GatewayHost.StartAsync(null, (System.Collections.IDictionary?)null,
            "--server", $"127.0.0.1:{a.Port},127.0.0.1:{b.Port},127.0.0.1:{c.Port}",
            "--WebPush:Subject", Subject, "--WebPush:KeyFile", Path.Join(_folder, "vapid.json"), "--WebPush:SubscriptionsFile", subscriptionsFile,
            "--WebPush:QueuePerSubscription", "1000"); // the catch-up after a move comes in a burst: none of it dropped
        await gateway.WaitUntilReadyAsync();
        var servers = gateway.App.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.Servers;
        await Poll.UntilAsync(() => Task.FromResult(servers.InUse == $"127.0.0.1:{a.Port}"), "the first node in use");

        using var browser = new BrowserSubscription(new Uri(pushService.BaseAddress, "/push/phone").ToString());
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webpush") { Content = new StringContent(browser.RegistrationJson("alerts"), Encoding.UTF8, "application/json") })
        using (var response = await gateway.Client.SendAsync(request, Ct))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await using var stream = await JsonLines.OpenAsync(gateway.BaseAddress, "/alerts/json");
        await Poll.UntilAsync(() => Task.FromResult(stream.Text.Contains("\"event\":\"open\"", StringComparison.Ordinal)), "the stream open");

        // Web Push follows from now once it reaches the node: a warm-up message until one is pushed.
        var warm = Stopwatch.StartNew();
        while (true)
        {
            using (var response = await gateway.Client.PostAsync("/alerts", new StringContent("warm-up"), Ct))
            {
                Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}");
            }

            if (await pushService.NextOrNullAsync(TimeSpan.FromMilliseconds(300)) is not null)
            {
                break;
            }

            Assert.True(warm.Elapsed < Wait, "nothing pushed");
        }

        await Task.Delay(300);
        while (await pushService.NextOrNullAsync(TimeSpan.FromMilliseconds(100)) is not null)
        {
            // the other warm-ups
        }

        // Pushes, decrypted as they come: (message, missed).
        var pushed = new List<(string Message, int Missed)>();
        using var stopPushes = new CancellationTokenSource();
        var receiving = Task.Run(async () =>
        {
            while (!stopPushes.IsCancellationRequested)
            {
                if (await pushService.NextOrNullAsync(TimeSpan.FromMilliseconds(200)) is { } push)
                {
                    var payload = JsonDocument.Parse(browser.Decrypt(push.Body)).RootElement;
                    lock (pushed)
                    {
                        if (payload.GetProperty("message").GetString() != "warm-up")
                        {
                            pushed.Add((payload.GetProperty("message").GetString()!, payload.GetProperty("missed").GetInt32()));
                        }
                    }
                }
            }
        });

        // One publisher through the gateway, each POST answered before the next: m0, m1, ...; acknowledged ones noted.
        using var stop = new CancellationTokenSource();
        var acknowledged = new List<int>();
        var attempted = 0;
        var publishing = Task.Run(async () =>
        {
            using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(20) };
            while (!stop.IsCancellationRequested)
            {
                var n = Volatile.Read(ref attempted);
                using var response = await http.PostAsync("/alerts", new StringContent($"m{n}"), CancellationToken.None);
                Interlocked.Increment(ref attempted);
                if (response.IsSuccessStatusCode)
                {
                    lock (acknowledged)
                    {
                        acknowledged.Add(n);
                    }
                }
                else
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    await Task.Delay(50);
                }

                await Task.Delay(5);
            }
        });

        await Poll.UntilAsync(() => Task.FromResult(Received(stream).Count >= 100 || publishing.IsCompleted), $"100 messages before the kill:\n{stream.Text}");
        var sinceId = Received(stream)[49].Id; // given by the first node
        await a.KillAsync();
        await Poll.UntilAsync(() => Task.FromResult(servers.InUse != $"127.0.0.1:{a.Port}"), "another node in use");
        var killedAt = Count(acknowledged);
        await Poll.UntilAsync(() => Task.FromResult(Count(acknowledged) >= killedAt + 150 || publishing.IsCompleted), "150 messages acknowledged after the kill");
        await stop.CancelAsync();
        await publishing.WithTimeout();
        var total = Volatile.Read(ref attempted);
        var acked = Snapshot(acknowledged);
        var last = $"m{acked[^1]}";
        await Poll.UntilAsync(() => Task.FromResult(Received(stream).Any(m => m.Message == last)), $"{last} on the stream:\n{stream.Text}\n{Log(gateway)}");
        await Poll.UntilAsync(() => Task.FromResult(Snapshot(pushed).Any(p => p.Message == last)), $"{last} pushed\n{Log(gateway)}");
        await Task.Delay(500); // anything delivered twice would come now
        await stopPushes.CancelAsync();
        await receiving.WithTimeout();

        Assert.DoesNotContain("\"event\":\"gap\"", stream.Text, StringComparison.Ordinal);
        Assert.False(stream.Ended, stream.Text);
        var streamed = Received(stream);
        AssertOnceInOrder(streamed.Select(m => m.Message).ToList(), acked, total, "stream");
        for (var i = 1; i < streamed.Count; i++)
        {
            Assert.True(Compare(streamed[i - 1].Id, streamed[i].Id) < 0, $"ids not increasing at {i}: {streamed[i - 1].Id} then {streamed[i].Id}");
        }

        var pushes = Snapshot(pushed);
        AssertOnceInOrder(pushes.Select(p => p.Message).ToList(), acked, total, "Web Push");
        Assert.All(pushes, p => Assert.Equal(0, p.Missed));

        // An id the killed node gave, on the node in use now: exactly what came after it.
        using (var poll = new HttpClient { BaseAddress = gateway.BaseAddress })
        {
            var text = await poll.GetStringAsync($"/alerts/json?poll=1&since={sinceId}", Ct);
            var polled = Lines(text).Where(l => l.GetProperty("event").GetString() == "message").Select(l => l.GetProperty("message").GetString()!).ToList();
            Assert.DoesNotContain("\"event\":\"gap\"", text, StringComparison.Ordinal);
            Assert.Equal(streamed.SkipWhile(m => m.Id != sinceId).Skip(1).Select(m => m.Message), polled);
        }

        // One position file, as with one server.
        Assert.Matches("^[0-9]+-[0-9]+\n$", File.ReadAllText(subscriptionsFile + ".position"));
        Assert.Empty(Directory.GetFiles(_folder, "subscriptions.json.position.127.0.0.1_*"));
        TestContext.Current.TestOutputHelper?.WriteLine($"{acked.Count} of {total} acknowledged, {killedAt} before the kill; {watch.Elapsed.TotalSeconds:0.0} s in all");
    }

    /// <summary>Each message at most once, in the order published, nothing not published, every acknowledged one.</summary>
    private static void AssertOnceInOrder(List<string> received, List<int> acknowledged, int attempted, string where)
    {
        var numbers = received.Select(m => int.Parse(m.AsSpan(1), CultureInfo.InvariantCulture)).ToList();
        for (var i = 1; i < numbers.Count; i++)
        {
            Assert.True(numbers[i - 1] < numbers[i], $"{where}: m{numbers[i]} after m{numbers[i - 1]}");
        }

        Assert.All(numbers, n => Assert.InRange(n, 0, attempted - 1));
        var missing = acknowledged.Except(numbers).ToList();
        Assert.True(missing.Count == 0, $"{where}: acknowledged but not received: {string.Join(", ", missing.Select(n => $"m{n}"))}");
    }

    /// <summary>The gateway's log but for each publish: what it did about the nodes.</summary>
    private static string Log(GatewayHost gateway) =>
        string.Join('\n', gateway.Logs.Entries.Where(e => e.EventId.Id != 3000).Select(e => $"{e.EventId.Id} {e.Message}"));

    private static int Count(List<int> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }

    private static List<T> Snapshot<T>(List<T> list)
    {
        lock (list)
        {
            return [.. list];
        }
    }

    private static int Compare(string x, string y)
    {
        static (ulong, ulong) Parse(string id) => (ulong.Parse(id[..id.IndexOf('-', StringComparison.Ordinal)], CultureInfo.InvariantCulture), ulong.Parse(id[(id.IndexOf('-', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture));
        return Parse(x).CompareTo(Parse(y));
    }

    private static List<(string Id, string Message)> Received(JsonLines stream) =>
        [.. Lines(stream.Text).Where(l => l.GetProperty("event").GetString() == "message")
            .Select(l => (l.GetProperty("id").GetString()!, l.GetProperty("message").GetString()!)).Where(m => m.Item2 != "warm-up")];

    /// <summary>The complete lines of <paramref name="text"/> (the last may still be being written), parsed.</summary>
    private static List<JsonElement> Lines(string text) =>
        [.. text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    /// <summary>INFO cluster once the node reads the shared history (<c>nats_history_ready:1</c>): jetstream.</summary>
    private static async Task WaitForHistoryAsync(ServerChildProcess node, NatsJetStreamCluster nats)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{node.Port},allowAdmin=true").WithTimeout();
        var db = connection.GetDatabase();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var info = ((string)(await db.ExecuteAsync("INFO", "cluster").WithTimeout())!)
                .Split("\r\n").Select(line => line.Split(':', 2)).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);
            if (info.GetValueOrDefault("nats_history_ready") == "1")
            {
                Assert.Equal("jetstream", info["nats_history"]);
                return;
            }

            Assert.True(deadline.Elapsed < Wait, $"node on {node.Port} not reading the shared history:\n{string.Join('\n', info)}\n{node.Output}\n{nats.Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>One streaming response (JSON lines), read into text in the background.</summary>
    private sealed class JsonLines : IAsyncDisposable
    {
        private readonly HttpClient _http;
        private readonly HttpResponseMessage _response;
        private readonly StringBuilder _text = new();
        private readonly Task _reading;

        private JsonLines(HttpClient http, HttpResponseMessage response, Stream stream)
        {
            _http = http;
            _response = response;
            _reading = Task.Run(async () =>
            {
                using var reader = new StreamReader(stream);
                while (await reader.ReadLineAsync() is { } line)
                {
                    lock (_text)
                    {
                        _text.Append(line).Append('\n');
                    }
                }
            });
        }

        public static async Task<JsonLines> OpenAsync(Uri gateway, string path)
        {
            var http = new HttpClient { BaseAddress = gateway, Timeout = Timeout.InfiniteTimeSpan };
            var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return new JsonLines(http, response, await response.Content.ReadAsStreamAsync(Ct));
        }

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public bool Ended => _reading.IsCompleted;

        public async ValueTask DisposeAsync()
        {
            _response.Dispose();
            _http.Dispose();
            await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
