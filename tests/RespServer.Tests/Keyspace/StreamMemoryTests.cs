using System.Text;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.Tests.Performance;

namespace Notistream.RespServer.Tests.Keyspace;

/// <summary>What a stream of a million small messages keeps in memory, against what Redis 7.0 takes.</summary>
[Collection(nameof(AllocationBudgetCollection))]
public sealed class StreamMemoryTests
{
    /// <summary>
    /// redis-server 7.0.15's used_memory grows by 76,784,816 bytes for a million
    /// <c>XADD s * message &lt;64 bytes&gt;</c> sent through <c>redis-cli --pipe</c> (ids some 300 to a millisecond).
    /// </summary>
    private const double RedisBytesPerEntry = 76.78;

    [Fact]
    public void A_million_64_byte_messages_take_no_more_than_in_redis()
    {
        const int Entries = 1_000_000;
        var args = new[] { "XADD", "s", "*", "message", new string('x', 64) };
        var bytes = Encoding.ASCII.GetBytes(string.Concat(args));
        var slots = new ArgSlot[args.Length];
        for (int i = 0, offset = 0; i < args.Length; offset += args[i].Length, i++)
        {
            slots[i] = new ArgSlot(offset, args[i].Length);
        }

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var stream = new StreamValue();
        var request = new RespRequest(bytes, slots);
        for (var i = 0; i < Entries; i++)
        {
            // The clock moves a millisecond every 300 entries, as it did for Redis.
            Assert.Equal(StreamAppendResult.Added, stream.Append(request, 3, null, seqGiven: true, 1_700_000_000_000UL + (ulong)(i / 300), out _));
        }

        var perEntry = (double)(GC.GetTotalMemory(forceFullCollection: true) - before) / Entries;
        GC.KeepAlive(stream);
        Assert.Equal(Entries, stream.Length);
        Assert.True(perEntry <= RedisBytesPerEntry, $"{perEntry:F2} bytes per entry, Redis {RedisBytesPerEntry}");
    }
}
