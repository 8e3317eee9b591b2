using System.Text;
using Notistream.RespServer.Cluster;

namespace Notistream.RespServer.Tests.Cluster;

/// <summary>
/// The other nodes' counts as their gossip builds them (docs/cluster.md#counting-across-the-cluster).
/// Runs alone: one test measures the managed heap, which tests running meanwhile would grow.
/// </summary>
[Collection(nameof(Performance.AllocationBudgetCollection))]
public sealed class RemoteInterestTests
{
    private const string NodeA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string NodeB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private const long Now = 1_000_000;

    [Fact]
    public void Whole_states_and_deltas_of_two_nodes_are_summed_for_PUBLISH_and_NUMSUB()
    {
        var remote = new RemoteInterest();
        Snapshot(remote, NodeA, 1, [("c", "news", 2), ("p", "news.*", 1), ("p", "n*", 3)]);
        Snapshot(remote, NodeB, 1, [("c", "news", 1), ("p", "news.*", 2)]);

        Assert.Equal(3, remote.ChannelSubscribers("news"u8));
        // news: 3 channel subscribers and n* (3); news.x: news.* (1 + 2) and n* (3); a pattern is not a channel.
        Assert.Equal(6, remote.Receivers("news"u8));
        Assert.Equal(6, remote.Receivers("news.x"u8));
        Assert.Equal(0, remote.Receivers("other"u8));
        Assert.Equal(2, remote.PatternCount);

        // Deltas carry absolute counts; 0 removes.
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.Delta, 4, [("c", "news", 0), ("p", "n*", 1)]), Now));
        Assert.Equal(1, remote.ChannelSubscribers("news"u8));
        Assert.Equal(2, remote.Receivers("news"u8));
        Assert.Equal(["news"], remote.ChannelNames().Select(Encoding.UTF8.GetString));
    }

    [Fact]
    public void Shard_channels_are_counted_apart_from_channels_of_the_same_name_and_leave_with_their_node()
    {
        var remote = new RemoteInterest();
        Snapshot(remote, NodeA, 1, [("s", "news", 2), ("c", "news", 1), ("p", "n*", 1)]);
        Snapshot(remote, NodeB, 1, [("s", "news", 3), ("s", "only-b", 1)]);

        Assert.Equal(5, remote.ChannelSubscribers("news"u8, shard: true));
        Assert.Equal(1, remote.ChannelSubscribers("news"u8));
        Assert.Equal(2, remote.Receivers("news"u8));
        Assert.Equal(2, remote.ShardChannelCount);
        Assert.Equal(["news", "only-b"], remote.ChannelNames(shard: true).Select(Encoding.UTF8.GetString).Order(StringComparer.Ordinal));
        Assert.Equal(["news"], remote.ChannelNames().Select(Encoding.UTF8.GetString));

        // A delta and a whole state change the shard channels alone; a goodbye takes them.
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.Delta, 4, [("s", "news", 1)]), Now));
        Assert.Equal(4, remote.ChannelSubscribers("news"u8, shard: true));
        Assert.Equal(1, remote.ChannelSubscribers("news"u8));
        Snapshot(remote, NodeB, 5, [("s", "only-b", 1)]);
        Assert.Equal(1, remote.ChannelSubscribers("news"u8, shard: true));
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.Bye, 5, []), Now));
        Assert.Equal(0, remote.ChannelSubscribers("news"u8, shard: true));
        Assert.Equal(["only-b"], remote.ChannelNames(shard: true).Select(Encoding.UTF8.GetString));
        Assert.Equal(1, remote.HeldEntries);
    }

    [Fact]
    public void A_gap_in_a_node_s_sequence_is_not_applied_and_asks_once_a_second_for_its_whole_state()
    {
        var remote = new RemoteInterest();
        Snapshot(remote, NodeA, 1, [("c", "x", 1)]);

        // 4 is after 3 (the end of the snapshot); 6 skips 5.
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.Delta, 4, [("c", "x", 2)]), Now));
        Assert.True(remote.Apply(NodeA, Message(InterestGossip.Delta, 6, [("c", "x", 9)]), Now));
        Assert.Equal(2, remote.ChannelSubscribers("x"u8));
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.Delta, 7, [("c", "x", 9)]), Now + 10));
        Assert.Equal(2, remote.ChannelSubscribers("x"u8));

        // A heartbeat ahead of what arrived asks too, a second later; the whole state then replaces all.
        Assert.True(remote.Apply(NodeA, Message(InterestGossip.Heartbeat, 7, []), Now + 1_000));
        Snapshot(remote, NodeA, 8, [("c", "y", 5)]);
        Assert.Equal(0, remote.ChannelSubscribers("x"u8));
        Assert.Equal(5, remote.ChannelSubscribers("y"u8));
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.Heartbeat, 10, []), Now + 5_000));
    }

    [Fact]
    public void A_whole_state_whose_end_was_lost_is_noticed_by_the_next_heartbeat()
    {
        var remote = new RemoteInterest();
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.SnapshotStart, 1, []), Now));
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.SnapshotPart, 2, [("c", "x", 1)]), Now));
        Assert.True(remote.Apply(NodeA, Message(InterestGossip.Heartbeat, 3, []), Now));
        Assert.Equal(0, remote.ChannelSubscribers("x"u8));
    }

    [Fact]
    public void A_node_that_says_goodbye_or_goes_silent_is_forgotten()
    {
        var remote = new RemoteInterest();
        Snapshot(remote, NodeA, 1, [("c", "x", 1), ("p", "x*", 1)]);
        Snapshot(remote, NodeB, 1, [("c", "x", 2)]);
        Assert.Equal(2, remote.NodeCount);

        remote.Apply(NodeA, Message(InterestGossip.Bye, 0, []), Now);
        Assert.Equal(2, remote.Receivers("x"u8));
        Assert.Equal(0, remote.PatternCount);

        Assert.Equal(0, remote.Expire(Now + 3_000, 3_000));
        Assert.Equal(1, remote.Expire(Now + 3_001, 3_000));
        Assert.Equal(0, remote.Receivers("x"u8));
        Assert.Equal(0, remote.NodeCount);
    }

    [Fact]
    public void Entries_past_the_bounds_are_not_held_and_a_whole_state_being_received_counts_with_the_tables_it_replaces()
    {
        var remote = new RemoteInterest(maxNodes: 1, maxEntries: 3, maxNameBytes: 1_000_000);
        Snapshot(remote, NodeA, 1, [("c", "a", 1), ("c", "b", 1), ("p", "c*", 1), ("c", "d", 1)]);
        Assert.Equal(1, remote.Refused);
        Assert.Equal(2, remote.ChannelCount);

        // The bound is what is held: at the bound, a whole state being received finds no room beside the
        // tables it is to replace, so its entries are refused (and the node then holds what fitted).
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.SnapshotStart, 4, []), Now));
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.SnapshotPart, 5, [("c", "a", 1), ("c", "b", 1)]), Now));
        Assert.Equal(3, remote.HeldEntries);
        Assert.Equal(3, remote.Refused);

        // A second node is past maxNodes; a delta adding past maxEntries is refused.
        Snapshot(remote, NodeB, 1, [("c", "z", 1)]);
        Assert.Equal(0, remote.ChannelSubscribers("z"u8));

        var small = new RemoteInterest(maxNameBytes: 10 + RemoteInterest.EntryBytes);
        Snapshot(small, NodeA, 1, [("c", "0123456789", 1), ("c", "x", 1)]);
        Assert.Equal(1, small.ChannelCount);
        Assert.Equal(1, small.Refused);
        Assert.Equal(10 + RemoteInterest.EntryBytes, small.HeldBytes);
    }

    [Fact]
    public void Whole_states_that_never_end_hold_no_more_than_the_bound_together_and_are_dropped_after_two_seconds()
    {
        const int Max = 1_000;
        var remote = new RemoteInterest(maxEntries: Max);
        Snapshot(remote, NodeA, 1, [.. Enumerable.Range(0, 400).Select(i => ("c", "held" + i, 1))]);

        // 64 nodes, each streaming parts of a whole state that never ends.
        var nodes = Enumerable.Range(0, 63).Select(i => i.ToString("x40", System.Globalization.CultureInfo.InvariantCulture)).ToList();
        foreach (var node in nodes)
        {
            Assert.False(remote.Apply(node, Message(InterestGossip.SnapshotStart, 1, []), Now));
            for (ulong part = 2; part < 12; part++)
            {
                remote.Apply(node, Message(InterestGossip.SnapshotPart, part, [.. Enumerable.Range(0, 50).Select(i => ("c", $"{node}.{part}.{i}", 1))]), Now);
            }
        }

        Assert.Equal(Max, remote.HeldEntries);
        Assert.Equal(400, remote.ChannelCount);

        // Not finished within 2 s: dropped, and what they held is free again.
        remote.Apply(NodeA, Message(InterestGossip.Heartbeat, 3, []), Now + RemoteInterest.StagingTimeout + 1);
        Assert.Equal(0, remote.Expire(Now + RemoteInterest.StagingTimeout + 1, 3_000));
        Assert.Equal(400, remote.HeldEntries);
    }

    [Fact]
    public void What_an_entry_is_counted_in_the_byte_bound_covers_what_it_really_takes()
    {
        const int Count = 100_000;
        // Half channels, half patterns (which are in the trie too).
        var names = Enumerable.Range(0, Count).Select(i => (i % 2 == 0 ? "c" : "p", "n" + i.ToString("d7", System.Globalization.CultureInfo.InvariantCulture) + (i % 2 == 0 ? "" : "*"), 1)).ToArray();
        var message = Message(InterestGossip.SnapshotPart, 2, names);
        var remote = new RemoteInterest();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        remote.Apply(NodeA, Message(InterestGossip.SnapshotStart, 1, []), Now);
        remote.Apply(NodeA, message, Now);
        remote.Apply(NodeA, Message(InterestGossip.SnapshotEnd, 3, []), Now);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(remote);
        GC.KeepAlive(message);

        Assert.Equal(Count / 2, remote.ChannelCount);
        Assert.Equal(Count / 2, remote.PatternCount);
        var perEntry = (after - before) / (double)Count;
        Assert.True(perEntry <= remote.HeldBytes / (double)Count,
            $"an entry takes {perEntry:0} bytes, it is counted as {remote.HeldBytes / (double)Count:0}");
    }

    [Fact]
    public void Malformed_messages_change_nothing()
    {
        var remote = new RemoteInterest();
        Snapshot(remote, NodeA, 1, [("c", "x", 1)]);
        Assert.False(remote.Apply(NodeA, [9, 9, 9], Now));

        // The first entry is whole, the second cut short: none of the message is applied.
        var truncated = Message(InterestGossip.Delta, 4, [("c", "y", 1), ("c", "z", 1)]);
        Assert.True(remote.Apply(NodeA, truncated.AsSpan(0, truncated.Length - 1), Now));
        Assert.Equal(0, remote.ChannelSubscribers("y"u8));
        Assert.Equal(1, remote.ChannelSubscribers("x"u8));
        Assert.Equal(1, remote.ChannelCount);

        // The same in a whole state: it is dropped, and the last complete one counts.
        Assert.False(remote.Apply(NodeB, Message(InterestGossip.SnapshotStart, 1, []), Now));
        var part = Message(InterestGossip.SnapshotPart, 2, [("c", "y", 1), ("c", "z", 1)]);
        Assert.True(remote.Apply(NodeB, part.AsSpan(0, part.Length - 1), Now));
        Assert.Equal(1, remote.HeldEntries);
    }

    [Fact]
    public void An_entry_of_a_kind_this_version_does_not_know_is_skipped_and_the_rest_applied()
    {
        // A later version's node may add names of a new kind: the channels and patterns beside them still count.
        var remote = new RemoteInterest();
        Snapshot(remote, NodeA, 1, [("x", "future", 3), ("c", "x", 1), ("p", "a*", 2)]);
        Assert.Equal(1, remote.ChannelSubscribers("x"u8));
        Assert.Equal(1, remote.ChannelCount);
        Assert.Equal(1, remote.DistinctPatterns);
        Assert.False(remote.Apply(NodeA, Message(InterestGossip.Delta, 4, [("c", "y", 2), ("x", "future", 0)]), Now));
        Assert.Equal(2, remote.ChannelSubscribers("y"u8));
        Assert.Equal(2, remote.ChannelCount);
    }

    [Fact]
    public void The_distinct_patterns_of_every_node_are_kept_as_they_change()
    {
        var remote = new RemoteInterest();
        remote.LocalPatternChanged("a*"u8.ToArray(), present: true);
        remote.LocalPatternChanged("b*"u8.ToArray(), present: true);
        Snapshot(remote, NodeA, 1, [("p", "a*", 2), ("p", "c*", 1)]);
        Snapshot(remote, NodeB, 1, [("p", "c*", 1), ("p", "d*", 1)]);
        Assert.Equal(4, remote.DistinctPatterns);

        // a* stays while A has it; c* stays while B has it.
        remote.LocalPatternChanged("a*"u8.ToArray(), present: false);
        remote.Apply(NodeA, Message(InterestGossip.Bye, 0, []), Now);
        Assert.Equal(3, remote.DistinctPatterns);
        remote.Apply(NodeB, Message(InterestGossip.Delta, 4, [("p", "c*", 0), ("p", "d*", 0)]), Now);
        Assert.Equal(1, remote.DistinctPatterns);
    }

    /// <summary>S, one part, E, numbered from <paramref name="first"/>.</summary>
    private static void Snapshot(RemoteInterest remote, string node, ulong first, (string Kind, string Name, int Count)[] entries)
    {
        Assert.False(remote.Apply(node, Message(InterestGossip.SnapshotStart, first, []), Now));
        Assert.False(remote.Apply(node, Message(InterestGossip.SnapshotPart, first + 1, entries), Now));
        Assert.False(remote.Apply(node, Message(InterestGossip.SnapshotEnd, first + 2, []), Now));
    }

    private static byte[] Message(byte kind, ulong sequence, (string Kind, string Name, int Count)[] entries)
    {
        var bytes = new byte[InterestGossip.HeaderLength + entries.Sum(e => InterestGossip.EntryOverhead + Encoding.UTF8.GetByteCount(e.Name))];
        InterestGossip.WriteHeader(bytes, kind, sequence);
        var at = InterestGossip.HeaderLength;
        foreach (var (entryKind, name, count) in entries)
        {
            at += InterestGossip.WriteEntry(bytes.AsSpan(at), (byte)entryKind[0], count, Encoding.UTF8.GetBytes(name));
        }

        return bytes;
    }
}
