using System.Threading.Channels;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>
/// The desktop output: renders each message, lets the <see cref="Coalescer"/> fold bursts, and shows
/// the result one at a time. Wakes for a new message or for the next held summary, whichever is first.
/// </summary>
internal sealed class NotificationSink : IMessageSink
{
    private readonly INotifier _notifier;
    private readonly Coalescer _coalescer;
    private readonly TimeProvider _time;
    private readonly Action<string> _report;

    public NotificationSink(INotifier notifier, Coalescer coalescer, Action<string> report, TimeProvider? time = null)
    {
        _notifier = notifier;
        _coalescer = coalescer;
        _report = report;
        _time = time ?? TimeProvider.System;
    }

    public string Name => "desktop notifications";

    public long Shown { get; private set; }

    public long Failed { get; private set; }

    public Coalescer Coalescer => _coalescer;

    public async Task RunAsync(ChannelReader<IncomingMessage> reader, CancellationToken cancellationToken)
    {
        Task<bool>? waitToRead = null;
        while (true)
        {
            while (reader.TryRead(out var message))
            {
                if (_coalescer.Add(MessageRenderer.Render(message), _time.GetUtcNow()) is { } now)
                {
                    await ShowAsync(now, cancellationToken).ConfigureAwait(false);
                }
            }

            foreach (var due in _coalescer.Flush(_time.GetUtcNow()))
            {
                await ShowAsync(due, cancellationToken).ConfigureAwait(false);
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
        foreach (var held in _coalescer.Flush(DateTimeOffset.MaxValue))
        {
            await ShowAsync(held, cancellationToken).ConfigureAwait(false);
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
