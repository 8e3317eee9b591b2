using System.Threading.Channels;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>
/// The queue between the socket and one output. Bounded: when the output cannot keep up, either the
/// oldest waiting message is dropped and counted (<see cref="Post"/>: plain SUBSCRIBE, the reader
/// never blocks and memory stays flat), or the writer waits for room (<see cref="PostAsync"/>: with
/// history, the server holds what the client has not read yet).
/// Writers: the subscription (one or several pumps); reader: the one sink.
/// </summary>
internal sealed class BoundedMessageQueue
{
    public const int DefaultCapacity = 1000;

    private readonly Channel<IncomingMessage> _channel;
    private readonly Action<IncomingMessage>? _dropped;
    private readonly Lock _dropLock = new();
    private long _droppedCount;
    private volatile bool _completed;

    public BoundedMessageQueue(int capacity = DefaultCapacity, Action<IncomingMessage>? dropped = null)
    {
        _dropped = dropped;
        _channel = Channel.CreateBounded<IncomingMessage>(
            new BoundedChannelOptions(capacity)
            {
                FullMode = BoundedChannelFullMode.Wait,
                SingleReader = false, // Post takes the oldest out itself when full
                SingleWriter = false,
                AllowSynchronousContinuations = false,
            });
    }

    public long Dropped => Interlocked.Read(ref _droppedCount);

    public ChannelReader<IncomingMessage> Reader => _channel.Reader;

    public void Post(IncomingMessage message)
    {
        lock (_dropLock)
        {
            while (!_channel.Writer.TryWrite(message))
            {
                if (_completed)
                {
                    return;
                }

                if (_channel.Reader.TryRead(out var oldest))
                {
                    Interlocked.Increment(ref _droppedCount);
                    _dropped?.Invoke(oldest);
                }
            }
        }
    }

    public ValueTask PostAsync(IncomingMessage message, CancellationToken cancellationToken) =>
        _channel.Writer.WriteAsync(message, cancellationToken);

    public void Complete()
    {
        _completed = true;
        _channel.Writer.TryComplete();
    }
}
