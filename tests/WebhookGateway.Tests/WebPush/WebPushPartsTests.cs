using System.Text;
using System.Text.Json;
using Lib.Net.Http.WebPush;
using Notistream.Gateway.WebPush;

namespace Notistream.Gateway.Tests.WebPush;

/// <summary>The parts of Web Push that need no server: the per-registration queue, the payload and its decoding.</summary>
public sealed class WebPushPartsTests
{
    private static IncomingMessage Message(string channel, string text) => new(channel, Encoding.UTF8.GetBytes(text), channel, DateTimeOffset.UtcNow);

    [Fact]
    public void A_full_queue_drops_the_oldest_and_the_next_push_on_its_channel_counts_it()
    {
        var queue = new SubscriptionQueue("https://push.example.com/1", capacity: 2);
        Assert.True(queue.Offer(Message("alerts", "1")));   // hands the queue to the senders once
        Assert.False(queue.Offer(Message("alerts", "2")));
        Assert.False(queue.Offer(Message("alerts", "3")));  // drops "1"

        Assert.True(queue.TryTake(out var first, out var missed));
        Assert.Equal(("2", 1), (Encoding.UTF8.GetString(first.Message.Payload), missed));

        queue.Failed(first, missed);                         // "2" given up: it and the one before count
        Assert.True(queue.TryTake(out var second, out missed));
        Assert.Equal(("3", 2), (Encoding.UTF8.GetString(second.Message.Payload), missed));

        Assert.False(queue.TryTake(out _, out _));           // empty: unscheduled, so the next offer hands it over again
        Assert.True(queue.Offer(Message("alerts", "4")));
        queue.Close();
        Assert.False(queue.TryTake(out _, out _));
        Assert.False(queue.Offer(Message("alerts", "5")));
    }

    [Fact]
    public void A_payload_never_passes_what_one_aes128gcm_record_of_4096_bytes_holds()
    {
        var fields = new NotificationFields(string.Concat(Enumerable.Repeat("€\"\n😀", 3000)), new string('t', 5000), 4, ["a", "b"], "https://example.com", null);
        var bytes = PushPayload.Build("alerts", DateTimeOffset.UtcNow, fields, missed: 7);

        Assert.InRange(bytes.Length, 3000, PushPayload.MaxPlaintextBytes);
        var payload = JsonDocument.Parse(bytes).RootElement;
        Assert.EndsWith("…", payload.GetProperty("message").GetString()!, StringComparison.Ordinal);
        Assert.Equal(7, payload.GetProperty("missed").GetInt32());
        Assert.Equal(4, payload.GetProperty("priority").GetInt32());
    }

    [Theory]
    [InlineData("""{"message":"m","priority":1}""", "m", PushMessageUrgency.VeryLow)]
    [InlineData("""{"message":"m","priority":2,"markdown":true}""", "m", PushMessageUrgency.Low)]
    [InlineData("""{"message":"m","priority":4}""", "m", PushMessageUrgency.High)]
    [InlineData("""{"message":"m","priority":6}""", """{"message":"m","priority":6}""", PushMessageUrgency.Normal)]
    [InlineData("""{"message":"m","extra":1}""", """{"message":"m","extra":1}""", PushMessageUrgency.Normal)]
    [InlineData("""{"message":5}""", """{"message":5}""", PushMessageUrgency.Normal)]
    [InlineData("""{"message":"a","message":"b"}""", """{"message":"a","message":"b"}""", PushMessageUrgency.Normal)]
    [InlineData("plain text", "plain text", PushMessageUrgency.Normal)]
    public void The_shared_payload_contract_gives_fields_and_anything_else_is_text(string payload, string message, PushMessageUrgency urgency)
    {
        var fields = NotificationFields.Decode(Encoding.UTF8.GetBytes(payload));
        Assert.Equal((message, urgency), (fields.Message, fields.Urgency));
    }
}
