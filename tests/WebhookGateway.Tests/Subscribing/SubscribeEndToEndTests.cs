using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Subscribing;

/// <summary>
/// GET /{channels}/json|sse|raw|ws against our real server through the real gateway: the formats next to
/// ntfy's documented examples, poll, since, filters, open and keepalive, resume across a disconnect, gaps,
/// a slow consumer, the subscriber limit and channels with a slash.
/// </summary>
public sealed class SubscribeEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(NotistreamServer Server, GatewayHost Gateway, ServerPublisher Publisher)> StartAsync(string[]? serverArgs = null, params string[] gatewayArgs)
    {
        var server = await NotistreamServer.StartAsync(serverArgs ?? []);
        var gateway = await GatewayHost.StartConnectedAsync(server.Port, gatewayArgs);
        var publisher = await ServerPublisher.ConnectAsync(server.Port);
        return (server, gateway, publisher);
    }

    private static string[] Keys(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    [Fact]
    public async Task With_catchup_1_open_says_where_the_catch_up_ends_and_a_caughtup_event_follows_it()
    {
        var (server, gateway, publisher) = await StartAsync(null, "--Subscribe:KeepaliveSeconds", "7");
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        var first = await publisher.PublishAsync("mytopic", "one");
        var last = await publisher.PublishAsync("other", "elsewhere"); // the server's last id: on no channel followed
        await using var stream = await SubscribeStream.OpenAsync(gateway, $"/mytopic/json?since=all&catchup=1");

        var open = await stream.JsonAsync();
        Assert.Equal(["id", "time", "event", "topic", "from", "last", "keepalive"], Keys(open));
        Assert.Equal(("0-0", last, 7), (open.GetProperty("from").GetString(), open.GetProperty("last").GetString(), open.GetProperty("keepalive").GetInt32()));
        Assert.Equal(first, (await stream.JsonAsync()).GetProperty("id").GetString());
        var caughtUp = await stream.JsonAsync();
        Assert.Equal(["id", "time", "event", "topic"], Keys(caughtUp));
        Assert.Equal(("caughtup", "mytopic"), (caughtUp.GetProperty("event").GetString(), caughtUp.GetProperty("topic").GetString()));

        var live = await publisher.PublishAsync("mytopic", "two");
        Assert.Equal(live, (await stream.JsonAsync()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task With_catchup_1_a_cursor_ahead_of_the_server_is_confirmed_as_its_last_id_with_a_gap()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        var last = await publisher.PublishAsync("mytopic", "one");
        await using var stream = await SubscribeStream.OpenAsync(gateway, "/mytopic/json?since=99999999999999-0&catchup=1");

        var open = await stream.JsonAsync();
        Assert.Equal((last, last), (open.GetProperty("from").GetString(), open.GetProperty("last").GetString()));
        var gap = await stream.JsonAsync();
        Assert.Equal(("gap", "mytopic"), (gap.GetProperty("event").GetString(), gap.GetProperty("channel").GetString()));
        Assert.Equal(JsonValueKind.Null, gap.GetProperty("missed").ValueKind); // an unknown number
        var live = await publisher.PublishAsync("mytopic", "two");
        var next = await stream.JsonEventAsync();
        next = next.GetProperty("event").GetString() == "caughtup" ? await stream.JsonEventAsync() : next;
        Assert.Equal(live, next.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Json_stream_sends_open_then_messages_field_by_field_as_ntfy_does()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        await using var stream = await SubscribeStream.OpenAsync(gateway, "/mytopic/json");

        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Equal("application/x-ndjson", stream.Response.Content.Headers.ContentType!.MediaType);
        // ntfy: {"id":"SLiKI64DOt","time":1635528757,"event":"open","topic":"mytopic"}
        var open = await stream.JsonAsync();
        Assert.Equal(["id", "time", "event", "topic"], Keys(open));
        Assert.Equal("open", open.GetProperty("event").GetString());
        Assert.Equal("mytopic", open.GetProperty("topic").GetString());
        Assert.InRange(open.GetProperty("time").GetInt64(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);

        var id = await publisher.PublishAsync("mytopic", "Disk full");

        // ntfy: {"id":"hwQ2YpKdmg","time":1635528741,"event":"message","topic":"mytopic","message":"Disk full"}, plus our channel
        var message = await stream.JsonEventAsync();
        Assert.Equal(["id", "time", "event", "topic", "message", "channel"], Keys(message));
        Assert.Equal(id, message.GetProperty("id").GetString());
        Assert.Equal(long.Parse(id.Split('-')[0]) / 1000, message.GetProperty("time").GetInt64());
        Assert.Equal("message", message.GetProperty("event").GetString());
        Assert.Equal("mytopic", message.GetProperty("topic").GetString());
        Assert.Equal("Disk full", message.GetProperty("message").GetString());
        Assert.Equal("mytopic", message.GetProperty("channel").GetString());
    }

    [Fact]
    public async Task An_ntfy_fields_payload_is_expanded_and_a_pattern_match_names_its_pattern()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        await using var stream = await SubscribeStream.OpenAsync(gateway, "/alerts:*/json");
        await stream.JsonAsync();

        await publisher.PublishAsync("alerts:zfs", """{"message":"ZFS pool corruption detected","title":"zfs","priority":4,"tags":["error","zfs-error"],"click":"https://example.com","icon":"https://example.com/i.png","markdown":true}""");
        await publisher.PublishAsync("alerts:zfs", """{"message":"x","other":1}""");

        var message = await stream.JsonEventAsync();
        Assert.Equal(["id", "time", "event", "topic", "title", "message", "priority", "tags", "click", "icon", "content_type", "channel", "pattern"], Keys(message));
        Assert.Equal("alerts:zfs", message.GetProperty("topic").GetString());
        Assert.Equal("zfs", message.GetProperty("title").GetString());
        Assert.Equal("ZFS pool corruption detected", message.GetProperty("message").GetString());
        Assert.Equal(4, message.GetProperty("priority").GetInt32());
        Assert.Equal(["error", "zfs-error"], message.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("text/markdown", message.GetProperty("content_type").GetString());
        Assert.Equal("alerts:*", message.GetProperty("pattern").GetString());

        var other = await stream.JsonEventAsync();
        Assert.Equal("""{"message":"x","other":1}""", other.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Sse_frames_events_as_ntfy_with_an_id_line_on_every_message()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        await using var stream = await SubscribeStream.OpenAsync(gateway, "/mytopic/sse");
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType!.MediaType);

        // ntfy: event: open / data: {"id":"weSj9RtNkj","time":1635528898,"event":"open","topic":"mytopic"}
        var open = await stream.SseEventAsync();
        Assert.Equal(2, open!.Count);
        Assert.Equal("event: open", open[0]);
        Assert.StartsWith("data: {\"id\":\"", open[1], StringComparison.Ordinal);
        Assert.Equal("open", JsonDocument.Parse(open[1]["data: ".Length..]).RootElement.GetProperty("event").GetString());

        var id = await publisher.PublishAsync("mytopic", "Hi!");

        // ntfy: data: {"id":"p0M5y6gcCY","time":1635528909,"event":"message","topic":"mytopic","message":"Hi!"}; ours with id: first
        var message = await stream.SseEventAsync();
        Assert.Equal(2, message!.Count);
        Assert.Equal($"id: {id}", message[0]);
        var data = JsonDocument.Parse(message[1]["data: ".Length..]).RootElement;
        Assert.Equal((id, "message", "mytopic", "Hi!"),
            (data.GetProperty("id").GetString(), data.GetProperty("event").GetString(), data.GetProperty("topic").GetString(), data.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Raw_sends_message_text_per_line_and_empty_lines_for_open_and_keepalive()
    {
        var (server, gateway, publisher) = await StartAsync(null, "--Subscribe:KeepaliveSeconds", "0.2");
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        await using var stream = await SubscribeStream.OpenAsync(gateway, "/mytopic/raw");
        Assert.Equal("text/plain", stream.Response.Content.Headers.ContentType!.MediaType);

        Assert.Equal(string.Empty, await stream.LineAsync()); // open
        Assert.Equal(string.Empty, await stream.LineAsync()); // a keepalive within 0.2 s
        await publisher.PublishAsync("mytopic", "line one\nline two");
        string? line;
        do
        {
            line = await stream.LineAsync();
        }
        while (line == string.Empty);

        Assert.Equal("line one line two", line);
    }

    [Fact]
    public async Task Keepalive_comes_after_the_configured_silence_with_ntfys_shape()
    {
        var (server, gateway, publisher) = await StartAsync(null, "--Subscribe:KeepaliveSeconds", "0.2");
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        await using var stream = await SubscribeStream.OpenAsync(gateway, "/a,b/json");

        var open = await stream.JsonAsync();
        Assert.Equal("a,b", open.GetProperty("topic").GetString());
        var keepalive = await stream.JsonAsync(TimeSpan.FromSeconds(5));
        // ntfy: {"id":"DGUDShMCsc","time":1635528787,"event":"keepalive","topic":"mytopic"}
        Assert.Equal(["id", "time", "event", "topic"], Keys(keepalive));
        Assert.Equal(("keepalive", "a,b"), (keepalive.GetProperty("event").GetString(), keepalive.GetProperty("topic").GetString()));
    }

    [Fact]
    public async Task Poll_returns_what_is_stored_and_closes_and_since_picks_where_to_start()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        var first = await publisher.PublishAsync("polled", "one");
        var second = await publisher.PublishAsync("polled", "two");
        var third = await publisher.PublishAsync("polled", "three");

        async Task<List<string>> PollAsync(string query)
        {
            await using var stream = await SubscribeStream.OpenAsync(gateway, "/polled/json?poll=1" + query);
            Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
            var events = (await stream.RestAsync()).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.All(events, e => Assert.Equal("message", e.GetProperty("event").GetString()));
            return [.. events.Select(e => e.GetProperty("message").GetString()!)];
        }

        async Task<List<string>> PollAfterGapAsync(string query)
        {
            // A server without persistence started moments ago: a cursor from before its start gets a gap of unknown size.
            await using var stream = await SubscribeStream.OpenAsync(gateway, "/polled/json?poll=1" + query);
            var events = (await stream.RestAsync()).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal("gap", events[0].GetProperty("event").GetString());
            Assert.Equal(JsonValueKind.Null, events[0].GetProperty("missed").ValueKind);
            return [.. events.Skip(1).Select(e => e.GetProperty("message").GetString()!)];
        }

        Assert.Equal(["one", "two", "three"], await PollAsync(string.Empty));       // poll: since=all by default
        Assert.Equal(["one", "two", "three"], await PollAsync("&since=all"));
        Assert.Empty(await PollAsync("&since=none"));
        Assert.Equal(["three"], await PollAsync("&since=latest"));
        Assert.Equal(["two", "three"], await PollAsync($"&since={first}"));
        Assert.Equal(["three"], await PollAsync($"&since={second}"));
        Assert.Empty(await PollAsync($"&since={third}"));
        Assert.Equal(["one", "two", "three"], await PollAfterGapAsync("&since=10m"));
        Assert.Equal(["one", "two", "three"], await PollAfterGapAsync($"&since={DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds()}"));
        // A time ahead of every id the server gave is a cursor it cannot place: a gap of unknown size, then what comes.
        Assert.Empty(await PollAfterGapAsync($"&since={DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds()}"));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/polled/json?poll=1");
        request.Headers.Add("X-Since", "latest");
        using var header = await gateway.Client.SendAsync(request, Ct);
        Assert.Equal("three", JsonDocument.Parse((await header.Content.ReadAsStringAsync(Ct)).Trim()).RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_comma_separates_names_even_percent_encoded_as_ntfy_reads_the_list()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        await publisher.PublishAsync("a", "one");
        await publisher.PublishAsync("b", "two");

        using var response = await gateway.Client.GetAsync("/a%2Cb/json?poll=1", Ct);
        var messages = (await response.Content.ReadAsStringAsync(Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).Select(e => (e.GetProperty("channel").GetString(), e.GetProperty("message").GetString()));
        Assert.Equal([("a", "one"), ("b", "two")], messages);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("10x")]
    [InlineData("-5")]
    [InlineData("12-")]
    public async Task A_bad_since_is_ntfys_400(string since)
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;

        using var response = await gateway.Client.GetAsync($"/polled/json?since={Uri.EscapeDataString(since)}", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal(["code", "http", "error", "link"], Keys(error));
        Assert.Equal((40008, 400, "invalid since parameter"), (error.GetProperty("code").GetInt32(), error.GetProperty("http").GetInt32(), error.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task Filters_pass_only_matching_messages_as_ntfy_filters_them()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        await publisher.PublishAsync("f", """{"message":"urgent zfs","priority":5,"tags":["zfs-error","error"],"title":"disk"}""");
        await publisher.PublishAsync("f", """{"message":"high other","priority":4,"tags":["error"],"title":"other"}""");
        await publisher.PublishAsync("f", "plain, default priority");

        async Task<List<string>> PollAsync(string query, (string, string)? header = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/f/json?poll=1" + query);
            if (header is var (name, value))
            {
                request.Headers.Add(name, value);
            }

            using var response = await gateway.Client.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync(Ct);
            return [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("message").GetString()!)];
        }

        Assert.Empty(await PollAsync("&priority=high&tags=zfs-error"));
        Assert.Equal(["urgent zfs"], await PollAsync("&priority=urgent&tags=zfs-error"));
        Assert.Equal(["urgent zfs", "high other"], await PollAsync("&priority=4,urgent"));
        Assert.Equal(["plain, default priority"], await PollAsync("&p=3"));
        Assert.Equal(["urgent zfs", "high other"], await PollAsync("&tags=error"));
        Assert.Equal(["high other"], await PollAsync("&title=other"));
        Assert.Equal(["urgent zfs"], await PollAsync(string.Empty, ("X-Title", "disk")));
        Assert.Equal(["urgent zfs"], await PollAsync(string.Empty, ("X-Tags", "error,zfs-error")));

        using var bad = await gateway.Client.GetAsync("/f/json?poll=1&priority=6", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(40007, JsonDocument.Parse(await bad.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Channels_with_a_slash_are_written_with_percent_2F()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        await publisher.PublishAsync("octo/hello", "pushed");
        await publisher.PublishAsync("octo/other", "starred");
        await publisher.PublishAsync("octo%2Fhello", "literal percent");

        async Task<List<(string Topic, string Message)>> PollAsync(string path)
        {
            using var response = await gateway.Client.GetAsync(path, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync(Ct);
            return [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
                .Select(e => (e.GetProperty("topic").GetString()!, e.GetProperty("message").GetString()!))];
        }

        Assert.Equal([("octo/hello", "pushed")], await PollAsync("/octo%2Fhello/json?poll=1"));
        Assert.Equal([("octo/hello", "pushed")], await PollAsync("/octo%2fhello/json?poll=1"));
        Assert.Equal([("octo/hello", "pushed"), ("octo/other", "starred")], await PollAsync("/octo%2F*/json?poll=1"));
        Assert.Equal([("octo%2Fhello", "literal percent")], await PollAsync("/octo%252Fhello/json?poll=1"));

        // An unencoded slash is two path segments: no subscribe route.
        using var unencoded = await gateway.Client.GetAsync("/octo/hello/json?poll=1", Ct);
        Assert.NotEqual(HttpStatusCode.OK, unencoded.StatusCode);
    }

    [Fact]
    public async Task Sse_resumes_from_Last_Event_ID_with_every_message_exactly_once_across_two_channels_and_a_pattern()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        const int Total = 500;
        var received = new List<(string Id, string Message)>();
        string? last;
        await using (var first = await SubscribeStream.OpenAsync(gateway, "/red,blue,green:*/sse"))
        {
            Assert.Equal("event: open", (await first.SseEventAsync())![0]);
            var publishing = PublishAllAsync(publisher, Total);
            while (received.Count < 50)
            {
                received.Add(ParseSse((await first.SseEventAsync())!));
            }

            last = received[^1].Id;
            await publishing; // the rest go out while this client is away
        }

        await using var second = await SubscribeStream.OpenAsync(gateway, "/red,blue,green:*/sse",
            request => request.Headers.Add("Last-Event-ID", last));
        Assert.Equal("event: open", (await second.SseEventAsync())![0]);
        while (received.Count < Total)
        {
            received.Add(ParseSse((await second.SseEventAsync())!));
        }

        AssertExactlyOnceInOrder(received, Total);
        await publisher.PublishAsync("red", "sentinel");
        Assert.Equal("sentinel", ParseSse((await second.SseEventAsync())!).Message);
    }

    [Fact]
    public async Task WebSocket_resumes_from_since_id_with_every_message_exactly_once()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        const int Total = 500;
        var received = new List<(string Id, string Message)>();
        var wsBase = new Uri($"ws://{gateway.BaseAddress.Authority}");
        using (var first = new ClientWebSocket())
        {
            await first.ConnectAsync(new Uri(wsBase, "/red,blue,green:*/ws"), Ct);
            Assert.Equal("open", (await ReceiveAsync(first)).GetProperty("event").GetString());
            var publishing = PublishAllAsync(publisher, Total);
            while (received.Count < 50)
            {
                var e = await ReceiveAsync(first);
                received.Add((e.GetProperty("id").GetString()!, e.GetProperty("message").GetString()!));
            }

            await publishing;
            first.Abort();
        }

        using var second = new ClientWebSocket();
        await second.ConnectAsync(new Uri(wsBase, $"/red,blue,green:*/ws?since={received[^1].Id}"), Ct);
        try
        {
            Assert.Equal("open", (await ReceiveAsync(second)).GetProperty("event").GetString());
            while (received.Count < Total)
            {
                var e = await ReceiveAsync(second);
                Assert.Equal("message", e.GetProperty("event").GetString());
                received.Add((e.GetProperty("id").GetString()!, e.GetProperty("message").GetString()!));
            }
        }
        catch (WebSocketException ex)
        {
            throw new InvalidOperationException(string.Join("\n", gateway.Logs.Entries.Select(e => $"{e.EventId.Id} {e.Message} {e.Exception}")), ex);
        }

        AssertExactlyOnceInOrder(received, Total);
        await second.CloseAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
    }

    [Fact]
    public async Task WebSocket_route_without_an_upgrade_is_ntfys_400()
    {
        var (server, gateway, publisher) = await StartAsync();
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;

        using var response = await gateway.Client.GetAsync("/a/ws", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(40016, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task A_cursor_older_than_the_history_gets_one_gap_event_with_the_count()
    {
        // A history of 100, trimmed a node at a time as XADD MAXLEN ~ trims: what is kept is 100 or a little more.
        var (server, gateway, publisher) = await StartAsync(["--channel-history", "* 100 24h"]);
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        var cursor = await publisher.PublishAsync("small", "seen");
        const int Later = 400;
        for (var i = 0; i < Later; i++)
        {
            await publisher.PublishAsync("small", $"m{i}");
        }

        using var response = await gateway.Client.GetAsync($"/small/json?poll=1&since={cursor}", Ct);
        var events = (await response.Content.ReadAsStringAsync(Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();

        var gap = Assert.Single(events, e => e.GetProperty("event").GetString() == "gap");
        Assert.Equal(gap, events[0]);
        var kept = events.Count - 1;
        Assert.InRange(kept, 100, 299);
        Assert.Equal(("small", "small", (long)(Later - kept)), (gap.GetProperty("topic").GetString(), gap.GetProperty("channel").GetString(), gap.GetProperty("missed").GetInt64()));
        Assert.Equal(Enumerable.Range(Later - kept, kept).Select(i => $"m{i}"), events.Skip(1).Select(e => e.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task A_subscriber_that_does_not_read_is_cut_off_and_frees_its_place()
    {
        var (server, gateway, publisher) = await StartAsync(null,
            "--Subscribe:QueueLength", "4", "--Subscribe:SlowConsumerTimeoutMilliseconds", "300", "--Subscribe:MaxSubscribers", "1");
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway.BaseAddress.Port), Ct);
        await socket.SendAsync("GET /slow/raw HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), Ct);
        await TaskTimeoutExtensions.WaitUntil(() => gateway.Logs.Entries.Any(e => e.EventId.Id == 3100), "the subscription to open");

        var big = new string('x', 60_000);
        for (var i = 0; i < 400 && !gateway.Logs.Entries.Any(e => e.EventId.Id == 3102); i++)
        {
            await publisher.PublishAsync("slow", big);
        }

        await TaskTimeoutExtensions.WaitUntil(() => gateway.Logs.Entries.Any(e => e.EventId.Id == 3102), "the slow subscriber to be cut off");

        // Its place is free again: another subscriber is served.
        await Poll.UntilAsync(async () =>
        {
            using var response = await gateway.Client.GetAsync("/slow/json?poll=1&since=latest", Ct);
            return response.StatusCode == HttpStatusCode.OK;
        }, "the subscriber's place to be free");
    }

    [Fact]
    public async Task A_subscriber_that_does_not_read_a_long_catch_up_is_cut_off_having_been_written_a_bounded_part_of_it()
    {
        const int Stored = 3000;
        var (server, gateway, publisher) = await StartAsync(["--channel-history", $"* {Stored} 24h"],
            "--Subscribe:QueueLength", "16", "--Subscribe:SlowConsumerTimeoutMilliseconds", "300");
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        var big = new string('x', 8000);
        for (var i = 0; i < Stored; i++)
        {
            await publisher.PublishAsync("bulk", big);
        }

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway.BaseAddress.Port), Ct);
        await socket.SendAsync("GET /bulk/json?since=all HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray(), Ct);
        await TaskTimeoutExtensions.WaitUntil(() => gateway.Logs.Entries.Any(e => e.EventId.Id == 3102), "the subscriber that does not read to be cut off");

        // What was written to it (into the socket's buffers, and at most about 64 KiB unflushed) before the cut-off:
        // a bounded part of the 24 MB catch-up, not all of it moved into the gateway's memory.
        var written = gateway.App.Services.GetRequiredService<Notistream.Gateway.Dashboard.DashboardCounters>().HttpDelivered;
        Assert.InRange(written, 0, Stored / 2);
    }

    [Fact]
    public async Task Over_the_subscriber_limit_is_ntfys_429()
    {
        var (server, gateway, publisher) = await StartAsync(null, "--Subscribe:MaxSubscribers", "1");
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;
        await using var first = await SubscribeStream.OpenAsync(gateway, "/a/json");
        await first.JsonAsync();

        using var response = await gateway.Client.GetAsync("/b/json", Ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal((42903, 429, "limit reached: too many active subscriptions"),
            (error.GetProperty("code").GetInt32(), error.GetProperty("http").GetInt32(), error.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task Too_many_channels_and_too_long_a_url_are_refused()
    {
        var (server, gateway, publisher) = await StartAsync(null, "--Subscribe:MaxChannels", "3", "--Subscribe:MaxUrlBytes", "200");
        await using var _ = server;
        await using var __ = gateway;
        await using var ___ = publisher;

        using var many = await gateway.Client.GetAsync("/a,b,c,d/json", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, many.StatusCode);
        using var longUrl = await gateway.Client.GetAsync("/" + new string('a', 250) + "/json", Ct);
        Assert.Equal(HttpStatusCode.RequestUriTooLong, longUrl.StatusCode);
        using var fine = await gateway.Client.GetAsync("/a,b,c/json?poll=1", Ct);
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
    }

    [Fact]
    public async Task When_the_server_goes_away_the_stream_ends()
    {
        var server = await NotistreamServer.StartAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port);
        await using var stream = await SubscribeStream.OpenAsync(gateway, "/a/json");
        await stream.JsonAsync();

        await server.DisposeAsync();

        Assert.Empty(await stream.RestAsync());
    }

    private static Task PublishAllAsync(ServerPublisher publisher, int total) => Task.Run(async () =>
    {
        string[] channels = ["red", "blue", "green:1", "green:2"];
        for (var i = 0; i < total; i++)
        {
            await publisher.PublishAsync(channels[i % channels.Length], $"m{i}");
        }
    });

    private static (string Id, string Message) ParseSse(List<string> lines)
    {
        Assert.StartsWith("id: ", lines[0], StringComparison.Ordinal);
        var data = JsonDocument.Parse(lines[1]["data: ".Length..]).RootElement;
        Assert.Equal(lines[0]["id: ".Length..], data.GetProperty("id").GetString());
        return (data.GetProperty("id").GetString()!, data.GetProperty("message").GetString()!);
    }

    private static void AssertExactlyOnceInOrder(List<(string Id, string Message)> received, int total)
    {
        Assert.Equal(Enumerable.Range(0, total).Select(i => $"m{i}"), received.Select(r => r.Message));
        var ids = received.Select(r => r.Id.Split('-').Select(ulong.Parse).ToArray()).ToList();
        for (var i = 1; i < ids.Count; i++)
        {
            Assert.True(ids[i][0] > ids[i - 1][0] || (ids[i][0] == ids[i - 1][0] && ids[i][1] > ids[i - 1][1]), $"id {received[i].Id} after {received[i - 1].Id}");
        }
    }

    private static async Task<JsonElement> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TaskTimeoutExtensions.DefaultTimeout);
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        Assert.True(result.EndOfMessage);
        return JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.Clone();
    }
}
