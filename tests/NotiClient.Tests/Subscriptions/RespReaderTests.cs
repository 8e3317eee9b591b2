using System.Text;
using Notistream.Client.Subscriptions;
using Xunit;

namespace Notistream.Client.Tests.Subscriptions;

public sealed class RespReaderTests
{
    private static byte[] Push(string channel, string message) => Encoding.ASCII.GetBytes(
        $"*3\r\n$7\r\nmessage\r\n${channel.Length}\r\n{channel}\r\n${message.Length}\r\n{message}\r\n");

    private static int BufferSize(RespReader reader) =>
        ((byte[])typeof(RespReader).GetField("_buffer", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(reader)!).Length;

    [Fact]
    public async Task A_frame_larger_than_the_buffer_is_read_whole_and_its_buffer_is_not_kept()
    {
        var large = new string('x', 100_000);
        using var stream = new MemoryStream([.. Push("a", "small"), .. Push("b", large), .. Push("c", "after")]);
        var reader = new RespReader(stream, initialSize: 4096);
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal("small", (await reader.ReadAsync(ct)).Items![2].Text);
        Assert.Equal(large, (await reader.ReadAsync(ct)).Items![2].Text);
        Assert.Equal("after", (await reader.ReadAsync(ct)).Items![2].Text);
        // What one subscriber holds goes back to its starting size once the large frame is read.
        Assert.Equal(4096, BufferSize(reader));
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await reader.ReadAsync(ct));
    }
}
