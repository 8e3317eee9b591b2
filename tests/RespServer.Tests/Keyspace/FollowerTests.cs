using System.Reflection;
using System.Text;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Tests.Keyspace;

/// <summary>A follower's pull and its bookkeeping, on a key store without a server: its bounds.</summary>
public sealed class FollowerTests
{
    [Fact]
    public void One_pull_is_bounded_by_the_entries_it_looks_at_even_when_none_is_a_message()
    {
        var keys = new KeyStore(16);
        var stream = new StreamValue { IsChannelHistory = true, Trimmed = new TrimmedIds(1000) };
        for (ulong i = 1; i <= 200_000; i++)
        {
            AddNonMessage(stream, new StreamId(i, 0));
        }

        lock (keys.Gate)
        {
            keys[0].Add("s"u8, stream);
            keys.NextId(new StreamValue(), ChannelHistory.NowMs());
            var follower = new Follower(StreamId.Min, keys.LastGivenId, ["s"u8.ToArray()], []);
            keys.Followers.Register(follower, keys.Find(0));
            var buffer = new ReplyBuffer();
            follower.Pull(keys, new RespWriter(buffer, 2), buffer, maxEntries: 10, maxBytes: 1 << 20, out var more);
            Assert.True(more);
            Assert.Equal(new StreamId(10, 0), follower.Cursor);
        }
    }

    [Fact]
    public void A_pattern_follower_keeps_a_bounded_number_of_gap_marks_whatever_channels_publishers_create_and_the_sweep_drops()
    {
        var keys = new KeyStore(16);
        var rule = new HistoryRule("*", 1, TimeSpan.Zero);
        var follower = new Follower(new StreamId(1, 0), StreamId.Min, [], ["*"u8.ToArray()]);
        var gaps = 0;
        lock (keys.Gate)
        {
            keys.Followers.Register(follower, keys.Find(0));
            var buffer = new ReplyBuffer();
            for (var c = 0; c < 5_000; c++)
            {
                var name = Encoding.ASCII.GetBytes($"ch{c}");
                for (var i = 0; i < 150; i++)
                {
                    ChannelHistory.AppendLocked(keys, name, "m"u8, rule, 0, (ulong)(1_000_000 + (c * 1000) + i));
                }

                var stream = (StreamValue)keys[0].Find(name)!;
                keys.Followers.Dropped(name, stream);
                keys[0].Remove(name);
                gaps += follower.Pull(keys, new RespWriter(buffer, 2), buffer, 1024, int.MaxValue, out _);
                buffer.Detach();
            }
        }

        // Every dropped channel's loss was told (trimmed ids, then the dropped rest) and the marks stay bounded.
        Assert.True(gaps >= 5_000, $"{gaps} notices");
        var marks = (System.Collections.IDictionary)typeof(Follower).GetField("_gapReported", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(follower)!;
        Assert.InRange(marks.Count, 0, 1024 + 1);
    }

    private static void AddNonMessage(StreamValue stream, StreamId id)
    {
        var bytes = new List<byte>();
        var slots = new List<ArgSlot>();
        foreach (var arg in (string[])["XADD", "s", id.ToString(), "f", "v"])
        {
            slots.Add(new ArgSlot(bytes.Count, arg.Length));
            bytes.AddRange(Encoding.Latin1.GetBytes(arg));
        }

        Assert.Equal(StreamAppendResult.Added, stream.Append(new RespRequest(bytes.ToArray(), slots.ToArray()), 3, id, seqGiven: true, 0, out _));
    }
}
