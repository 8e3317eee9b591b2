using Notistream.RespServer.Keyspace;

namespace Notistream.RespServer.Tests.Keyspace;

/// <summary>The record of trimmed ids behind NOTI.SUBSCRIBE's gap counts, against a plain list.</summary>
public sealed class TrimmedIdsTests
{
    [Fact]
    public void Counts_after_any_id_match_a_plain_list_and_forgotten_ids_make_the_count_unknown()
    {
        var random = new Random(7);
        var record = new TrimmedIds(capacity: 5_000);
        var all = new List<StreamId>();
        var id = new StreamId(1_700_000_000_000, 0);
        for (var i = 0; i < 20_000; i++)
        {
            // Bursts in one millisecond, gaps of milliseconds, of minutes, of days.
            id = random.Next(4) switch
            {
                0 => new StreamId(id.Ms, id.Seq + 1),
                1 => new StreamId(id.Ms + (ulong)random.Next(1, 5), 0),
                2 => new StreamId(id.Ms + (ulong)random.Next(1_000, 600_000), (ulong)random.Next(3)),
                _ => new StreamId(id.Ms + (ulong)random.Next(1, 1_000_000_000), 0),
            };
            record.Add(id);
            all.Add(id);
        }

        Assert.InRange(record.Count, 4_000, 5_000);
        var kept = all.Count - (int)record.Count;
        Assert.Equal(all[kept - 1], record.ForgottenUpTo);
        Assert.Equal(all[^1], record.LastId);
        Assert.InRange(record.Bytes, record.Count * 1, record.Count * 8);
        for (var probe = 0; probe < 2_000; probe++)
        {
            var index = random.Next(-1, all.Count);
            var after = index < 0 ? StreamId.Min : all[index];
            if (random.Next(2) == 0 && index >= 0)
            {
                // Between two ids rather than on one.
                after = new StreamId(after.Ms, after.Seq + 1) is var next && (index + 1 == all.Count || next < all[index + 1]) ? next : after;
            }

            long? expected = after < record.ForgottenUpTo ? null : all.Count(x => x > after);
            Assert.Equal(expected, record.CountAfter(after));
        }
    }

    [Fact]
    public void A_stream_s_trims_record_what_they_remove_and_XDEL_is_not_a_loss()
    {
        var stream = new StreamValue { Trimmed = new TrimmedIds(1_000) };
        var ids = new List<StreamId>();
        for (var i = 0; i < 450; i++)
        {
            Assert.Equal(StreamAppendResult.Added, stream.Append(EntryFields.Message("m"u8), new StreamId(1000 + (ulong)i, 0), seqGiven: true, 0, out var added));
            ids.Add(added);
        }

        Assert.True(stream.Delete(ids[5]));
        stream.Trim(StreamTrimStrategy.MaxLen, 200, default, approximate: true, limit: 0);
        stream.Trim(StreamTrimStrategy.MinId, 0, ids[230], approximate: false, limit: 0);
        Assert.Equal(ids[230], stream.FirstId);
        Assert.Equal(229, stream.Trimmed!.Count);
        Assert.Equal(224, stream.Trimmed.CountAfter(ids[4])); // ids 6 to 229: the XDELed 5 is no loss
        Assert.Equal(0, stream.Trimmed.CountAfter(ids[229]));
        Assert.Equal(stream.RecountMemoryBytes(), stream.MemoryBytes);
    }
}
