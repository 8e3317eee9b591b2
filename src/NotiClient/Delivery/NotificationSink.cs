using System.Threading.Channels;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>
/// The desktop output: renders each message, lets the <see cref="Coalescer"/> fold bursts, and shows
/// the result one at a time. Wakes for a new message or for the next held summary, whichever is first.
/// Messages from a catch-up (published while the client was away) are held in a <see cref="CatchUpDigest"/>
/// until the catch-up is over, then shown as one digest per channel; a gap in history is shown at once.
/// </summary>
internal sealed class NotificationSink : IMessageSink
{
    private readonly INotifier _notifier;
    private readonly Coalescer _coalescer;
    private readonly TimeProvider _time;
    private readonly Action<string> _report;
    private readonly CatchUpDigest _digest;
    private readonly Dictionary<string, List<IncomingMessage>> _coalesced = new(StringComparer.Ordinal);
    private readonly List<IncomingMessage> _digested = [];
    private Action<IncomingMessage> _delivered = static _ => { };

    public NotificationSink(INotifier notifier, Coalescer coalescer, Action<string> report, TimeProvider? time = null, CatchUpDigest? digest = null)
    {
        _notifier = notifier;
        _coalescer = coalescer;
        _report = report;
        _time = time ?? TimeProvider.System;
        _digest = digest ?? new CatchUpDigest();
    }

    public CatchUpDigest Digest => _digest;

    public string Name => "desktop notifications";

    public long Shown { get; private set; }

    public long Failed { get; private set; }

    public Coalescer Coalescer => _coalescer;

    public async Task RunAsync(ChannelReader<IncomingMessage> reader, Action<IncomingMessage> delivered, CancellationToken cancellationToken)
    {
        _delivered = delivered;
        Task<bool>? waitToRead = null;
        while (true)
        {
            while (reader.TryRead(out var message))
            {
                await TakeAsync(message, cancellationToken).ConfigureAwait(false);
            }

            foreach (var due in _coalescer.Flush(_time.GetUtcNow()))
            {
                await ShowHeldAsync(due, cancellationToken).ConfigureAwait(false);
            }

            waitToRead ??= reader.WaitToReadAsync(cancellationToken).AsTask();
            var nextDue = _coalescer.NextDue;
            if (nextDue is null)
            {
                if (!await waitToRead.ConfigureAwait(false))
                {
                    break;
                }

                waitToRead = null;
                continue;
            }

            var wait = nextDue.Value - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(wait, _time, timer.Token);
                if (await Task.WhenAny(waitToRead, delay).ConfigureAwait(false) == waitToRead)
                {
                    await timer.CancelAsync().ConfigureAwait(false);
                    if (!await waitToRead.ConfigureAwait(false))
                    {
                        break;
                    }

                    waitToRead = null;
                }
                else
                {
                    await delay.ConfigureAwait(false); // surfaces cancellation of the outer token
                }
            }
        }

        // The subscription ended: show what is still held rather than lose it.
        await ShowDigestAsync(cancellationToken).ConfigureAwait(false);
        foreach (var held in _coalescer.Flush(DateTimeOffset.MaxValue))
        {
            await ShowHeldAsync(held, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task TakeAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        switch (message.Kind)
        {
            case IncomingKind.CaughtUp:
                await ShowDigestAsync(cancellationToken).ConfigureAwait(false);
                return;
            case IncomingKind.Gap:
                var subject = TextSanitizer.SingleLine(message.Subject, MessageRenderer.MaxTitleLength);
                await ShowAsync(new Notification(subject, TextSanitizer.MultiLine(message.Payload, MessageRenderer.MaxBodyLength, MessageRenderer.MaxBodyLines), Urgency.Normal, message.Subject), cancellationToken).ConfigureAwait(false);
                _delivered(message);
                return;
        }

        if (message.CatchUp)
        {
            _digest.Add(MessageRenderer.Render(message));
            _digested.Add(message);
            return;
        }

        // A live message: whatever a catch-up still holds comes first.
        await ShowDigestAsync(cancellationToken).ConfigureAwait(false);
        if (_coalescer.Add(MessageRenderer.Render(message), _time.GetUtcNow()) is { } now)
        {
            await ShowAsync(now, cancellationToken).ConfigureAwait(false);
            _delivered(message);
        }
        else
        {
            if (!_coalesced.TryGetValue(message.Channel, out var held))
            {
                held = [];
                _coalesced.Add(message.Channel, held);
            }

            held.Add(message);
        }
    }

    private async Task ShowDigestAsync(CancellationToken cancellationToken)
    {
        if (_digest.IsEmpty)
        {
            return;
        }

        foreach (var (_, show) in _digest.Flush())
        {
            foreach (var notification in show)
            {
                await ShowAsync(notification, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var message in _digested)
        {
            _delivered(message);
        }

        _digested.Clear();
    }

    /// <summary>A summary (or a single held notification) the coalescer let out: every message it stands for is delivered.</summary>
    private async Task ShowHeldAsync(Notification notification, CancellationToken cancellationToken)
    {
        await ShowAsync(notification, cancellationToken).ConfigureAwait(false);
        if (_coalesced.Remove(notification.Channel, out var held))
        {
            foreach (var message in held)
            {
                _delivered(message);
            }
        }
    }

    private async Task ShowAsync(Notification notification, CancellationToken cancellationToken)
    {
        try
        {
            await _notifier.ShowAsync(notification, cancellationToken).ConfigureAwait(false);
            Shown++;
        }
        catch (NotifierException ex)
        {
            Failed++;
            if (Failed == 1 || Failed % 100 == 0)
            {
                _report($"{_notifier.Description} failed ({ex.Message}); {Failed} notification(s) not shown so far");
            }
        }
    }
}
