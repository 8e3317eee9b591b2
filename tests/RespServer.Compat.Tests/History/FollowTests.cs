using System.Text;
using Notistream.RespServer.Compat.Tests.Harness;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.History;

/// <summary>
/// NOTI.SUBSCRIBE: a follower resuming from an id gets every later message of its channels and patterns
/// exactly once, in id order, the stored ones then the live ones, and a gap notice with the count when the
/// history no longer reaches back. Checked on the wire, against what the streams hold.
/// </summary>
public sealed class FollowTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_follower_gets_every_message_after_its_cursor_exactly_once_in_id_order_across_the_hand_off_to_live()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 100000 24h");
        await using var muxer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}");
        var channels = new[] { "alerts", "builds", "chat", "gh/acme/site", "gh/acme/api", "other" };

        // Publishers keep going on four connections while the follower subscribes from an id in the middle.
        const int PerPublisher = 3000;
        var publishers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            await using var connection = await RawConnection.ConnectAsync(server.Port);
            for (var i = 0; i < PerPublisher; i += 50)
            {
                var batch = Enumerable.Range(i, 50).SelectMany(j => Script.Encode("PUBLISH", channels[(j + p) % channels.Length], $"p{p}-{j}")).ToArray();
                await connection.SendAsync(batch);
                await connection.ReadFramesAsync(50, Wait);
            }
        })).ToArray();

        var db = muxer.GetDatabase();
        while ((await db.StreamLengthAsync("alerts")) < 200)
        {
            await Task.Delay(5);
        }

        var from = (string)(await db.StreamRangeAsync("alerts", count: 100))[^1].Id!;
        await using var follower = await RawConnection.ConnectAsync(server.Port);
        await follower.SendAsync(Script.Encode("NOTI.SUBSCRIBE", from, "CHANNELS", "3", "alerts", "builds", "chat", "PATTERNS", "1", "gh/*"));
        await Task.WhenAll(publishers);

        // What the streams hold after the cursor is what the follower must get, in this order.
        var expected = new List<(string Id, string Channel, string Message)>();
        foreach (var channel in channels.Where(c => c != "other"))
        {
            foreach (var entry in await db.StreamRangeAsync(channel, minId: "(" + from))
            {
                expected.Add((entry.Id!, channel, entry["message"]!));
            }
        }

        expected.Sort((a, b) => Compare(a.Id, b.Id));
        var frames = await follower.ReadFramesAsync(2 + expected.Count, Wait);
        Assert.Equal("noti.subscribe", frames[0].Children[0].Text);
        Assert.Equal(from, frames[0].Children[1].Text);

        // One noti.caughtup, after every message up to the confirmation's last id and before any later one.
        var last = frames[0].Children[3].Text;
        var caughtUp = Assert.Single(frames, f => f.Children[0].Text == "noti.caughtup");
        var at = frames.IndexOf(caughtUp);
        Assert.All(frames.Skip(1).Take(at - 1), f => Assert.True(Compare(f.Children[^2].Text, last) <= 0));
        Assert.All(frames.Skip(at + 1), f => Assert.True(Compare(f.Children[^2].Text, last) > 0));
        frames.RemoveAt(at);
        var got = frames.Skip(1).Select(f => f.Children[0].Text == "noti.message"
            ? (Id: f.Children[2].Text, Channel: f.Children[1].Text, Message: f.Children[3].Text)
            : (Id: f.Children[3].Text, Channel: f.Children[2].Text, Message: f.Children[4].Text)).ToList();
        Assert.Equal(expected, got);
        Assert.All(frames.Skip(1).Where(f => f.Children[0].Text == "noti.pmessage"), f => Assert.Equal("gh/*", f.Children[1].Text));
        Assert.Contains(got, g => g.Channel == "gh/acme/api");

        // Live after the catch-up, and PUBLISH counts the follower as a receiver.
        Assert.Equal(1, await muxer.GetSubscriber().PublishAsync(RedisChannel.Literal("chat"), "live"));
        var live = Assert.Single(await follower.ReadFramesAsync(1, Wait));
        Assert.Equal("live", live.Children[3].Text);
        Assert.Equal(0, Compare(live.Children[2].Text, (string)(await db.StreamRangeAsync("chat", "-", "+", 1, Order.Descending))[0].Id!));
    }

    [Fact]
    public async Task A_follower_whose_cursor_was_trimmed_away_gets_one_gap_with_the_exact_count_then_what_is_kept()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 100 24h");
        await using var publisher = await RawConnection.ConnectAsync(server.Port);
        await publisher.SendAsync(Script.Encode("NOTI.PUBLISH", "news", "seen"));
        var first = (await publisher.ReadFramesAsync(1, Wait))[0].Children[1].Text;
        await publisher.SendAsync(Enumerable.Range(0, 537).SelectMany(i => Script.Encode("PUBLISH", "news", $"n{i}")).ToArray());
        await publisher.ReadFramesAsync(537, Wait);

        await using var muxer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}");
        var kept = await muxer.GetDatabase().StreamRangeAsync("news");
        Assert.True(kept.Length is >= 100 and < 537, $"{kept.Length} kept");

        await using var follower = await RawConnection.ConnectAsync(server.Port);
        await follower.SendAsync(Script.Encode("NOTI.SUBSCRIBE", first, "CHANNELS", "1", "news"));
        var frames = await follower.ReadFramesAsync(3 + kept.Length, Wait);
        var lastKept = (string)kept[^1].Id!;
        Assert.Equal($"*2\r\n$13\r\nnoti.caughtup\r\n${lastKept.Length}\r\n{lastKept}\r\n", Encoding.ASCII.GetString(frames[^1].Raw));
        frames.RemoveAt(frames.Count - 1);
        var gap = frames[1];
        Assert.Equal("noti.gap", gap.Children[0].Text);
        Assert.Equal("news", gap.Children[1].Text);
        Assert.Equal($":{537 - kept.Length}\r\n", Encoding.ASCII.GetString(gap.Children[2].Raw));
        Assert.Equal(kept.Select(e => (string)e["message"]!), frames.Skip(2).Select(f => f.Children[3].Text));

        // The same follower is not told twice: later trims of what it has seen are no gap (batches smaller
        // than the history, each read before the next, so it never falls behind).
        for (var batch = 0; batch < 6; batch++)
        {
            await publisher.SendAsync(Enumerable.Range(0, 50).SelectMany(i => Script.Encode("PUBLISH", "news", $"m{batch}-{i}")).ToArray());
            await publisher.ReadFramesAsync(50, Wait);
            var more = await follower.ReadFramesAsync(50, Wait);
            Assert.Equal(Enumerable.Range(0, 50).Select(i => $"m{batch}-{i}"), more.Select(f => f.Children[3].Text));
        }
    }

    [Fact]
    public async Task A_follower_that_does_not_read_holds_a_bounded_output_and_later_gets_everything_in_order()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 100000 24h");
        await using var follower = await RawConnection.ConnectAsync(server.Port);
        await follower.SendAsync(Script.Encode("CLIENT", "SETNAME", "slow"));
        await follower.ReadFramesAsync(1, Wait);
        await follower.SendAsync(Script.Encode("NOTI.SUBSCRIBE", "$", "CHANNELS", "1", "bulk"));
        await follower.ReadFramesAsync(2, Wait); // the confirmation, and noti.caughtup: nothing to catch up

        var payload = new string('x', 1000);
        await using var publisher = await RawConnection.ConnectAsync(server.Port);
        const int Count = 20_000;
        for (var i = 0; i < Count; i += 500)
        {
            await publisher.SendAsync(Enumerable.Range(i, 500).SelectMany(j => Script.Encode("PUBLISH", "bulk", $"{j:D6}{payload}")).ToArray());
            await publisher.ReadFramesAsync(500, Wait);
        }

        // 20 MB published; the follower's queue stays near the follow window (the socket buffers hold some more).
        await publisher.SendAsync(Script.Encode("CLIENT", "LIST"));
        var list = (await publisher.ReadFramesAsync(1, Wait))[0].Text;
        var line = list.Split('\n').Single(l => l.Contains("name=slow", StringComparison.Ordinal));
        var omem = long.Parse(line.Split(' ').Single(f => f.StartsWith("omem=", StringComparison.Ordinal))[5..]);
        Assert.True(omem < 1024 * 1024, line);

        var frames = await follower.ReadFramesAsync(Count, TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, Count).Select(j => $"{j:D6}"), frames.Select(f => f.Children[3].Text[..6]));
    }

    [Fact]
    public async Task While_following_only_PING_QUIT_and_RESET_run_and_nothing_is_pushed_after_RESET()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var follower = await RawConnection.ConnectAsync(server.Port);
        await follower.SendAsync(Script.Encode("NOTI.SUBSCRIBE", "$", "PATTERNS", "1", "*"));
        await follower.ReadFramesAsync(2, Wait);
        await follower.SendAsync(Join(Script.Encode("GET", "k"), Script.Encode("NOTI.SUBSCRIBE", "$", "CHANNELS", "1", "a"), Script.Encode("PING")));
        var replies = await follower.ReadFramesAsync(3, Wait);
        Assert.Equal("-ERR Can't execute 'get': only PING / QUIT / RESET are allowed while following (NOTI.SUBSCRIBE)\r\n", Encoding.ASCII.GetString(replies[0].Raw));
        Assert.StartsWith("-ERR Can't execute 'noti.subscribe'", Encoding.ASCII.GetString(replies[1].Raw), StringComparison.Ordinal);
        Assert.Equal("+PONG\r\n", Encoding.ASCII.GetString(replies[2].Raw));

        await using var muxer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}");
        var publishing = Task.Run(async () =>
        {
            for (var i = 0; i < 2000; i++)
            {
                await muxer.GetSubscriber().PublishAsync(RedisChannel.Literal("c"), $"m{i}");
            }
        });
        await Task.Delay(20);
        await follower.SendAsync(Join(Script.Encode("RESET"), Script.Encode("PING")));
        var after = new List<RespFrame>();
        while (after.Count == 0 || after[^1].Text != "PONG")
        {
            after.AddRange(await follower.ReadFramesAsync(1, Wait));
        }

        var reset = after.FindIndex(f => f.Text == "RESET");
        Assert.Equal(after.Count - 2, reset);
        Assert.All(after.Take(reset), f => Assert.Equal("noti.pmessage", f.Children[0].Text));
        await publishing;
        await follower.SendAsync(Script.Encode("GET", "k"));
        Assert.Equal("$-1\r\n", Encoding.ASCII.GetString((await follower.ReadFramesAsync(1, Wait))[0].Raw));
    }

    [Fact]
    public async Task NOTI_PUBLISH_answers_receivers_and_the_stored_id_in_RESP2_and_RESP3_and_a_null_id_without_history()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "kept* 10 1h");
        await using var client = await RawConnection.ConnectAsync(server.Port);
        await client.SendAsync(Join(Script.Encode("NOTI.PUBLISH", "kept.a", "one"), Script.Encode("XRANGE", "kept.a", "-", "+"),
            Script.Encode("NOTI.PUBLISH", "plain", "two"), Script.Encode("HELLO", "3"), Script.Encode("NOTI.PUBLISH", "plain", "three"),
            Script.Encode("NOTI.SUBSCRIBE", "0", "CHANNELS", "1", "plain"), Script.Encode("NOTI.SUBSCRIBE", "x", "CHANNELS", "1", "kept.a"),
            Script.Encode("NOTI.SUBSCRIBE", "0", "CHANNELS", "2", "kept.a")));
        var replies = await client.ReadFramesAsync(8, Wait);
        var id = replies[0].Children[1].Text;
        Assert.Matches("^\\*2\r\n:0\r\n\\$15\r\n[0-9]{13}-0\r\n$", Encoding.ASCII.GetString(replies[0].Raw));
        Assert.Equal(id, replies[1].Children[0].Children[0].Text);
        Assert.Equal("*2\r\n:0\r\n$-1\r\n", Encoding.ASCII.GetString(replies[2].Raw));
        Assert.Equal("*2\r\n:0\r\n_\r\n", Encoding.ASCII.GetString(replies[4].Raw));
        Assert.Equal("-ERR channel 'plain' keeps no history (see channel-history)\r\n", Encoding.ASCII.GetString(replies[5].Raw));
        Assert.Equal("-ERR Invalid stream ID specified as stream command argument\r\n", Encoding.ASCII.GetString(replies[6].Raw));
        Assert.Equal("-ERR syntax error\r\n", Encoding.ASCII.GetString(replies[7].Raw));

        // RESP3: pushes.
        await client.SendAsync(Script.Encode("NOTI.SUBSCRIBE", "0", "CHANNELS", "1", "kept.a"));
        var pushes = await client.ReadFramesAsync(3, Wait);
        Assert.Equal((byte)'>', pushes[0].Type);
        Assert.Equal($">2\r\n$13\r\nnoti.caughtup\r\n${id.Length}\r\n{id}\r\n", Encoding.ASCII.GetString(pushes[2].Raw));
        Assert.Equal($">4\r\n$12\r\nnoti.message\r\n$6\r\nkept.a\r\n$15\r\n{id}\r\n$3\r\none\r\n", Encoding.ASCII.GetString(pushes[1].Raw));
    }

    [Fact]
    public async Task A_follower_is_held_to_its_user_s_channel_permissions()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var client = await RawConnection.ConnectAsync(server.Port);
        await client.SendAsync(Join(Script.Encode("ACL", "SETUSER", "reader", "on", "nopass", "+subscribe", "+publish", "resetchannels", "&news*"),
            Script.Encode("AUTH", "reader", "x"),
            Script.Encode("NOTI.SUBSCRIBE", "$", "CHANNELS", "1", "secret"),
            Script.Encode("NOTI.SUBSCRIBE", "$", "PATTERNS", "1", "*"),
            Script.Encode("NOTI.PUBLISH", "secret", "x"),
            Script.Encode("NOTI.SUBSCRIBE", "$", "CHANNELS", "1", "news.eu", "PATTERNS", "1", "news*")));
        var replies = await client.ReadFramesAsync(6, Wait);
        const string Denied = "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n";
        Assert.Equal(Denied, Encoding.ASCII.GetString(replies[2].Raw));
        Assert.Equal(Denied, Encoding.ASCII.GetString(replies[3].Raw));
        Assert.Equal(Denied, Encoding.ASCII.GetString(replies[4].Raw));
        Assert.Equal("noti.subscribe", replies[5].Children[0].Text);
        Assert.Equal(":2\r\n", Encoding.ASCII.GetString(replies[5].Children[2].Raw));
        Assert.Equal("noti.caughtup", (await client.ReadFramesAsync(1, Wait))[0].Children[0].Text);

        // Revoked: as Redis closes a subscriber whose channels were taken away, the follower is closed.
        await using var admin = await RawConnection.ConnectAsync(server.Port);
        await admin.SendAsync(Script.Encode("ACL", "SETUSER", "reader", "resetchannels", "&other"));
        await admin.ReadFramesAsync(1, Wait);
        Assert.Empty(await client.ReadToCloseAsync(Wait));
    }

    [Fact]
    public async Task An_idle_follower_is_not_closed_by_the_idle_timeout_as_a_subscriber_is_not()
    {
        await using var server = await NotistreamServer.StartAsync("--timeout", "1");
        await using var follower = await RawConnection.ConnectAsync(server.Port);
        await follower.SendAsync(Script.Encode("NOTI.SUBSCRIBE", "$", "CHANNELS", "1", "quiet"));
        await follower.ReadFramesAsync(2, Wait);
        await using var idle = await RawConnection.ConnectAsync(server.Port);
        Assert.Empty(await idle.ReadToCloseAsync(Wait)); // the server's cron closes a plain idle client
        await using var publisher = await RawConnection.ConnectAsync(server.Port);
        await publisher.SendAsync(Script.Encode("PUBLISH", "quiet", "still here"));
        Assert.Equal(":1\r\n", Encoding.ASCII.GetString((await publisher.ReadFramesAsync(1, Wait))[0].Raw));
        Assert.Equal("still here", (await follower.ReadFramesAsync(1, Wait))[0].Children[3].Text);
    }

    [Fact]
    public async Task One_NOTI_SUBSCRIBE_names_a_bounded_number_of_channels_and_patterns()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var client = await RawConnection.ConnectAsync(server.Port);
        var patterns = Enumerable.Range(0, 129).Select(i => $"p{i}*").ToArray();
        await client.SendAsync(Script.Encode(["NOTI.SUBSCRIBE", "$", "PATTERNS", "129", .. patterns]));
        var reply = (await client.ReadFramesAsync(1, Wait))[0];
        Assert.Equal("-ERR NOTI.SUBSCRIBE follows at most 10000 channels and 128 patterns\r\n", Encoding.ASCII.GetString(reply.Raw));
    }

    [Fact]
    public async Task A_cursor_from_before_this_start_without_a_log_gets_a_gap_of_unknown_size_per_name()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var follower = await RawConnection.ConnectAsync(server.Port);
        var before = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        await follower.SendAsync(Script.Encode("NOTI.SUBSCRIBE", $"{before}-0", "CHANNELS", "1", "a", "PATTERNS", "1", "b*"));
        var frames = await follower.ReadFramesAsync(3, Wait);
        Assert.Equal("*3\r\n$8\r\nnoti.gap\r\n$1\r\na\r\n$-1\r\n", Encoding.ASCII.GetString(frames[1].Raw));
        Assert.Equal("*3\r\n$8\r\nnoti.gap\r\n$2\r\nb*\r\n$-1\r\n", Encoding.ASCII.GetString(frames[2].Raw));

        // "0" asks for whatever is kept: no gap.
        await using var all = await RawConnection.ConnectAsync(server.Port);
        await all.SendAsync(Join(Script.Encode("NOTI.SUBSCRIBE", "0", "CHANNELS", "1", "a")));
        await all.ReadFramesAsync(2, Wait);
        await using var publisher = await RawConnection.ConnectAsync(server.Port);
        await publisher.SendAsync(Script.Encode("PUBLISH", "a", "first"));
        await publisher.ReadFramesAsync(1, Wait);
        Assert.Equal("noti.message", (await all.ReadFramesAsync(1, Wait))[0].Children[0].Text);
    }

    [Fact]
    public async Task An_explicit_id_ahead_of_the_generator_waits_its_turn_and_takes_no_later_message_with_it()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var other = await RawConnection.ConnectAsync(server.Port);
        await other.SendAsync(Script.Encode("PUBLISH", "a", "kept"));
        await other.ReadFramesAsync(1, Wait);
        await using var follower = await RawConnection.ConnectAsync(server.Port);
        await follower.SendAsync(Script.Encode("NOTI.SUBSCRIBE", "$", "CHANNELS", "2", "a", "b"));
        await follower.ReadFramesAsync(2, Wait);

        // An hour ahead: a later PUBLISH still takes an id below it, so it is held back until the generator
        // passes it, rather than moving the cursor an hour on and skipping what comes meanwhile.
        var future = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        await other.SendAsync(Join(Script.Encode("XADD", "a", $"{future}-0", "message", "ahead"), Script.Encode("NOTI.PUBLISH", "b", "after")));
        var replies = await other.ReadFramesAsync(2, Wait);
        Assert.Equal(":1\r\n", Encoding.ASCII.GetString(replies[1].Children[0].Raw));
        var frame = (await follower.ReadFramesAsync(1, Wait))[0];
        Assert.Equal("after", frame.Children[3].Text);
    }

    [Fact]
    public async Task Only_channel_histories_are_followed_so_a_user_without_key_access_reads_no_other_stream()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var admin = await RawConnection.ConnectAsync(server.Port);
        await admin.SendAsync(Join(Script.Encode("XADD", "payroll", "*", "message", "salary=1M"), Script.Encode("PUBLISH", "news", "public"),
            Script.Encode("ACL", "SETUSER", "reader", "on", "nopass", "+subscribe", "+xread", "resetkeys", "allchannels")));
        await admin.ReadFramesAsync(3, Wait);
        await using var reader = await RawConnection.ConnectAsync(server.Port);
        await reader.SendAsync(Join(Script.Encode("AUTH", "reader", "x"), Script.Encode("XREAD", "STREAMS", "payroll", "0"),
            Script.Encode("NOTI.SUBSCRIBE", "0", "PATTERNS", "1", "*")));
        var frames = await reader.ReadFramesAsync(5, Wait);
        Assert.StartsWith("-NOPERM", Encoding.ASCII.GetString(frames[1].Raw), StringComparison.Ordinal);
        Assert.Equal("public", frames[3].Children[4].Text);
        Assert.Equal("noti.caughtup", frames[4].Children[0].Text);
    }

    [Fact]
    public async Task A_follower_that_does_not_read_large_messages_holds_about_the_follow_window()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 1000 24h");
        await using var publisher = await RawConnection.ConnectAsync(server.Port);
        var payload = new string('x', 100_000);
        for (var i = 0; i < 300; i += 50)
        {
            await publisher.SendAsync(Enumerable.Range(i, 50).SelectMany(j => Script.Encode("PUBLISH", "big", payload)).ToArray());
            await publisher.ReadFramesAsync(50, Wait);
        }

        await using var follower = await RawConnection.ConnectAsync(server.Port);
        await follower.SendAsync(Join(Script.Encode("CLIENT", "SETNAME", "slow"), Script.Encode("NOTI.SUBSCRIBE", "0", "CHANNELS", "1", "big")));
        await Task.Delay(1000);
        await publisher.SendAsync(Script.Encode("CLIENT", "LIST"));
        var list = (await publisher.ReadFramesAsync(1, Wait))[0].Text;
        var line = list.Split('\n').Single(l => l.Contains("name=slow", StringComparison.Ordinal));
        var omem = long.Parse(line.Split(' ').Single(f => f.StartsWith("omem=", StringComparison.Ordinal))[5..]);
        Assert.True(omem < 1024 * 1024, line);
    }

    [Fact]
    public async Task A_history_dropped_whole_and_started_again_keeps_its_gap_and_from_0_there_is_none()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 1000 1s");
        await using var client = await RawConnection.ConnectAsync(server.Port);
        await client.SendAsync(Script.Encode("NOTI.PUBLISH", "ch", "seen"));
        var first = (await client.ReadFramesAsync(1, Wait))[0].Children[1].Text;
        await client.SendAsync(Join(Script.Encode("PUBLISH", "ch", "lost1"), Script.Encode("PUBLISH", "ch", "lost2")));
        await client.ReadFramesAsync(2, Wait);
        for (var t = 0; t < 50; t++)
        {
            await Task.Delay(200);
            await client.SendAsync(Script.Encode("EXISTS", "ch"));
            if ((await client.ReadFramesAsync(1, Wait))[0].Text == "0")
            {
                break;
            }
        }

        // Started again by an XADD, then a PUBLISH: the record of what aged out goes with it.
        await client.SendAsync(Join(Script.Encode("XADD", "ch", "*", "message", "new"), Script.Encode("PUBLISH", "ch", "new2")));
        await client.ReadFramesAsync(2, Wait);
        await using var follower = await RawConnection.ConnectAsync(server.Port);
        await follower.SendAsync(Script.Encode("NOTI.SUBSCRIBE", first, "CHANNELS", "1", "ch"));
        var frames = await follower.ReadFramesAsync(4, Wait);
        Assert.Equal("*3\r\n$8\r\nnoti.gap\r\n$2\r\nch\r\n:2\r\n", Encoding.ASCII.GetString(frames[1].Raw));
        Assert.Equal(["new", "new2"], frames.Skip(2).Select(f => f.Children[3].Text));

        await using var all = await RawConnection.ConnectAsync(server.Port);
        await all.SendAsync(Script.Encode("NOTI.SUBSCRIBE", "0", "CHANNELS", "1", "ch"));
        Assert.Equal(["noti.subscribe", "noti.message", "noti.message", "noti.caughtup"], (await all.ReadFramesAsync(4, Wait)).Select(f => f.Children[0].Text));
    }

    [Fact]
    public async Task RESET_then_NOTI_SUBSCRIBE_while_backlogged_keeps_the_connection_and_delivers_everything_again()
    {
        await using var server = await NotistreamServer.StartAsync("--channel-history", "* 100000 24h");
        await using (var p = await RawConnection.ConnectAsync(server.Port))
        {
            var payload = new string('x', 1000);
            for (var i = 0; i < 4000; i += 500)
            {
                await p.SendAsync(Enumerable.Range(i, 500).SelectMany(j => Script.Encode("PUBLISH", "bulk", payload)).ToArray());
                await p.ReadFramesAsync(500, Wait);
            }
        }

        for (var round = 0; round < 10; round++)
        {
            await using var f = await RawConnection.ConnectAsync(server.Port);
            await f.SendAsync(Script.Encode("NOTI.SUBSCRIBE", "0", "CHANNELS", "1", "bulk"));
            await Task.Delay(50);
            await f.SendAsync(Join(Script.Encode("RESET"), Script.Encode("NOTI.SUBSCRIBE", "0", "CHANNELS", "1", "bulk")));
            var confirmations = 0;
            var after = 0;
            while (after < 4000)
            {
                var frame = (await f.ReadFramesAsync(1, Wait))[0];
                if (frame.Children is { Count: > 0 } c && c[0].Text == "noti.subscribe")
                {
                    confirmations++;
                }
                else if (confirmations == 2 && frame.Children is { Count: > 0 } m && m[0].Text == "noti.message")
                {
                    after++;
                }
            }
        }
    }

    private static byte[] Join(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    private static int Compare(string a, string b)
    {
        var (am, asq) = Split(a);
        var (bm, bsq) = Split(b);
        return am != bm ? am.CompareTo(bm) : asq.CompareTo(bsq);
    }

    private static (ulong Ms, ulong Seq) Split(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return (ulong.Parse(id[..dash]), ulong.Parse(id[(dash + 1)..]));
    }
}
