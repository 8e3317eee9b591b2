using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

/// <summary>
/// An XREAD BLOCK with nothing to answer yet, holding the ids it reads after ("$" already resolved to the
/// stream's last id when it blocked) and its COUNT. Served, as Redis serves it, with the entries of the
/// first of its streams that has entries after its id: one stream per reply.
/// </summary>
internal sealed class StreamReadBlock(Database database, int databaseIndex, byte[][] keys, StreamId[] after, long count, long timeoutMilliseconds)
    : BlockedCommand(databaseIndex, keys, timeoutMilliseconds)
{
    public override bool TryServe(RespWriter writer)
    {
        for (var i = 0; i < keys.Length; i++)
        {
            if (database.Find(keys[i]) is not StreamValue stream || stream.LastId <= after[i])
            {
                continue;
            }

            after[i].TryIncrement(out var start);
            var entries = new List<StreamEntryRef>();
            if (stream.Collect(start, StreamId.Max, reverse: false, count, entries) == 0)
            {
                // Added and deleted again before this reader looked: nothing to give it yet.
                continue;
            }

            if (writer.Resp3)
            {
                writer.WriteMapHeader(1);
            }
            else
            {
                writer.WriteArrayHeader(1);
                writer.WriteArrayHeader(2);
            }

            writer.WriteBulk(keys[i]);
            writer.WriteArrayHeader(entries.Count);
            foreach (var entry in entries)
            {
                StreamValue.WriteEntry(writer, entry);
            }

            return true;
        }

        return false;
    }

    public override void WriteTimeout(RespWriter writer) => writer.WriteNullArray();
}
