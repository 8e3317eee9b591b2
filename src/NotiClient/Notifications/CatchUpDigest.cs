namespace Notistream.Client.Notifications;

/// <summary>
/// What was published while the client was away, per channel, until the catch-up is over: then a
/// channel with a few messages shows each, and one with more shows one digest
/// (<c>23 messages on owner/repo while you were away; latest: …</c>) instead of a storm of
/// notifications. Pure logic; used by one thread (the notification sink).
/// </summary>
internal sealed class CatchUpDigest
{
    private readonly int _maxSingles;
    private readonly List<string> _order = [];
    private readonly Dictionary<string, Held> _channels = new(StringComparer.Ordinal);

    /// <param name="maxSingles">A channel with up to this many missed messages shows them one by one.</param>
    public CatchUpDigest(int maxSingles = 3)
    {
        _maxSingles = Math.Max(1, maxSingles);
    }

    public bool IsEmpty => _order.Count == 0;

    /// <summary>Digests shown so far.</summary>
    public long Digests { get; private set; }

    /// <summary>Messages that went into a digest.</summary>
    public long DigestedMessages { get; private set; }

    public void Add(Notification notification)
    {
        if (!_channels.TryGetValue(notification.Channel, out var held))
        {
            held = new Held();
            _channels.Add(notification.Channel, held);
            _order.Add(notification.Channel);
        }

        held.Count++;
        held.Latest = notification;
        held.Urgency = (Urgency)Math.Max((int)held.Urgency, (int)notification.Urgency);
        if (held.Count <= _maxSingles)
        {
            held.Singles.Add(notification);
        }
    }

    /// <summary>What to show now that the catch-up is over, channel by channel in the order they first came; empties the digest.</summary>
    public IReadOnlyList<(string Channel, IReadOnlyList<Notification> Show)> Flush()
    {
        var result = new List<(string, IReadOnlyList<Notification>)>(_order.Count);
        foreach (var channel in _order)
        {
            var held = _channels[channel];
            if (held.Count <= _maxSingles)
            {
                result.Add((channel, held.Singles));
            }
            else
            {
                result.Add((channel, [Summarize(channel, held.Count, held.Latest!, held.Urgency)]));
                Digests++;
                DigestedMessages += held.Count;
            }
        }

        _order.Clear();
        _channels.Clear();
        return result;
    }

    public static Notification Summarize(string channel, long count, Notification latest, Urgency urgency)
    {
        var latestText = latest.Title != channel ? $"{latest.Title}: {latest.Body}" : latest.Body;
        var title = TextSanitizer.SingleLine(channel, MessageRenderer.MaxTitleLength);
        var body = TextSanitizer.MultiLine($"{count} messages on {channel} while you were away; latest: {latestText}", MessageRenderer.MaxBodyLength, MessageRenderer.MaxBodyLines);
        return new Notification(title, body, urgency, channel, latest.Url);
    }

    private sealed class Held
    {
        public long Count { get; set; }

        public Notification? Latest { get; set; }

        public Urgency Urgency { get; set; }

        public List<Notification> Singles { get; } = [];
    }
}
