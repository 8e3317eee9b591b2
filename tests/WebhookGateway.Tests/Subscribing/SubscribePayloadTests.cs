using System.Text;
using Notistream.Gateway.Endpoints;
using Notistream.Gateway.Subscribing;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.Tests.Subscribing;

/// <summary>The payload contract, the framings, and how conservatively a token's patterns cover a subscribed pattern.</summary>
public sealed class SubscribePayloadTests
{
    [Theory]
    [InlineData("""{"message":"hi"}""", true)]
    [InlineData("""{"message":"hi","title":"t","priority":5,"tags":["a"],"click":"c","icon":"i","markdown":true}""", true)]
    [InlineData(""" {"title":"only a title"} """, false)] // the contract always has the message
    [InlineData("""{"message":"hi","extra":1}""", false)]
    [InlineData("""{"priority":6}""", false)]
    [InlineData("""{"priority":"high"}""", false)]
    [InlineData("""{"tags":[1]}""", false)]
    [InlineData("""{"message":1}""", false)]
    [InlineData("""{"message":"a","message":"b"}""", false)]
    [InlineData("""{}""", false)]
    [InlineData("""["message"]""", false)]
    [InlineData("""{"message":"hi" """, false)]
    [InlineData("plain text", false)]
    public void Only_an_object_of_ntfy_fields_is_expanded(string payload, bool expanded)
    {
        Assert.Equal(expanded, Notistream.Gateway.Publishing.NtfyPayload.TryDecode(Encoding.UTF8.GetBytes(payload), out _));
    }

    [Fact]
    public void Bytes_that_are_not_utf8_go_out_as_base64_with_ntfys_encoding_field()
    {
        var message = NtfyMessage.From(SubscriptionEvent.Message("1700000000123-0", "bin", null, [0xFF, 0x00, 0xC3]), TimeProvider.System);

        Assert.Equal(("/wDD", "base64", 1700000000L), (message.Message, message.Encoding, message.Time));
    }

    [Fact]
    public void Framings_are_ntfys_with_an_id_line_on_sse_messages()
    {
        var message = NtfyMessage.From(SubscriptionEvent.Message("1700000000123-4", "mytopic", null, "Hi!\nthere"u8.ToArray()), TimeProvider.System);
        var open = NtfyMessage.Control("open", "mytopic", TimeProvider.System);

        Assert.Equal("""{"id":"1700000000123-4","time":1700000000,"event":"message","topic":"mytopic","message":"Hi!\nthere","channel":"mytopic"}""" + "\n",
            Encoding.UTF8.GetString(SubscribeEndpoints.Encode("json", message)));
        Assert.Equal("id: 1700000000123-4\ndata: " + Encoding.UTF8.GetString(message.ToJson()) + "\n\n", Encoding.UTF8.GetString(SubscribeEndpoints.Encode("sse", message)));
        Assert.Equal("event: open\ndata: " + Encoding.UTF8.GetString(open.ToJson()) + "\n\n", Encoding.UTF8.GetString(SubscribeEndpoints.Encode("sse", open)));
        Assert.Equal("Hi! there\n", Encoding.UTF8.GetString(SubscribeEndpoints.Encode("raw", message)));
        Assert.Equal("\n", Encoding.UTF8.GetString(SubscribeEndpoints.Encode("raw", open)));
    }

    [Fact]
    public void One_encoder_reused_across_events_and_formats_frames_each_as_a_fresh_one_does_and_lets_a_large_buffer_go()
    {
        var encoder = new EventEncoder();
        var large = NtfyMessage.From(SubscriptionEvent.Message("1700000000123-5", "t", null, Encoding.UTF8.GetBytes(new string('é', 40_000))), TimeProvider.System);
        var small = NtfyMessage.From(SubscriptionEvent.Message("1700000000123-6", "t", "t*", "\"quoted\" <b>"u8.ToArray()), TimeProvider.System);
        var open = NtfyMessage.Control("open", "t", TimeProvider.System);

        foreach (var format in new[] { "json", "sse", "raw", "ws", "sse", "json" })
        {
            foreach (var message in new[] { small, large, open, small })
            {
                var expected = format == "ws" ? message.ToJson() : SubscribeEndpoints.Encode(format, message);
                Assert.Equal(expected, encoder.Encode(format, message).ToArray());
            }
        }

        // A stream of 80 KB messages keeps the grown buffer (no fresh large array for each one)...
        encoder.Encode("json", large);
        var grown = Buffer(encoder);
        Assert.True(grown.Capacity > EventEncoder.KeptBytes);
        for (var i = 0; i < 20; i++)
        {
            encoder.Encode("sse", small);
            encoder.Encode("sse", large);
            Assert.Same(grown, Buffer(encoder));
        }

        // ...and after a run of small events the next starts on a small buffer again: what an idle subscriber keeps
        // (it is sent a keepalive every 30 s) is bounded.
        for (var i = 0; i < EventEncoder.SmallEventsBeforeShrink; i++)
        {
            Assert.True(encoder.Encode("json", small).Length < 1024);
        }

        encoder.Encode("json", open);
        Assert.True(Buffer(encoder).Capacity <= EventEncoder.KeptBytes);
    }

    private static System.Buffers.ArrayBufferWriter<byte> Buffer(EventEncoder encoder) =>
        (System.Buffers.ArrayBufferWriter<byte>)typeof(EventEncoder).GetField("_buffer", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(encoder)!;

    [Fact]
    public void A_gap_names_its_channel_or_pattern_and_its_count_or_null()
    {
        var counted = Encoding.UTF8.GetString(NtfyMessage.From(SubscriptionEvent.Gap("news", isPattern: false, 15), TimeProvider.System).ToJson());
        var unknown = Encoding.UTF8.GetString(NtfyMessage.From(SubscriptionEvent.Gap("news:*", isPattern: true, null), TimeProvider.System).ToJson());

        Assert.EndsWith(",\"event\":\"gap\",\"topic\":\"news\",\"channel\":\"news\",\"missed\":15}", counted, StringComparison.Ordinal);
        Assert.EndsWith(",\"event\":\"gap\",\"topic\":\"news:*\",\"pattern\":\"news:*\",\"missed\":null}", unknown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alerts:*", "alerts:*", true)]
    [InlineData("alerts:*", "alerts:disk*", true)]
    [InlineData("alerts:*", "alerts:[ab]?", true)]
    [InlineData("alerts:*", "alerts*", false)]
    [InlineData("alerts:*", "*", false)]
    [InlineData("alerts:*", "alert\\s:*", false)]
    [InlineData("alerts:?", "alerts:?", true)]
    [InlineData("alerts:?", "alerts:*", false)]
    [InlineData("a*b", "a*", false)]
    [InlineData("home", "home*", false)]
    public void A_token_pattern_covers_a_subscribed_pattern_only_when_it_surely_does(string own, string subscribed, bool covered)
    {
        var grant = new PublishGrant([Encoding.UTF8.GetBytes(own)]);

        Assert.Equal(covered, grant.AllowsPattern(subscribed));
    }
}
