using System.Text;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Tests.Keyspace;

/// <summary>The packed stream: where nodes split, deletes and trims across nodes, seeks, and a model check.</summary>
public sealed class StreamValueTests
{
    [Fact]
    public void A_node_holds_at_most_100_entries()
    {
        var stream = new StreamValue();
        for (var i = 1; i <= 250; i++)
        {
            Add(stream, new StreamId((ulong)i, 0), "f", "v");
        }

        Assert.Equal(3, stream.NodeCount);
        Assert.Equal(250, stream.Length);

        // MAXLEN ~ removes whole nodes only: the first 100 go, the next 100 would leave fewer than 120.
        Assert.Equal(100, stream.Trim(StreamTrimStrategy.MaxLen, 120, default, approximate: true, 0));
        Assert.Equal(new StreamId(101, 0), stream.FirstId);
        Assert.Equal(2, stream.NodeCount);
    }

    [Fact]
    public void A_node_is_full_when_its_listpack_bytes_and_the_new_strings_reach_4096()
    {
        // 18 listpack bytes of node header and master field, 1012 per entry of a 1000-byte value:
        // 4066 after four entries, and 4066 + 1001 reaches 4096, so the fifth starts a node.
        var stream = new StreamValue();
        for (var i = 1; i <= 9; i++)
        {
            Add(stream, new StreamId((ulong)i, 0), "f", new string('x', 1000));
        }

        Assert.Equal(3, stream.NodeCount);
        Assert.Equal(4, stream.Trim(StreamTrimStrategy.MaxLen, 5, default, approximate: true, 0));
    }

    [Fact]
    public void An_entry_larger_than_a_node_gets_a_node_of_its_own()
    {
        var stream = new StreamValue();
        Add(stream, new StreamId(1, 0), "f", "small");
        Add(stream, new StreamId(2, 0), "f", new string('x', 5000));
        Add(stream, new StreamId(3, 0), "f", "small");
        Assert.Equal(3, stream.NodeCount);
        Assert.Equal(["1-0", "2-0", "3-0"], Ids(stream, StreamId.Min, StreamId.Max, reverse: false));
        Assert.Equal(new string('x', 5000), Fields(stream, new StreamId(2, 0))[1]);
    }

    [Fact]
    public void Deleting_every_entry_of_a_middle_node_removes_it_and_ranges_skip_it()
    {
        var stream = Filled(300);
        for (var i = 101; i <= 200; i++)
        {
            Assert.True(stream.Delete(new StreamId((ulong)i, 0)));
        }

        Assert.False(stream.Delete(new StreamId(150, 0)));
        Assert.False(stream.Delete(new StreamId(1000, 0)));
        Assert.Equal(2, stream.NodeCount);
        Assert.Equal(200, stream.Length);
        Assert.Equal(["99-0", "100-0", "201-0", "202-0"], Ids(stream, new StreamId(99, 0), StreamId.Max, reverse: false, 4));
        Assert.Equal(["202-0", "201-0", "100-0", "99-0"], Ids(stream, StreamId.Min, new StreamId(202, 0), reverse: true, 4));
        Assert.Equal(["201-0"], Ids(stream, new StreamId(150, 0), StreamId.Max, reverse: false, 1));
        Assert.Equal(["100-0"], Ids(stream, StreamId.Min, new StreamId(150, 0), reverse: true, 1));
    }

    [Fact]
    public void Deleting_the_head_and_tail_nodes_drops_them_and_the_next_append_starts_a_node()
    {
        var stream = Filled(300);
        for (var i = 1; i <= 100; i++)
        {
            stream.Delete(new StreamId((ulong)i, 0));
        }

        for (var i = 201; i <= 300; i++)
        {
            stream.Delete(new StreamId((ulong)i, 0));
        }

        Assert.Equal(1, stream.NodeCount);
        stream.RefreshFirstId();
        Assert.Equal(new StreamId(101, 0), stream.FirstId);

        // The remaining node is full (100 entries), so the append starts a new one.
        Add(stream, new StreamId(301, 0), "f", "v");
        Assert.Equal(2, stream.NodeCount);
        Assert.Equal(["200-0", "301-0"], Ids(stream, new StreamId(200, 0), StreamId.Max, reverse: false));
    }

    [Fact]
    public void Emptied_middle_nodes_are_compacted_away_and_seeks_still_find_their_neighbours()
    {
        var stream = Filled(2000);
        for (var node = 1; node < 19; node += 1)
        {
            for (var i = 1; i <= 100; i++)
            {
                stream.Delete(new StreamId((ulong)((node * 100) + i), 0));
            }
        }

        Assert.Equal(2, stream.NodeCount);
        Assert.Equal(200, stream.Length);
        Assert.Equal(["100-0", "1901-0"], Ids(stream, new StreamId(100, 0), new StreamId(1901, 0), reverse: false));
        Assert.Equal(["1901-0", "100-0"], Ids(stream, new StreamId(100, 0), new StreamId(1901, 0), reverse: true));
        Assert.Equal(["1901-0"], Ids(stream, new StreamId(555, 0), StreamId.Max, reverse: false, 1));
    }

    [Fact]
    public void Exact_trims_flag_entries_inside_the_first_node_that_cannot_go_whole()
    {
        var stream = Filled(250);
        Assert.Equal(130, stream.Trim(StreamTrimStrategy.MaxLen, 120, default, approximate: false, 0));
        Assert.Equal(120, stream.Length);
        Assert.Equal(2, stream.NodeCount);
        Assert.Equal(new StreamId(131, 0), stream.FirstId);
        Assert.Equal(["131-0", "132-0"], Ids(stream, StreamId.Min, StreamId.Max, reverse: false, 2));

        Assert.Equal(10, stream.Trim(StreamTrimStrategy.MinId, 0, new StreamId(141, 0), approximate: false, 0));
        Assert.Equal(new StreamId(141, 0), stream.FirstId);

        // LIMIT stops before a node whose entries would pass it.
        Assert.Equal(0, stream.Trim(StreamTrimStrategy.MaxLen, 0, default, approximate: true, 50));
        Assert.Equal(60, stream.Trim(StreamTrimStrategy.MaxLen, 0, default, approximate: true, 100));
        Assert.Equal(50, stream.Length);
        Assert.Equal(50, stream.Trim(StreamTrimStrategy.MaxLen, 0, default, approximate: false, 0));
        Assert.Equal(0, stream.Length);
        Assert.Equal(StreamId.Min, stream.FirstId);
        Assert.Equal(0, stream.NodeCount);
    }

    [Fact]
    public void A_node_whose_live_entries_a_trim_flagged_stays_until_a_later_trim_as_in_redis()
    {
        var stream = new StreamValue();
        Add(stream, new StreamId(1, 0), "f", "v");
        Add(stream, new StreamId(2, 0), "f", "v");
        Add(stream, new StreamId(3, 0), "f", "v");
        stream.Delete(new StreamId(3, 0));

        // 3-0 is a tombstone at or past MINID 3, so the node is not removed whole; its live entries are flagged.
        Assert.Equal(2, stream.Trim(StreamTrimStrategy.MinId, 0, new StreamId(3, 0), approximate: false, 0));
        Assert.Equal(0, stream.Length);
        Assert.Equal(1, stream.NodeCount);
        Assert.Equal(0, stream.Trim(StreamTrimStrategy.MaxLen, 0, default, approximate: true, 0));
        Assert.Equal(1, stream.NodeCount);
        Assert.Equal(0, stream.Trim(StreamTrimStrategy.MinId, 0, new StreamId(9, 0), approximate: true, 0));
        Assert.Equal(0, stream.NodeCount);
    }

    [Fact]
    public void Entries_with_other_fields_than_the_node_master_keep_their_own()
    {
        var stream = new StreamValue();
        Add(stream, new StreamId(1, 0), "a", "1", "b", "2");
        Add(stream, new StreamId(2, 0), "a", "3", "b", "4");
        Add(stream, new StreamId(3, 0), "b", "5", "a", "6");
        Add(stream, new StreamId(4, 0), "a", "7");
        Assert.Equal(["a", "3", "b", "4"], Fields(stream, new StreamId(2, 0)));
        Assert.Equal(["b", "5", "a", "6"], Fields(stream, new StreamId(3, 0)));
        Assert.Equal(["a", "7"], Fields(stream, new StreamId(4, 0)));
    }

    [Fact]
    public void Ids_far_apart_in_one_node_round_trip()
    {
        var stream = new StreamValue();
        StreamId[] ids = [new(0, 1), new(0, ulong.MaxValue), new(1, 0), new(ulong.MaxValue - 1, 5), new(ulong.MaxValue, ulong.MaxValue)];
        foreach (var id in ids)
        {
            Add(stream, id, "f", "v");
        }

        Assert.Equal(1, stream.NodeCount);
        Assert.Equal(ids.Select(i => i.ToString()), Ids(stream, StreamId.Min, StreamId.Max, reverse: false));
        Assert.Equal(ids.Reverse().Select(i => i.ToString()), Ids(stream, StreamId.Min, StreamId.Max, reverse: true));
    }

    [Fact]
    public void Matches_a_sorted_model_under_random_appends_deletes_trims_and_ranges()
    {
        for (var seed = 1; seed <= 20; seed++)
        {
            var random = new Random(seed);
            var stream = new StreamValue();
            var model = new SortedDictionary<StreamId, string>();
            ulong ms = 1;
            for (var step = 0; step < 3000; step++)
            {
                var action = random.Next(100);
                if (action < 60)
                {
                    ms += (ulong)random.Next(3);
                    var id = new StreamId(ms, stream.LastId.Ms == ms ? stream.LastId.Seq + 1 : 0);
                    var value = new string('v', random.Next(10) == 0 ? 2000 : random.Next(80));
                    Add(stream, id, "f", value);
                    model[id] = value;
                }
                else if (action < 80 && model.Count > 0)
                {
                    var id = model.Keys.ElementAt(random.Next(model.Count));
                    Assert.True(stream.Delete(id));
                    model.Remove(id);
                    Assert.False(stream.Delete(id));
                }
                else if (action < 85)
                {
                    var keep = random.Next(model.Count + 1);
                    var removed = stream.Trim(StreamTrimStrategy.MaxLen, keep, default, approximate: false, 0);
                    Assert.Equal(Math.Max(0, model.Count - keep), removed);
                    foreach (var id in model.Keys.Take(model.Count - keep).ToList())
                    {
                        model.Remove(id);
                    }
                }
                else if (action < 88)
                {
                    var min = new StreamId(ms - (ulong)random.Next((int)ms), 0);
                    var expected = model.Keys.Where(k => k < min).ToList();
                    Assert.Equal(expected.Count, stream.Trim(StreamTrimStrategy.MinId, 0, min, approximate: false, 0));
                    expected.ForEach(k => model.Remove(k));
                }
                else
                {
                    var a = new StreamId((ulong)random.Next((int)ms + 1), (ulong)random.Next(3));
                    var b = new StreamId((ulong)random.Next((int)ms + 1), ulong.MaxValue);
                    var reverse = random.Next(2) == 0;
                    var count = random.Next(4) == 0 ? 0 : random.Next(1, 50);
                    IEnumerable<StreamId> expected = model.Keys.Where(k => k >= a && k <= b);
                    if (reverse)
                    {
                        expected = expected.Reverse();
                    }

                    if (count > 0)
                    {
                        expected = expected.Take(count);
                    }

                    Assert.Equal(expected.Select(k => k.ToString()), Ids(stream, a, b, reverse, count));
                }

                Assert.Equal(model.Count, stream.Length);
                Assert.Equal(stream.RecountMemoryBytes(), stream.MemoryBytes);
                stream.RefreshFirstId();
                Assert.Equal(model.Count > 0 ? model.Keys.First() : StreamId.Min, stream.FirstId);
                Assert.Equal(model.Count > 0 ? model.Keys.Last() : null, stream.LastLiveId());
            }

            Assert.Equal(model.Values, Entries(stream).Select(e => e[1]));
        }
    }

    [Fact]
    public void Radix_tree_nodes_count_as_redis_counts_them()
    {
        var stream = new StreamValue();
        Assert.Equal(1, stream.RadixTreeNodes());
        Add(stream, new StreamId(1, 1), "f", "v");
        Assert.Equal(2, stream.RadixTreeNodes());

        // Two keys differing in the last byte of ms: root chain, a branch, two chains, two keys.
        for (var i = 2; i <= 101; i++)
        {
            Add(stream, new StreamId(2, (ulong)i), "f", "v");
        }

        Assert.Equal(2, stream.NodeCount);
        Assert.Equal(6, stream.RadixTreeNodes());
    }

    [Fact]
    public void A_blocked_read_waits_on_while_the_entries_after_its_id_are_deleted()
    {
        var database = new Database();
        var stream = new StreamValue();
        database.Add("s"u8, stream);
        Add(stream, new StreamId(5, 0), "f", "v");
        var read = new StreamReadBlock(database, 0, ["s"u8.ToArray()], [new StreamId(5, 0)], 10, 0);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.False(read.TryServe(new RespWriter(output, 2)));

        Add(stream, new StreamId(6, 0), "f", "v");
        stream.Delete(new StreamId(6, 0));
        Assert.False(read.TryServe(new RespWriter(output, 2)));
        Assert.Equal(0, output.WrittenCount);

        Add(stream, new StreamId(7, 0), "f", "v");
        Assert.True(read.TryServe(new RespWriter(output, 3)));
        Assert.Equal("%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n7-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData("5", true, 5UL)]
    [InlineData("0", true, 0UL)]
    [InlineData("007", true, 7UL)]
    [InlineData(" \t5", true, 5UL)]
    [InlineData("+5", true, 5UL)]
    [InlineData("-0", true, 0UL)]
    [InlineData("-1", false, 0UL)]
    [InlineData(" -1", true, ulong.MaxValue)]
    [InlineData("18446744073709551615", true, ulong.MaxValue)]
    [InlineData("18446744073709551616", false, 0UL)]
    [InlineData("", false, 0UL)]
    [InlineData(" ", false, 0UL)]
    [InlineData("5 ", false, 0UL)]
    [InlineData("1e3", false, 0UL)]
    public void Numbers_of_an_id_read_as_redis_string2ull(string text, bool valid, ulong value)
    {
        Assert.Equal(valid, StreamArguments.TryParseUnsigned(Encoding.ASCII.GetBytes(text), out var parsed));
        if (valid)
        {
            Assert.Equal(value, parsed);
        }
    }

    private static StreamValue Filled(int count)
    {
        var stream = new StreamValue();
        for (var i = 1; i <= count; i++)
        {
            Add(stream, new StreamId((ulong)i, 0), "f", "v");
        }

        return stream;
    }

    private static void Add(StreamValue stream, StreamId id, params string[] fieldsAndValues)
    {
        var bytes = new List<byte>();
        var slots = new List<ArgSlot>();
        foreach (var arg in (string[])["XADD", "s", id.ToString(), .. fieldsAndValues])
        {
            slots.Add(new ArgSlot(bytes.Count, arg.Length));
            bytes.AddRange(Encoding.Latin1.GetBytes(arg));
        }

        var request = new RespRequest(bytes.ToArray(), slots.ToArray());
        Assert.Equal(StreamAppendResult.Added, stream.Append(request, 3, id, seqGiven: true, 0, out var added));
        Assert.Equal(id, added);
    }

    private static List<string> Ids(StreamValue stream, StreamId start, StreamId end, bool reverse, long count = 0)
    {
        var found = new List<StreamEntryRef>();
        stream.Collect(start, end, reverse, count, found);
        return [.. found.Select(e => StreamValue.IdOf(e).ToString())];
    }

    private static List<string> Fields(StreamValue stream, StreamId id)
    {
        var found = new List<StreamEntryRef>();
        stream.Collect(id, id, reverse: false, 1, found);
        return Decode(found[0]);
    }

    private static List<List<string>> Entries(StreamValue stream)
    {
        var found = new List<StreamEntryRef>();
        stream.Collect(StreamId.Min, StreamId.Max, reverse: false, 0, found);
        return [.. found.Select(Decode)];
    }

    /// <summary>The entry's fields and values, read back from its RESP2 reply.</summary>
    private static List<string> Decode(StreamEntryRef entry)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        StreamValue.WriteEntry(new RespWriter(output, 2), entry);
        var lines = Encoding.Latin1.GetString(output.WrittenSpan).Split("\r\n");

        // *2, $n, id, *2k, then $len and value for each string.
        var strings = new List<string>();
        for (var i = 4; i + 1 < lines.Length; i += 2)
        {
            strings.Add(lines[i + 1]);
        }

        return strings;
    }
}
