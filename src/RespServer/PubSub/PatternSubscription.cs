namespace Notistream.RespServer.PubSub;

/// <summary>
/// One pattern and the subscribers to it. The subscriber array is replaced, never changed in place,
/// under the registry's write lock; publishers read it without a lock.
/// </summary>
internal sealed class PatternSubscription(byte[] pattern)
{
    public byte[] Pattern { get; } = pattern;

    /// <summary>Length of the literal prefix: the bytes before the first glob metacharacter.</summary>
    public int PrefixLength { get; } = LiteralPrefixLength(pattern);

    public volatile ISubscriber[] Subscribers = [];

    public static int LiteralPrefixLength(ReadOnlySpan<byte> pattern)
    {
        var i = pattern.IndexOfAny("*?[\\"u8);
        return i < 0 ? pattern.Length : i;
    }
}
