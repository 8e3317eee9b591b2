namespace Notistream.Gateway.Dashboard;

/// <summary>
/// What only the gateway knows, for <c>/dashboard</c>: HTTP subscribers now, by transport; HTTP subscribers cut
/// off as slow; and the last <see cref="DeliveriesKept"/> GitHub deliveries. Counters are interlocked; the ring
/// of deliveries is a fixed array under a lock held for a copy. Always registered (it costs a few words), so
/// the subscribe and GitHub routes never ask whether the dashboard is on.
/// </summary>
internal sealed class DashboardCounters
{
    /// <summary>How many GitHub deliveries the dashboard lists.</summary>
    public const int DeliveriesKept = 20;

    /// <summary>The longest text kept from a delivery's headers or payload (event, repository, id, channel).</summary>
    public const int MaxFieldLength = 140;

    private static readonly string[] _transports = ["json", "sse", "raw", "ws"];

    private readonly long[] _subscribers = new long[_transports.Length];
    private readonly GitHubDeliveryRecord?[] _deliveries = new GitHubDeliveryRecord?[DeliveriesKept];
    private readonly Lock _deliveriesGate = new();
    private long _deliveryCount;
    private long _cutOffs;
    private long _httpDelivered;

    public void SubscriberOpened(string transport) => Interlocked.Increment(ref _subscribers[Index(transport)]);

    public void SubscriberClosed(string transport) => Interlocked.Decrement(ref _subscribers[Index(transport)]);

    /// <summary>An HTTP subscriber the gateway ended because it did not keep up.</summary>
    public void SubscriberCutOff() => Interlocked.Increment(ref _cutOffs);

    /// <summary>A message written to an HTTP subscriber.</summary>
    public void MessageDelivered() => Interlocked.Increment(ref _httpDelivered);

    public long CutOffs => Interlocked.Read(ref _cutOffs);

    public long HttpDelivered => Interlocked.Read(ref _httpDelivered);

    public IReadOnlyDictionary<string, long> Subscribers()
    {
        var result = new Dictionary<string, long>(_transports.Length, StringComparer.Ordinal);
        for (var i = 0; i < _transports.Length; i++)
        {
            result[_transports[i]] = Interlocked.Read(ref _subscribers[i]);
        }

        return result;
    }

    public void GitHubDelivery(GitHubDeliveryRecord record)
    {
        lock (_deliveriesGate)
        {
            _deliveries[_deliveryCount % DeliveriesKept] = record;
            _deliveryCount++;
        }
    }

    /// <summary>The deliveries kept, newest first.</summary>
    public IReadOnlyList<GitHubDeliveryRecord> GitHubDeliveries()
    {
        lock (_deliveriesGate)
        {
            var count = (int)Math.Min(_deliveryCount, DeliveriesKept);
            var result = new GitHubDeliveryRecord[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = _deliveries[(_deliveryCount - 1 - i) % DeliveriesKept]!;
            }

            return result;
        }
    }

    /// <summary>Text from a request, cut to <see cref="MaxFieldLength"/> characters; null for none.</summary>
    public static string? Clip(string? text) => string.IsNullOrEmpty(text) ? null : text.Length <= MaxFieldLength ? text : text[..MaxFieldLength];

    private static int Index(string transport) => Array.IndexOf(_transports, transport) is var i and >= 0
        ? i
        : throw new ArgumentOutOfRangeException(nameof(transport), transport, "not a subscribe transport");
}

/// <summary>
/// One GitHub delivery as the dashboard lists it. <paramref name="Verification"/> is the metrics' label
/// (verified, bad_signature, missing_signature, missing_secret, too_large); <paramref name="Repository"/> and
/// <paramref name="Channel"/> are known only for a verified delivery that was published or acknowledged.
/// </summary>
internal sealed record GitHubDeliveryRecord(DateTimeOffset Time, string? Event, string? Repository, string? Delivery,
    string Verification, string? Channel, int Status);
