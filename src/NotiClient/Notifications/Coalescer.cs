namespace Notistream.Client.Notifications;

/// <summary>When a burst on a channel is folded into one notification. Defaults: more than 3 a second is a burst.</summary>
internal sealed record CoalescingOptions
{
    public static CoalescingOptions Default { get; } = new();

    /// <summary>Notifications a channel may raise one by one within <see cref="Window"/>. Default 3.</summary>
    public int MaxPerWindow { get; init; } = 3;

    /// <summary>Default 1 s.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A held burst is shown once the channel has been quiet this long. Default 1 s.</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>During a continuous storm, a summary at most this long after its first held message. Default 5 s.</summary>
    public TimeSpan MaxHold { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Per channel: the first few notifications in a window are shown as they come; past that, messages
/// are held and shown as one summary (<c>12 new messages on owner/repo, latest: …</c>) when the
/// channel goes quiet, or every <see cref="CoalescingOptions.MaxHold"/> while the storm goes on.
/// Pure logic, time passed in; used by one thread (the notification sink).
/// </summary>
internal sealed class Coalescer
{
    private readonly CoalescingOptions _options;
    private readonly Dictionary<string, ChannelState> _channels = new(StringComparer.Ordinal);

    public Coalescer(CoalescingOptions? options = null)
    {
        _options = options ?? CoalescingOptions.Default;
    }

    /// <summary>Messages that went into a summary instead of a notification of their own.</summary>
    public long CoalescedMessages { get; private set; }

    public long Summaries { get; private set; }

    /// <summary>When <see cref="Flush"/> next has something to show; null when nothing is held.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            DateTimeOffset? next = null;
            foreach (var state in _channels.Values)
            {
                if (state.PendingCount > 0 && (next is null || Due(state) < next))
                {
                    next = Due(state);
                }
            }

            return next;
        }
    }

    /// <returns>The notification to show now, or null when it is held for a summary.</returns>
    public Notification? Add(Notification notification, DateTimeOffset now)
    {
        if (!_channels.TryGetValue(notification.Channel, out var state))
        {
            state = new ChannelState();
            _channels.Add(notification.Channel, state);
        }

        while (state.Shown.Count > 0 && now - state.Shown.Peek() >= _options.Window)
        {
            state.Shown.Dequeue();
        }

        if (state.Hot && now - state.LastArrival >= _options.QuietPeriod)
        {
            state.Hot = false;
        }

        state.LastArrival = now;
        if (!state.Hot && state.PendingCount == 0 && state.Shown.Count < _options.MaxPerWindow)
        {
            state.Shown.Enqueue(now);
            return notification;
        }

        if (state.PendingCount == 0)
        {
            state.FirstPending = now;
            state.MaxUrgency = notification.Urgency;
        }

        state.PendingCount++;
        state.Latest = notification;
        state.MaxUrgency = (Urgency)Math.Max((int)state.MaxUrgency, (int)notification.Urgency);
        return null;
    }

    /// <summary>The summaries (or single held notifications) that are due at <paramref name="now"/>.</summary>
    public IReadOnlyList<Notification> Flush(DateTimeOffset now)
    {
        List<Notification>? due = null;
        foreach (var (channel, state) in _channels)
        {
            if (state.PendingCount == 0 || Due(state) > now)
            {
                continue;
            }

            var latest = state.Latest!;
            Notification shown;
            if (state.PendingCount == 1)
            {
                shown = latest;
            }
            else
            {
                shown = Summarize(channel, state.PendingCount, latest, state.MaxUrgency);
                CoalescedMessages += state.PendingCount;
                Summaries++;
            }

            (due ??= []).Add(shown);
            state.Shown.Enqueue(now);
            // Still storming (flushed because of MaxHold, not quiet): keep holding what comes next.
            state.Hot = now - state.LastArrival < _options.QuietPeriod;
            state.PendingCount = 0;
            state.Latest = null;
        }

        return due ?? (IReadOnlyList<Notification>)[];
    }

    public static Notification Summarize(string channel, int count, Notification latest, Urgency urgency)
    {
        var latestText = latest.Title != channel ? $"{latest.Title}: {latest.Body}" : latest.Body;
        var title = TextSanitizer.SingleLine(channel, MessageRenderer.MaxTitleLength);
        var body = TextSanitizer.MultiLine($"{count} new messages on {channel}, latest: {latestText}", MessageRenderer.MaxBodyLength, MessageRenderer.MaxBodyLines);
        return new Notification(title, body, urgency, channel);
    }

    private DateTimeOffset Due(ChannelState state)
    {
        var quiet = state.LastArrival + _options.QuietPeriod;
        var hold = state.FirstPending + _options.MaxHold;
        return quiet < hold ? quiet : hold;
    }

    private sealed class ChannelState
    {
        public Queue<DateTimeOffset> Shown { get; } = new();

        public int PendingCount { get; set; }

        public Notification? Latest { get; set; }

        public Urgency MaxUrgency { get; set; }

        public DateTimeOffset FirstPending { get; set; }

        public DateTimeOffset LastArrival { get; set; }

        public bool Hot { get; set; }
    }
}
