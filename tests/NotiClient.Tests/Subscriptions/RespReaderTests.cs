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

    private static byte[] Buffer(RespReader reader) =>
        (byte[])typeof(RespReader).GetField("_buffer", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(reader)!;

    /// <summary>A stream that hands out one read's worth at a time, as a socket does when the frames come apart.</summary>
    private sealed class Trickle(IEnumerable<byte[]> chunks) : Stream
    {
        private readonly Queue<byte[]> _chunks = new(chunks);
        private byte[]? _current;
        private int _offset;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_current is null || _offset == _current.Length)
            {
                if (!_chunks.TryDequeue(out _current))
                {
                    return 0;
                }

                _offset = 0;
            }

            var n = Math.Min(count, _current.Length - _offset);
            _current.AsSpan(_offset, n).CopyTo(buffer.AsSpan(offset));
            _offset += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task A_frame_larger_than_the_buffer_is_read_whole_and_its_buffer_is_let_go_after_a_run_of_small_ones()
    {
        var large = new string('x', 100_000);
        var small = Enumerable.Range(0, RespReader.SmallFramesBeforeShrink).Select(i => Push("c", $"after{i}")).ToList();
        using var stream = new MemoryStream([.. Push("a", "small"), .. Push("b", large), .. small.SelectMany(f => f)]);
        var reader = new RespReader(stream, initialSize: 4096);
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal("small", (await reader.ReadAsync(ct)).Items![2].Text);
        Assert.Equal(large, (await reader.ReadAsync(ct)).Items![2].Text);
        for (var i = 0; i < RespReader.SmallFramesBeforeShrink; i++)
        {
            Assert.Equal($"after{i}", (await reader.ReadAsync(ct)).Items![2].Text);
        }

        // What one subscriber holds goes back to its starting size once a run of small frames follows the large one.
        Assert.Equal(4096, BufferSize(reader));
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await reader.ReadAsync(ct));
    }

    [Fact]
    public async Task A_stream_of_large_frames_between_small_ones_keeps_its_grown_buffer()
    {
        var large = new string('x', 100_000);
        var frames = Enumerable.Range(0, 10).SelectMany(i => new[] { Push("big", large), Push("small", $"s{i}") }).ToList();
        var reader = new RespReader(new Trickle(frames), initialSize: 4096);
        var ct = TestContext.Current.CancellationToken;

        byte[]? grown = null;
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(large, (await reader.ReadAsync(ct)).Items![2].Text);
            Assert.Equal($"s{i}", (await reader.ReadAsync(ct)).Items![2].Text);
            grown ??= Buffer(reader);
            // Not let go and grown again for every large frame (each time a fresh large array).
            Assert.Same(grown, Buffer(reader));
        }
    }
}
