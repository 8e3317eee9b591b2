namespace Notistream.Gateway.Subscribing;

/// <summary>
/// How many HTTP subscribers are connected, against <see cref="Options.SubscribeOptions.MaxSubscribers"/>.
/// Request threads enter and leave; the count is the only state and changes only through Interlocked.
/// </summary>
internal sealed class SubscriberLimit(int maximum)
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _count) <= maximum)
        {
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }

    public void Leave() => Interlocked.Decrement(ref _count);
}
