using System.Text;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Tests;

public class RespParserTests
{
    private const string Message = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    private const string PMessage = "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$0\r\n\r\n";

    [Theory]
    [InlineData(":42\r\n", "Integer")]
    [InlineData(":-1\r\n", "Integer")]
    [InlineData("+OK\r\n", "Simple")]
    [InlineData("-ERR no\r\n", "Error")]
    [InlineData("$3\r\nabc\r\n", "Bulk")]
    [InlineData("$-1\r\n", "Null")]
    [InlineData(Message, "Array")]
    [InlineData(PMessage, "Array")]
    public void A_reply_is_parsed_only_once_complete_at_every_split(string text, string kind)
    {
        var bytes = Encoding.ASCII.GetBytes(text + ":7\r\n");
        var length = Encoding.ASCII.GetByteCount(text);
        for (var cut = 0; cut < length; cut++)
        {
            Assert.Equal(0, RespParser.TryParse(bytes.AsSpan(0, cut), out _));
        }

        Assert.Equal(length, RespParser.TryParse(bytes, out var reply));
        Assert.Equal(kind, reply.Kind.ToString());
    }

    [Fact]
    public void Elements_point_into_the_buffer()
    {
        var bytes = Encoding.ASCII.GetBytes(PMessage);
        RespParser.TryParse(bytes, out var reply);
        Assert.Equal(4, reply.Count);
        Assert.Equal("pmessage", Text(bytes, reply.E0));
        Assert.Equal("n*", Text(bytes, reply.E1));
        Assert.Equal("news", Text(bytes, reply.E2));
        Assert.Equal("", Text(bytes, reply.E3));

        var integer = Encoding.ASCII.GetBytes(":-12\r\n");
        RespParser.TryParse(integer, out var number);
        Assert.Equal(-12, number.Integer);
    }

    [Theory]
    [InlineData("!3\r\n")]
    [InlineData(":1x\r\n")]
    [InlineData("*5\r\n")]
    public void Unexpected_bytes_throw(string text)
    {
        Assert.Throws<InvalidDataException>(() => RespParser.TryParse(Encoding.ASCII.GetBytes(text), out _));
    }

    [Fact]
    public void Publish_frames_are_patched_in_place()
    {
        var batch = new PublishBatch("ch:01", 24, 2);
        batch.SetChannel(1, "ch:99"u8);
        batch.SetMessage(1, 3, 5, 11);
        var text = Encoding.Latin1.GetString(batch.Frames(2).Span);
        Assert.StartsWith("*3\r\n$7\r\nPUBLISH\r\n$5\r\nch:01\r\n$24\r\n", text, StringComparison.Ordinal);
        Assert.Equal(2 * batch.FrameLength, text.Length);
        var second = batch.Frames(2).Span[batch.FrameLength..];
        Assert.Contains("$5\r\nch:99\r\n", Encoding.Latin1.GetString(second), StringComparison.Ordinal);
        Payload.Read(second[^26..^2], out var stream, out var sequence, out var ticks);
        Assert.Equal((3, 5L, 11L), (stream, sequence, ticks));
    }

    private static string Text(byte[] bytes, RespElement element) => Encoding.ASCII.GetString(bytes, element.Offset, element.Length);
}
