using System.Text;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Tests;

public class StreamReplyTests
{
    private const string TwoEntries =
        "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n"
        + "*2\r\n$3\r\n1-0\r\n*2\r\n$7\r\nmessage\r\n$5\r\nhello\r\n"
        + "*2\r\n$3\r\n1-1\r\n*4\r\n$5\r\nother\r\n$1\r\nx\r\n$7\r\nmessage\r\n$0\r\n\r\n";

    [Fact]
    public void An_XREAD_reply_is_parsed_only_once_complete_at_every_split()
    {
        var bytes = Encoding.ASCII.GetBytes(TwoEntries + ":7\r\n");
        var length = Encoding.ASCII.GetByteCount(TwoEntries);
        var entries = new List<StreamEntry>();
        for (var cut = 0; cut < length; cut++)
        {
            Assert.Equal(0, StreamReplyParser.TryParseXRead(bytes.AsSpan(0, cut), entries, out var error));
            Assert.Null(error);
            Assert.Empty(entries);
        }

        Assert.Equal(length, StreamReplyParser.TryParseXRead(bytes, entries, out _));
        Assert.Equal(2, entries.Count);
        Assert.Equal("1-0", Text(bytes, entries[0].IdOffset, entries[0].IdLength));
        Assert.Equal("hello", Text(bytes, entries[0].MessageOffset, entries[0].MessageLength));
        Assert.Equal("1-1", Text(bytes, entries[1].IdOffset, entries[1].IdLength));
        Assert.Equal(0, entries[1].MessageLength);
    }

    [Fact]
    public void Nothing_new_and_errors_are_told_apart_from_entries()
    {
        var entries = new List<StreamEntry>();
        Assert.Equal(5, StreamReplyParser.TryParseXRead("*-1\r\n"u8, entries, out var error));
        Assert.Null(error);
        Assert.Empty(entries);

        Assert.Equal(11, StreamReplyParser.TryParseXRead("-ERR nope\r\n:1"u8, entries, out error));
        Assert.Equal("ERR nope", error);

        Assert.Equal(50, StreamReplyParser.TryParseXRead("*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"u8, entries, out _));
        Assert.Equal(-1, Assert.Single(entries).MessageLength);
        Assert.Throws<InvalidDataException>(() => StreamReplyParser.TryParseXRead(":1\r\n"u8, entries, out _));
    }

    [Fact]
    public void The_cursor_asks_for_what_follows_the_last_id_and_refuses_ids_that_do_not_rise()
    {
        var cursor = new StreamCursor("s", count: 1000, block: false);
        Assert.Equal("*6\r\n$5\r\nXREAD\r\n$5\r\nCOUNT\r\n$4\r\n1000\r\n$7\r\nSTREAMS\r\n$1\r\ns\r\n$3\r\n0-0\r\n", Encoding.ASCII.GetString(cursor.Command().Span));
        Assert.True(cursor.Advance("1796614206783-12"u8));
        Assert.False(cursor.Advance("1796614206783-12"u8));
        Assert.False(cursor.Advance("1796614206782-99"u8));
        Assert.False(cursor.Advance("x-1"u8));
        Assert.False(cursor.Advance("17966142067831"u8));
        Assert.Equal("1796614206783-12", cursor.LastId);
        Assert.True(cursor.Advance("1796614206784-0"u8));

        var blocking = new StreamCursor("stream", count: null, block: true);
        Assert.True(blocking.Advance("18446744073709551615-18446744073709551615"u8));
        Assert.Equal(
            "*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$6\r\nstream\r\n$41\r\n18446744073709551615-18446744073709551615\r\n",
            Encoding.ASCII.GetString(blocking.Command().Span));
    }

    [Fact]
    public void XADD_frames_carry_the_key_the_arguments_and_the_numbered_payload()
    {
        var batch = PublishBatch.Xadd("s", 1000, Payload.HeaderSize, 2);
        batch.SetMessage(1, 3, 42, 0);
        var text = Encoding.Latin1.GetString(batch.Frames(2).Span);
        var frame = "*8\r\n$4\r\nXADD\r\n$1\r\ns\r\n$6\r\nMAXLEN\r\n$1\r\n~\r\n$4\r\n1000\r\n$1\r\n*\r\n$7\r\nmessage\r\n$20\r\n";
        Assert.StartsWith(frame, text, StringComparison.Ordinal);
        Assert.Equal(2 * (frame.Length + Payload.HeaderSize + 2), text.Length);
        Payload.Read(batch.Frames(2).Span.Slice((2 * frame.Length) + Payload.HeaderSize + 2, Payload.HeaderSize), out var stream, out var sequence, out _);
        Assert.Equal((3, 42L), (stream, sequence));

        Assert.StartsWith("*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$7\r\nmessage\r\n$20\r\n", Encoding.Latin1.GetString(PublishBatch.Xadd("s", null, Payload.HeaderSize, 1).Frames(1).Span), StringComparison.Ordinal);
    }

    private static string Text(byte[] bytes, int offset, int length) => Encoding.ASCII.GetString(bytes, offset, length);
}
