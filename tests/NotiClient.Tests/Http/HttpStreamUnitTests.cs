using System.Text;
using System.Text.Json;
using Notistream.Client.Subscriptions;
using Xunit;

namespace Notistream.Client.Tests.Http;

/// <summary>The pieces of the HTTP transport that need no network: the bounded line reader and the payload as published.</summary>
public sealed class HttpStreamUnitTests
{
    /// <summary>Hands out at most <paramref name="chunk"/> bytes per read, so lines cross reads.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }

    private static async Task<List<string>> ReadAllAsync(string text, int max, int chunk)
    {
        var reader = new BoundedLineReader(new TrickleStream(Encoding.UTF8.GetBytes(text), chunk), max);
        var lines = new List<string>();
        while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
        {
            lines.Add(line.TooLong ? $"<skipped {line.SkippedLength}>" : Encoding.UTF8.GetString(line.Bytes!));
        }

        return lines;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16384)]
    public async Task Lines_are_split_at_newlines_across_reads_and_a_long_one_is_skipped_whole(int chunk)
    {
        var text = "one\r\n\n" + new string('x', 25) + "\ntwo\n" + new string('y', 10) + "\nthree-cut-off";

        var lines = await ReadAllAsync(text, max: 10, chunk);

        Assert.Equal(["one", "", "<skipped 25>", "two", "yyyyyyyyyy"], lines);
    }

    private static string PayloadOf(string json) => HttpTransport.Payload(JsonDocument.Parse(json).RootElement);

    [Fact]
    public void The_payload_is_the_text_the_fields_folded_back_or_base64_decoded()
    {
        Assert.Equal("disk full", PayloadOf("""{"event":"message","message":"disk full","channel":"a"}"""));
        Assert.Equal("""{"message":"disk full","title":"nas","priority":4,"tags":["warning"],"click":"https://x.example"}""",
            PayloadOf("""{"event":"message","title":"nas","message":"disk full","priority":4,"tags":["warning"],"click":"https://x.example"}"""));
        Assert.Equal("a\uFFFDb", PayloadOf($$"""{"event":"message","message":"{{Convert.ToBase64String([0x61, 0xFF, 0x62])}}","encoding":"base64"}"""));
        Assert.Throws<InvalidDataException>(() => PayloadOf("""{"message":"%%%","encoding":"base64"}"""));
    }
}
