using System.Threading.Channels;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>
/// The queue between the socket and one output. Bounded: when the output cannot keep up, the oldest
/// waiting message is dropped and counted, so the reader never blocks and memory stays flat.
/// Writers: the subscription pumps (several); reader: the one sink.
/// </summary>
internal sealed class BoundedMessageQueue
{
    public const int DefaultCapacity = 1000;

    private readonly Channel<IncomingMessage> _channel;
    private long _dropped;

    public BoundedMessageQueue(int capacity = DefaultCapacity)
    {
        _channel = Channel.CreateBounded<IncomingMessage>(
            new BoundedChannelOptions(capacity)
            {
                FullMode = BoundedChannelFullMode.DropOldest,
                SingleReader = true,
                SingleWriter = false,
                AllowSynchronousContinuations = false,
            },
            _ => Interlocked.Increment(ref _dropped));
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    public ChannelReader<IncomingMessage> Reader => _channel.Reader;

    public void Post(IncomingMessage message) => _channel.Writer.TryWrite(message);

    public void Complete() => _channel.Writer.TryComplete();
}
