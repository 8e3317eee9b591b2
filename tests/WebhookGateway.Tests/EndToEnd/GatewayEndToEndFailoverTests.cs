using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;

namespace Notistream.Gateway.Tests.EndToEnd;

/// <summary>
/// The gateway given two of our servers, each a node with its own history: publishing and following must
/// use the same node, a move to a node without a position must say so (a gap), and the gateway goes back
/// to the first node once it is there again.
/// </summary>
[Collection(nameof(PublisherCheckInterval))]
public sealed class GatewayEndToEndFailoverTests : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly TimeSpan _interval = RedisPublisher.CheckInterval;

    public ValueTask InitializeAsync()
    {
        RedisPublisher.CheckInterval = TimeSpan.FromMilliseconds(300);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        RedisPublisher.CheckInterval = _interval;
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Killing_only_the_gateways_publishing_connection_moves_its_followers_with_it_and_back()
    {
        await using var first = await NotistreamServer.StartAsync();
        await using var second = await NotistreamServer.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(null, (System.Collections.IDictionary?)null, "--server", $"127.0.0.1:{first.Port},127.0.0.1:{second.Port}");
        await gateway.WaitUntilReadyAsync();
        var servers = gateway.App.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.Servers;
        await Poll.UntilAsync(() => Task.FromResult(servers.InUse == $"127.0.0.1:{first.Port}"), "the first node in use");
        await using var stream = await StreamAsync(gateway);

        await PostAsync(gateway, "one");
        await stream.WaitForAsync("one");

        // The publishing connection to the first node drops and cannot come back (the node is full); the HTTP
        // subscriber's own connection to it stays.
        await using var admin = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { $"127.0.0.1:{first.Port}" }, AllowAdmin = true, ClientName = "test" });
        await KillPublishingConnectionAsync(admin);
        await Poll.UntilAsync(() => Task.FromResult(gateway.Logs.Entries.Any(e => e.EventId.Id == 3015)), "a move to the second node");
        await PostAsync(gateway, "two");

        // Published on whichever node is in use: either the subscriber follows there too, or it was told of a gap.
        await Poll.UntilAsync(() => Task.FromResult(stream.Text.Contains("two", StringComparison.Ordinal) || stream.Text.Contains("\"event\":\"gap\"", StringComparison.Ordinal)),
            $"'two' or a gap on the stream:\n{stream.Text}");

        // The first node takes clients again: back to it, publishing and following both.
        await admin.GetDatabase().ExecuteAsync("CONFIG", "SET", "maxclients", "10000");
        await Poll.UntilAsync(() => Task.FromResult(servers.InUse == $"127.0.0.1:{first.Port}"), "the first node in use again");
        await PostAsync(gateway, "three");
        await stream.WaitForAsync("three");
        var health = await gateway.App.Services.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync(Ct);
        Assert.Equal($"connected to the pub/sub server at 127.0.0.1:{first.Port}", health.Entries["pubsub"].Description);
        Assert.False(stream.Ended, stream.Text);
    }

    [Fact]
    public async Task Moving_to_a_node_with_its_own_history_reports_a_gap_and_replays_none_of_it()
    {
        await using var second = await NotistreamServer.StartAsync();
        var first = await NotistreamServer.StartAsync();
        var stopped = false;
        try
        {
            await using var gateway = await GatewayHost.StartAsync(null, (System.Collections.IDictionary?)null, "--server", $"127.0.0.1:{first.Port},127.0.0.1:{second.Port}");
            await gateway.WaitUntilReadyAsync();
            var servers = gateway.App.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.Servers;
            await Poll.UntilAsync(() => Task.FromResult(servers.InUse == $"127.0.0.1:{first.Port}"), "the first node in use");
            await using var stream = await StreamAsync(gateway);

            await PostAsync(gateway, "one");
            await stream.WaitForAsync("one");

            // The second node's own history, newer than the subscriber's position on the first: never its to replay.
            await using (var direct = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{second.Port}"))
            {
                await direct.GetDatabase().ExecuteAsync("NOTI.PUBLISH", "alerts", "old on the second node");
            }

            await first.DisposeAsync();
            stopped = true;
            await Poll.UntilAsync(() => Task.FromResult(servers.InUse == $"127.0.0.1:{second.Port}"), "the second node in use");
            await Poll.UntilAsync(() => Task.FromResult(gateway.Logs.Entries.Any(e => e.EventId.Id == 3104)), "the subscriber following on the second node");
            await PostAsync(gateway, "two");
            await stream.WaitForAsync("two");

            var text = stream.Text;
            Assert.DoesNotContain("old on the second node", text, StringComparison.Ordinal);
            var gap = text.IndexOf("\"event\":\"gap\"", StringComparison.Ordinal);
            Assert.True(gap > text.IndexOf("one", StringComparison.Ordinal) && gap < text.IndexOf("two", StringComparison.Ordinal), text);
            Assert.Contains("\"missed\":null", text, StringComparison.Ordinal);
        }
        finally
        {
            if (!stopped)
            {
                await first.DisposeAsync();
            }
        }
    }

    /// <summary>Kills the gateway's publishing connection, with maxclients lowered first so that it cannot reconnect.</summary>
    private static async Task KillPublishingConnectionAsync(ConnectionMultiplexer admin)
    {
        var lines = (await admin.GetDatabase().ExecuteAsync("CLIENT", "LIST")).ToString()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var publishing = lines.Where(l => l.Contains("name=notistream-gateway", StringComparison.Ordinal))
            .Select(l => l.Split(' ').First(f => f.StartsWith("id=", StringComparison.Ordinal))[3..]).ToList();
        Assert.NotEmpty(publishing);
        await admin.GetDatabase().ExecuteAsync("CONFIG", "SET", "maxclients", (lines.Length - publishing.Count).ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var id in publishing)
        {
            await admin.GetDatabase().ExecuteAsync("CLIENT", "KILL", "ID", id);
        }
    }

    private static async Task PostAsync(GatewayHost gateway, string message)
    {
        using var response = await gateway.Client.PostAsync("/alerts", new StringContent(message), Ct);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
    }

    private static async Task<JsonStream> StreamAsync(GatewayHost gateway)
    {
        var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var response = await http.GetAsync("/alerts/json", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new JsonStream(http, response, await response.Content.ReadAsStreamAsync(Ct));
    }

    /// <summary>One /json stream, read into text in the background.</summary>
    private sealed class JsonStream : IAsyncDisposable
    {
        private readonly HttpClient _http;
        private readonly HttpResponseMessage _response;
        private readonly StringBuilder _text = new();
        private readonly Task _reading;

        public JsonStream(HttpClient http, HttpResponseMessage response, Stream stream)
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
                        _text.AppendLine(line);
                    }
                }
            });
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

        public Task WaitForAsync(string what) =>
            Poll.UntilAsync(() => Task.FromResult(Text.Contains(what, StringComparison.Ordinal)), $"'{what}' on the stream:\n{Text}");

        public async ValueTask DisposeAsync()
        {
            _response.Dispose();
            _http.Dispose();
            await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}

/// <summary>Tests that change <see cref="RedisPublisher.CheckInterval"/> run one at a time.</summary>
[CollectionDefinition(nameof(PublisherCheckInterval), DisableParallelization = true)]
public sealed class PublisherCheckInterval;
