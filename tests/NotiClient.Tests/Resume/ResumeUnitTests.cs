using System.Text;
using Notistream.Client.Cli;
using Notistream.Client.Config;
using Notistream.Client.Delivery;
using Notistream.Client.Notifications;
using Notistream.Client.Resume;
using Notistream.Client.Subscriptions;
using Notistream.Client.Tests.Infrastructure;
using Xunit;

namespace Notistream.Client.Tests.Resume;

/// <summary>The pieces of resume that need no server: ids, --since, the state file, delivery tracking, the digest, RESP.</summary>
public sealed class ResumeUnitTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static MessageId Id(string text) => MessageId.Parse(text);

    [Fact]
    public void The_position_is_each_nodes_own_a_node_without_one_starts_from_now_with_a_gap_and_a_node_left_resumes_exactly()
    {
        var resume = new ResumePosition("5-0");
        resume.UseNode("a:1");
        Assert.Equal("5-0", resume.From); // the saved cursor is the first server's
        resume.Confirmed(Id("5-0"));
        Assert.True(resume.TryAdvance(Id("9-0")));
        Assert.False(resume.TakeGapOwed());

        resume.UseNode("b:2");
        Assert.Equal("$", resume.From);
        Assert.True(resume.TakeGapOwed());
        Assert.False(resume.TakeGapOwed()); // once
        Assert.True(resume.Left);
        resume.Confirmed(Id("20-0"));
        Assert.True(resume.TryAdvance(Id("21-0")));

        // Back on a: exactly where it was there; its ids below b's are not "already handed on".
        resume.UseNode("a:1");
        Assert.Equal("9-0", resume.From);
        Assert.False(resume.TakeGapOwed());
        Assert.True(resume.TryAdvance(Id("10-0")));
        Assert.False(resume.TryAdvance(Id("10-0")));

        resume.UseNode("b:2");
        Assert.Equal("21-0", resume.From);
    }

    [Fact]
    public void Starting_from_now_on_a_node_that_was_never_reached_owes_no_gap()
    {
        var resume = new ResumePosition("$");
        resume.UseNode("a:1"); // could not connect
        resume.UseNode("b:2");
        Assert.Equal("$", resume.From);
        Assert.False(resume.TakeGapOwed());
    }

    [Fact]
    public void In_a_shared_history_the_position_goes_to_another_node_exactly_and_other_histories_keep_their_own()
    {
        var resume = new ResumePosition("5-0", home: "a:1");
        resume.UseNode("a:1", "NOTISTREAM_x");
        resume.Confirmed(Id("5-0"));
        Assert.True(resume.TryAdvance(Id("9-0")));

        resume.UseNode("b:2", "NOTISTREAM_x"); // the same ids there: carried, no gap, the state file still written
        Assert.Equal("9-0", resume.From);
        Assert.False(resume.TakeGapOwed());
        Assert.False(resume.Left);
        Assert.Equal("NOTISTREAM_x", resume.SharedHistory);
        resume.Confirmed(Id("7-0")); // a node that has not applied as far yet: what came through a is not handed on again
        Assert.False(resume.TryAdvance(Id("8-0")));
        Assert.True(resume.TryAdvance(Id("10-0")));

        resume.UseNode("c:3", "NOTISTREAM_y"); // another cluster's history
        Assert.Equal("$", resume.From);
        Assert.True(resume.TakeGapOwed());
        Assert.True(resume.Left);
        resume.Confirmed(Id("3-0"));

        resume.UseNode("d:4"); // a node's own history
        Assert.Equal("$", resume.From);
        Assert.True(resume.TakeGapOwed());
        Assert.Null(resume.SharedHistory);

        resume.UseNode("b:2", "NOTISTREAM_x"); // back to the shared history, through any of its nodes
        Assert.Equal("10-0", resume.From);
        Assert.False(resume.TakeGapOwed());
    }

    [Theory]
    [InlineData("a:1", null, "5-0")] // the first server: the saved cursor is its, whatever history it has now
    [InlineData("b:2", "NOTISTREAM_x", "5-0")] // the first server not reached, another node of the saved shared history
    [InlineData("b:2", "NOTISTREAM_y", "$")] // another history: from now, with a gap
    [InlineData("b:2", null, "$")]
    public void The_saved_cursor_is_the_first_servers_and_that_of_the_shared_history_it_names(string node, string? shared, string from)
    {
        var resume = new ResumePosition("5-0", home: "a:1", sharedHistory: "NOTISTREAM_x");
        Assert.Equal("NOTISTREAM_x", resume.SharedHistory);
        resume.UseNode(node, shared);
        Assert.Equal(from, resume.From);
        Assert.Equal(from == "$", resume.TakeGapOwed());
        Assert.Equal(from == "$", resume.Left);
    }

    [Theory]
    [InlineData("# Cluster\r\ncluster_enabled:0\r\nnats_connected:1\r\nnats_history:jetstream\r\nnats_history_stream:NOTISTREAM_notistream\r\nnats_history_ready:1\r\n", "NOTISTREAM_notistream")]
    [InlineData("# Cluster\r\ncluster_enabled:0\r\nnats_connected:1\r\nnats_history:local\r\n", null)]
    [InlineData("# Cluster\r\ncluster_enabled:0\r\n", null)] // a standalone server, Redis
    [InlineData("nats_history:jetstream\r\n", null)] // no stream named
    public void A_node_shares_its_history_when_its_INFO_says_jetstream_and_names_the_stream(string info, string? shared)
    {
        Assert.Equal(shared, SubscriptionWorker.SharedHistoryOf(RespFrame.Bulk(Encoding.UTF8.GetBytes(info))));
        Assert.Null(SubscriptionWorker.SharedHistoryOf(RespFrame.Error("NOPERM User x has no permissions to run the 'info' command"u8.ToArray())));
    }

    [Theory]
    [InlineData("1-0", true)]
    [InlineData("1700000000000-5", true)]
    [InlineData("42", true)]
    [InlineData("18446744073709551615-18446744073709551615", true)]
    [InlineData("18446744073709551616-0", false)]
    [InlineData("-1", false)]
    [InlineData("1-", false)]
    [InlineData("a-b", false)]
    [InlineData("$", false)]
    public void Ids_parse_as_the_server_writes_them(string text, bool valid) => Assert.Equal(valid, MessageId.TryParse(text, out _));

    [Fact]
    public void Ids_compare_by_milliseconds_then_sequence() =>
        Assert.True(Id("9-100") < Id("10-0") && Id("10-0") < Id("10-1") && Id("42").Equals(Id("42-0")));

    [Theory]
    [InlineData("all", "0")]
    [InlineData("now", "$")]
    [InlineData("90s", "1699999909999-18446744073709551615")]
    [InlineData("30m", "1699998199999-18446744073709551615")]
    [InlineData("24h", "1699913599999-18446744073709551615")]
    [InlineData("7d", "1699395199999-18446744073709551615")]
    [InlineData("1699999999999-3", "1699999999999-3")]
    [InlineData("1699999999999", "1699999999999-0")]
    [InlineData("100000d", "0")]
    public void Since_becomes_the_from_of_NOTI_SUBSCRIBE(string since, string from)
    {
        Assert.True(SinceOption.TryParse(since, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), out var parsed, out _));
        Assert.Equal(from, parsed);
    }

    [Fact]
    public void The_servers_confirmed_from_wins_over_a_cursor_ahead_of_it()
    {
        var resume = new ResumePosition("0");
        resume.Confirmed(Id("0-0"));
        Assert.True(resume.TryAdvance(Id("5000-0")));
        // Reconnected to a replaced server whose last id is lower: it starts there, and its next ids are new.
        resume.Confirmed(Id("100-0"));
        Assert.Equal("100-0", resume.From);
        Assert.True(resume.TryAdvance(Id("101-0")));
    }

    [Fact]
    public void A_bad_since_says_what_is_accepted()
    {
        Assert.False(SinceOption.TryParse("yesterday", DateTimeOffset.UtcNow, out _, out var error));
        Assert.Equal("'yesterday' is not all, now, a duration (90s, 30m, 24h, 7d) or a message id (ms-seq)", error);
    }

    [Fact]
    public void The_subscribe_command_names_channels_and_patterns_with_their_counts() =>
        Assert.Equal(
            ["NOTI.SUBSCRIBE", "$", "CHANNELS", "2", "alerts", "builds", "PATTERNS", "1", "owner/*"],
            SubscriptionWorker.SubscribeCommand("$", [new("alerts"), new("owner/*"), new("builds"), new("alerts")]));

    [Theory]
    [InlineData("ERR unknown command 'NOTI.SUBSCRIBE', with args beginning with: '$' 'CHANNELS' ", true)]
    [InlineData("NOPERM this user has no permissions to access one of the channels used as arguments", true)]
    [InlineData("ERR channel 'alerts' keeps no history (see channel-history)", true)]
    [InlineData("NOAUTH Authentication required.", false)]
    [InlineData("WRONGPASS invalid username-password pair or user is disabled.", false)]
    public void Which_refusals_mean_subscribe_without_history(string error, bool plain) =>
        Assert.Equal(plain, SubscriptionWorker.MeansNoHistory(error));

    [Fact]
    public void The_state_file_is_one_per_server_user_and_channel_set_and_survives_a_round_trip()
    {
        var config = new ClientConfig { Host = "Example.org", Port = 6380, Channels = [new("b"), new("a/*")] };
        var store = CursorStore.For(config, _dir.Path);
        Assert.Equal(store.Path, CursorStore.For(config with { Host = "example.org", Channels = [new("a/*"), new("b")] }, _dir.Path).Path);
        Assert.NotEqual(store.Path, CursorStore.For(config with { Port = 6379 }, _dir.Path).Path);
        Assert.NotEqual(store.Path, CursorStore.For(config with { User = "reader" }, _dir.Path).Path);
        Assert.NotEqual(store.Path, CursorStore.For(config with { Channels = [new("b")] }, _dir.Path).Path);

        Assert.Null(store.Load());
        store.Save(new CursorState(Id("1700000000000-7"), ["b"]));
        Assert.Equal(new CursorState(Id("1700000000000-7"), ["b"]) with { OpenGaps = [] }, store.Load()! with { OpenGaps = [] });
        Assert.Equal(["b"], store.Load()!.OpenGaps);
        Assert.Single(Directory.GetFiles(_dir.Path)); // the temporary file was renamed over it
        var text = File.ReadAllText(store.Path);
        Assert.Contains("\"server\": \"Example.org:6380\"", text, StringComparison.Ordinal);
        Assert.Contains("\"channels\": [\n    \"a/*\",\n    \"b\"\n  ]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sharedHistory", text, StringComparison.Ordinal); // as before: the first server's own history
        Assert.Null(store.Load()!.SharedHistory);

        store.Save(new CursorState(Id("1700000000000-8"), [], "NOTISTREAM_notistream"));
        Assert.Contains("\"sharedHistory\": \"NOTISTREAM_notistream\"", File.ReadAllText(store.Path), StringComparison.Ordinal);
        Assert.Equal("NOTISTREAM_notistream", store.Load()!.SharedHistory);
    }

    [Fact]
    public void A_broken_state_file_is_named_with_what_to_do()
    {
        var store = CursorStore.For(new ClientConfig { Channels = [new("a")] }, _dir.Path);
        File.WriteAllText(store.Path, "{ \"cursor\": \"soon\" }");
        var error = Assert.Throws<ConfigException>(store.Load);
        Assert.Equal($"{store.Path}: no valid \"cursor\" (an id ms-seq); delete the file to start afresh", error.Message);
    }

    [Fact]
    public void The_state_folder_follows_XDG_STATE_HOME()
    {
        Assert.Equal("/x/state/notistream", CursorStore.DefaultFolder(TestHosts.Fake(HostPlatform.Linux, new Dictionary<string, string> { ["XDG_STATE_HOME"] = "/x/state", ["HOME"] = "/home/u" })));
        Assert.Equal("/home/u/.local/state/notistream", CursorStore.DefaultFolder(TestHosts.Fake(HostPlatform.Linux, new Dictionary<string, string> { ["XDG_STATE_HOME"] = "relative", ["HOME"] = "/home/u" })));
    }

    [Fact]
    public void The_watermark_never_passes_a_message_still_held()
    {
        var tracker = new DeliveryTracker();
        Assert.Null(tracker.Watermark);
        tracker.Posted(Id("1-0"));
        tracker.Posted(Id("2-0"));
        tracker.Posted(Id("3-0"));
        Assert.Null(tracker.Watermark);
        tracker.Done(Id("2-0")); // another channel's message, shown while 1-0 is held for a summary
        Assert.Null(tracker.Watermark);
        tracker.Done(Id("1-0"));
        Assert.Equal(Id("2-0"), tracker.Watermark);
        tracker.Done(Id("3-0"));
        Assert.Equal(Id("3-0"), tracker.Watermark);
        tracker.Posted(Id("3-0")); // a repeat is ignored
        Assert.Equal(0, tracker.Pending);
    }

    [Fact]
    public async Task The_dispatcher_delivers_through_the_slowest_output()
    {
        var printed = new LockedStringWriter();
        var notifier = new RecordingNotifier();
        var sink = new NotificationSink(notifier, new Coalescer(), _ => { });
        var dispatcher = new MessageDispatcher([new PrintSink(printed, json: true), sink], _ => { });
        using var stop = new CancellationTokenSource();
        var running = dispatcher.RunAsync(stop.Token);
        var at = DateTimeOffset.UtcNow;
        for (var i = 1; i <= 5; i++)
        {
            await dispatcher.PostAsync(new IncomingMessage("c", null, $"m{i}", at) { Id = Id($"{i}-0"), CatchUp = true }, CancellationToken.None);
        }

        // Printed at once; the desktop holds all five for the digest, so nothing is delivered yet.
        await Testing.TaskTimeoutExtensions.WaitUntil(() => printed.ToString().Split('\n').Length > 5, "five lines");
        Assert.Null(dispatcher.DeliveredThrough);
        await dispatcher.PostAsync(IncomingMessage.CaughtUpMarker(at), CancellationToken.None);
        await Testing.TaskTimeoutExtensions.WaitUntil(() => dispatcher.DeliveredThrough == Id("5-0"), "the digest shown");
        Assert.Equal("5 messages on c while you were away; latest: m5", Assert.Single(notifier.Shown).Body);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public void A_digest_shows_a_few_messages_each_and_many_as_one()
    {
        var digest = new CatchUpDigest(maxSingles: 3);
        foreach (var i in Enumerable.Range(1, 3))
        {
            digest.Add(new Notification("few", $"f{i}", Urgency.Normal, "few"));
        }

        foreach (var i in Enumerable.Range(1, 23))
        {
            digest.Add(new Notification(i == 5 ? "Deploy" : "owner/repo", $"p{i}", i == 5 ? Urgency.Critical : Urgency.Low, "owner/repo"));
        }

        var shown = digest.Flush();
        Assert.Equal(["f1", "f2", "f3"], shown[0].Show.Select(n => n.Body));
        var summary = Assert.Single(shown[1].Show);
        Assert.Equal(("owner/repo", "23 messages on owner/repo while you were away; latest: p23", Urgency.Critical), (summary.Title, summary.Body, summary.Urgency));
        Assert.True(digest.IsEmpty);
        Assert.Equal((1, 23), (digest.Digests, digest.DigestedMessages));
    }

    [Fact]
    public void Json_lines_carry_event_id_and_for_a_gap_missed()
    {
        var at = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        Assert.Equal(
            """{"event":"message","id":"7-1","time":"2030-01-02T03:04:05+00:00","channel":"team/web","pattern":"team/*","message":"hi"}""",
            PrintSink.Format(new IncomingMessage("team/web", "team/*", "hi", at) { Id = Id("7-1") }, json: true));
        Assert.Equal(
            """{"event":"gap","time":"2030-01-02T03:04:05+00:00","channel":"alerts","pattern":null,"message":"history no longer covers 400 messages on alerts","missed":400}""",
            PrintSink.Format(IncomingMessage.Gap("alerts", false, 400, at), json: true));
        Assert.Equal(
            """{"event":"gap","time":"2030-01-02T03:04:05+00:00","channel":null,"pattern":"team/*","message":"history no longer covers an unknown number of messages on team/*","missed":null}""",
            PrintSink.Format(IncomingMessage.Gap("team/*", true, null, at), json: true));
        Assert.Equal("gap on alerts: history no longer covers 1 message on alerts", PrintSink.Format(IncomingMessage.Gap("alerts", false, 1, at), json: false));
    }

    [Fact]
    public void Resp_frames_are_read_whole_or_not_at_all()
    {
        var bytes = Encoding.UTF8.GetBytes("*4\r\n$12\r\nnoti.message\r\n$1\r\nc\r\n$3\r\n1-0\r\n$7\r\na\r\nb\0\xc3\r\n*3\r\n$8\r\nnoti.gap\r\n$1\r\nc\r\n$-1\r\n");
        var position = 0;
        Assert.True(RespReader.TryParse(bytes, ref position, 0, out var message));
        Assert.Equal("[noti.message, c, 1-0, a\r\nb\0\u00c3]", message!.ToString());
        Assert.True(RespReader.TryParse(bytes, ref position, 0, out var gap));
        Assert.Equal(RespKind.Null, gap!.Items![2].Kind);
        Assert.Equal(bytes.Length, position);

        for (var cut = 0; cut < 40; cut++)
        {
            var at = 0;
            Assert.False(RespReader.TryParse(bytes.AsSpan(0, cut), ref at, 0, out _));
            Assert.Equal(0, at);
        }
    }
}
