using System.Text;
using Notistream.RespServer.Cluster;

namespace Notistream.RespServer.Tests.Cluster;

/// <summary>A receiving node's loss accounting from the origins' numbers (docs/cluster.md#ordering-and-loss).</summary>
public sealed class SequenceTrackerTests
{
    private const ulong A = 0xaaaa_aaaa_aaaa_aaaa;
    private const ulong B = 0xbbbb_bbbb_bbbb_bbbb;
    private const byte M = ForwardHeader.Message;
    private const byte G = ForwardHeader.Gap;
    private const long Now = 1_000_000;

    [Fact]
    public void Contiguous_numbers_lose_nothing_and_a_hole_counts_every_missing_number()
    {
        var tracker = new SequenceTracker();
        var stream = tracker.NewStream();
        for (ulong i = 1; i <= 10; i++)
        {
            Assert.Equal(0, tracker.Observe(stream, M, A, 0, Name("news"), i, Now, out _));
        }

        Assert.Equal(0, tracker.Lost);
        Assert.Equal(5, tracker.Observe(stream, M, A, 0, Name("news"), 16, Now, out var log));
        Assert.Equal(5, log);
        Assert.Equal(5, tracker.Lost);

        // Another hole within the second: counted at once, logged later with what accumulated.
        Assert.Equal(2, tracker.Observe(stream, M, A, 0, Name("news"), 19, Now + 10, out log));
        Assert.Equal(0, log);
        Assert.Equal(1, tracker.Observe(stream, M, A, 0, Name("news"), 21, Now + 1_010, out log));
        Assert.Equal(3, log);
        Assert.Equal(8, tracker.Lost);
    }

    [Fact]
    public void The_first_message_of_a_channel_only_sets_where_counting_starts_and_channels_and_origins_count_apart()
    {
        var tracker = new SequenceTracker();
        var stream = tracker.NewStream();

        // This node started following "news" at A's 500th message there: nothing before is lost.
        Assert.Equal(0, tracker.Observe(stream, M, A, 0, Name("news"), 500, Now, out _));
        Assert.Equal(0, tracker.Observe(stream, M, A, 0, Name("sport"), 7, Now, out _));
        Assert.Equal(0, tracker.Observe(stream, M, B, 0, Name("news"), 1, Now, out _));
        Assert.Equal(0, tracker.Observe(stream, M, A, 0, Name("news"), 501, Now, out _));
        Assert.Equal(0, tracker.Observe(stream, M, A, 0, Name("sport"), 8, Now, out _));
        Assert.Equal(1, tracker.Observe(stream, M, B, 0, Name("news"), 3, Now, out _));
        Assert.Equal(1, tracker.Lost);
        Assert.Equal(2, tracker.OriginCount);
        Assert.Equal(3, tracker.EntryCount);
    }

    [Fact]
    public void A_gap_message_counts_the_numbers_the_origin_did_not_forward()
    {
        var tracker = new SequenceTracker();
        var stream = tracker.NewStream();
        tracker.Observe(stream, M, A, 0, Name("news"), 4, Now, out _);

        // The origin dropped 3 (4 → 7 used), then forwarded 8.
        Assert.Equal(3, tracker.Observe(stream, G, A, 0, Name("news"), 7, Now, out _));
        Assert.Equal(0, tracker.Observe(stream, M, A, 0, Name("news"), 8, Now, out _));

        // The gap message itself lost: the next message shows the same numbers missing.
        Assert.Equal(2, tracker.Observe(stream, M, A, 0, Name("news"), 11, Now, out _));
        Assert.Equal(5, tracker.Lost);
    }

    [Fact]
    public void Numbers_at_or_below_the_last_and_a_new_epoch_are_not_counted()
    {
        var tracker = new SequenceTracker();
        var stream = tracker.NewStream();
        tracker.Observe(stream, M, A, 0, Name("news"), 10, Now, out _);
        Assert.Equal(0, tracker.Observe(stream, M, A, 0, Name("news"), 10, Now, out _));
        Assert.Equal(0, tracker.Observe(stream, M, A, 0, Name("news"), 3, Now, out _));
        Assert.Equal(0, tracker.Observe(stream, M, A, 0, Name("news"), 11, Now, out _));

        // The origin cleared its numbering table: epoch 1 starts again at 1.
        Assert.Equal(0, tracker.Observe(stream, M, A, 1, Name("news"), 1, Now, out _));
        Assert.Equal(0, tracker.Observe(stream, M, A, 1, Name("news"), 2, Now, out _));
        Assert.Equal(0, tracker.Lost);
    }

    [Fact]
    public void An_origin_restarted_with_a_new_run_id_is_a_new_origin_and_the_old_is_forgotten_with_the_gossip()
    {
        var tracker = new SequenceTracker();
        var stream = tracker.NewStream();
        var before = ForwardHeader.OriginOf("1111111111111111aaaaaaaaaaaaaaaaaaaaaaaa");
        var after = ForwardHeader.OriginOf("2222222222222222bbbbbbbbbbbbbbbbbbbbbbbb");
        Assert.NotEqual(before, after);
        tracker.Observe(stream, M, before, 0, Name("news"), 900, Now, out _);

        // The restarted node numbers from 1 again: not a hole, not an old number.
        Assert.Equal(0, tracker.Observe(stream, M, after, 0, Name("news"), 1, Now + 100, out _));
        Assert.Equal(0, tracker.Observe(stream, M, after, 0, Name("news"), 2, Now + 100, out _));

        // The gossip still knows the old node: kept. Then it expired there and is silent: forgotten.
        Assert.Equal(0, tracker.Expire(new HashSet<ulong> { before, after }, Now + 5_000, 3_000));
        Assert.Equal(1, tracker.Expire(new HashSet<ulong> { after }, Now + 5_000, 3_000));
        Assert.Equal(1, tracker.OriginCount);
        Assert.Equal(1, tracker.EntryCount);

        // Unknown to the gossip but heard from lately (its gossip not in yet): kept.
        Assert.Equal(0, tracker.Expire(new HashSet<ulong>(), Now + 2_000, 3_000));
        Assert.Equal(0, tracker.Lost);
    }

    [Fact]
    public void Each_subscription_counts_its_own_copies_and_a_released_one_counts_nothing()
    {
        var tracker = new SequenceTracker();
        var channelSub = tracker.NewStream();
        var wildcard = tracker.NewStream();

        // Both copies of 1 and 2 arrive, only the wildcard's copy of 3 (it was added meanwhile on the channel's side, say).
        foreach (ulong i in new ulong[] { 1, 2 })
        {
            tracker.Observe(channelSub, M, A, 0, Name("a.x"), i, Now, out _);
            tracker.Observe(wildcard, M, A, 0, Name("a.x"), i, Now, out _);
        }

        Assert.Equal(0, tracker.Observe(wildcard, M, A, 0, Name("a.x"), 3, Now, out _));
        Assert.Equal(1, tracker.Observe(channelSub, M, A, 0, Name("a.x"), 4, Now, out _));
        Assert.Equal(0, tracker.Observe(wildcard, M, A, 0, Name("a.x"), 4, Now, out _));

        // Unsubscribed, subscribed again later: a new stream starts counting where it starts receiving.
        tracker.Release(channelSub);
        Assert.Equal(0, tracker.Observe(channelSub, M, A, 0, Name("a.x"), 9, Now, out _));
        var again = tracker.NewStream();
        Assert.Equal(0, tracker.Observe(again, M, A, 0, Name("a.x"), 9, Now, out _));
        Assert.Equal(1, tracker.Lost);
        Assert.Equal(2, tracker.EntryCount);
    }

    [Fact]
    public void Memory_is_bounded_in_origins_entries_and_bytes()
    {
        var tracker = new SequenceTracker(maxOrigins: 2, maxEntries: 100, maxBytes: 100 * (SequenceTracker.EntryOverhead + 8));
        var stream = tracker.NewStream();
        var other = tracker.NewStream();
        tracker.Observe(other, M, A, 0, Name("kept"), 1, Now, out _);
        for (var i = 0; i < 1_000; i++)
        {
            tracker.Observe(stream, M, A, 0, Name($"c{i:D6}"), 1, Now, out _);
            Assert.True(tracker.EntryCount <= 100);
        }

        // A third origin is not tracked.
        tracker.Observe(stream, M, B, 0, Name("x"), 1, Now, out _);
        tracker.Observe(stream, M, 0xcc, 0, Name("x"), 1, Now, out _);
        Assert.Equal(0, tracker.Observe(stream, M, 0xcc, 0, Name("x"), 5, Now, out _));
        Assert.Equal(2, tracker.OriginCount);

        // Only the stream that filled the table was emptied: the other one still counts.
        Assert.Equal(1, tracker.Observe(other, M, A, 0, Name("kept"), 3, Now, out _));

        // A name too long for the bytes bound is not tracked, and does not grow anything.
        var before = tracker.EntryCount;
        Assert.Equal(0, tracker.Observe(stream, M, A, 0, new byte[200 * SequenceTracker.EntryOverhead], 1, Now, out _));
        Assert.True(tracker.EntryCount <= before);
    }

    [Fact]
    public void The_header_round_trips_and_refuses_what_is_not_one()
    {
        var bytes = new byte[ForwardHeader.Length + 3];
        ForwardHeader.Write(bytes, ForwardHeader.Message, A, 7, 123_456_789_012);
        Assert.True(ForwardHeader.TryRead(bytes, out var kind, out var origin, out var epoch, out var sequence));
        Assert.Equal((M, A, 7u, 123_456_789_012UL), (kind, origin, epoch, sequence));
        Assert.False(ForwardHeader.TryRead(bytes.AsSpan(0, ForwardHeader.Length - 1), out _, out _, out _, out _));
        Assert.False(ForwardHeader.TryRead("hello, this is not a header"u8, out _, out _, out _, out _));
        Assert.Equal(0x0123456789abcdefUL, ForwardHeader.OriginOf("0123456789abcdef000000000000000000000000"));
    }

    private static byte[] Name(string name) => Encoding.UTF8.GetBytes(name);
}
