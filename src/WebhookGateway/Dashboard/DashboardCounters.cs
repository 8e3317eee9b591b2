namespace Notistream.Gateway.Dashboard;

/// <summary>
/// What only the gateway knows, for <c>/dashboard</c>: HTTP subscribers now, by transport; HTTP subscribers cut
/// off as slow; the last <see cref="DeliveriesKept"/> GitHub deliveries whose signature verified, and how many
/// were refused unverified (those are only counted: their headers are anyone's to choose). Counters are interlocked; the ring
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
    private long _gitHubRejected;

    public void SubscriberOpened(string transport) => Interlocked.Increment(ref _subscribers[Index(transport)]);

    public void SubscriberClosed(string transport) => Interlocked.Decrement(ref _subscribers[Index(transport)]);

    /// <summary>An HTTP subscriber the gateway ended because it did not keep up.</summary>
    public void SubscriberCutOff() => Interlocked.Increment(ref _cutOffs);

    /// <summary>A message written to an HTTP subscriber.</summary>
    public void MessageDelivered() => Interlocked.Increment(ref _httpDelivered);

    public long CutOffs => Interlocked.Read(ref _cutOffs);

    /// <summary>A GitHub delivery refused before its signature verified (bad or missing signature, no secret, too large).</summary>
    public void GitHubRejected() => Interlocked.Increment(ref _gitHubRejected);

    /// <summary>GitHub deliveries refused unverified since the gateway started.</summary>
    public long GitHubRejectedCount => Interlocked.Read(ref _gitHubRejected);

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

    /// <summary>Lists a delivery whose signature verified (the caller counts the others with <see cref="GitHubRejected"/>).</summary>
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
/// One GitHub delivery as the dashboard lists it: only verified ones are listed, so <paramref name="Verification"/>
/// (the metrics' label) is <c>verified</c>; <paramref name="Repository"/> and <paramref name="Channel"/> are known
/// for one that was published or acknowledged.
/// </summary>
internal sealed record GitHubDeliveryRecord(DateTimeOffset Time, string? Event, string? Repository, string? Delivery,
    string Verification, string? Channel, int Status);
