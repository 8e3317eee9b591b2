using System.Text;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Tests.PubSub;

public class SubscriptionRegistryTests
{
    private sealed class Sink(int protocol) : ISubscriber
    {
        public List<MessageFrame> Frames { get; } = [];

        public IEnumerable<string> Texts => Frames.Select(f => Encoding.ASCII.GetString(f.Span));

        public int Protocol => protocol;

        /// <summary>Keeps the frame as a connection's queue would: with a reference of its own.</summary>
        public void Deliver(MessageFrame frame, DeliveryBatch? batch)
        {
            frame.AddRef();
            Frames.Add(frame);
        }
    }

    [Fact]
    public void Publish_counts_receivers_as_Redis_and_shares_one_encoding_per_protocol()
    {
        var registry = new SubscriptionRegistry();
        var a = new Sink(2);
        var b = new Sink(2);
        var c = new Sink(3);
        registry.Subscribe(a, "news"u8.ToArray(), shard: false);
        registry.Subscribe(b, "news"u8.ToArray(), shard: false);
        registry.Subscribe(c, "news"u8.ToArray(), shard: false);
        registry.SubscribePattern(a, "n*"u8.ToArray());
        registry.SubscribePattern(a, "ne?s"u8.ToArray());

        Assert.Equal(5, registry.Publish("news"u8, "hi"u8));
        Assert.Same(a.Frames[0], b.Frames[0]);
        Assert.Equal("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n", a.Texts.First());
        Assert.Equal(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n", c.Texts.First());
        Assert.Contains("*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n", a.Texts);
        Assert.Equal(3, a.Frames.Count);

        // The publisher gave its own reference back; each frame is held once per queue that kept it.
        Assert.Equal(2, a.Frames[0].References);
        Assert.Equal(1, c.Frames[0].References);
    }

    [Fact]
    public void Unsubscribing_the_last_subscriber_removes_the_channel_and_pattern()
    {
        var registry = new SubscriptionRegistry();
        var a = new Sink(2);
        registry.Subscribe(a, "x"u8.ToArray(), false);
        registry.SubscribePattern(a, "x*"u8.ToArray());
        Assert.Equal(1, registry.ChannelCount);
        Assert.Equal(1, registry.PatternCount);
        registry.Unsubscribe(a, "x"u8.ToArray(), false);
        registry.UnsubscribePattern(a, "x*"u8.ToArray());
        Assert.Equal(0, registry.ChannelCount);
        Assert.Equal(0, registry.PatternCount);
        Assert.Equal(0, registry.Publish("x"u8, "m"u8));
        Assert.Empty(a.Frames);
    }

    [Fact]
    public void Shard_channels_are_separate_and_ignore_patterns()
    {
        var registry = new SubscriptionRegistry();
        var a = new Sink(2);
        registry.Subscribe(a, "s"u8.ToArray(), shard: true);
        registry.SubscribePattern(a, "*"u8.ToArray());
        Assert.Equal(1, registry.PublishShard("s"u8, "m"u8));
        Assert.Equal("*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nm\r\n", a.Texts.Single());
        Assert.Equal(1, registry.Publish("s"u8, "m"u8)); // only the pattern
    }
}
