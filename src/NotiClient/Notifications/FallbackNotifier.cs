namespace Notistream.Client.Notifications;

/// <summary>
/// Shows through the desktop backend; when that fails, shows the notification on the console instead
/// and says why once (and once more when the backend works again), so nothing is lost and the
/// terminal is not flooded. Used by one thread (the notification sink).
/// </summary>
internal sealed class FallbackNotifier : INotifier
{
    private readonly INotifier _primary;
    private readonly INotifier _fallback;
    private readonly Action<string> _report;
    private bool _failing;

    public FallbackNotifier(INotifier primary, INotifier fallback, Action<string> report)
    {
        _primary = primary;
        _fallback = fallback;
        _report = report;
    }

    public string Description => _primary.Description;

    public long Failures { get; private set; }

    public async Task ShowAsync(Notification notification, CancellationToken cancellationToken)
    {
        try
        {
            await _primary.ShowAsync(notification, cancellationToken).ConfigureAwait(false);
            if (_failing)
            {
                _failing = false;
                _report($"{_primary.Description} works again");
            }
        }
        catch (NotifierException ex)
        {
            Failures++;
            if (!_failing)
            {
                _failing = true;
                _report($"{_primary.Description} failed ({ex.Message}); showing notifications on the console until it works");
            }

            await _fallback.ShowAsync(notification, cancellationToken).ConfigureAwait(false);
        }
    }
}
