namespace Notistream.Gateway.GitHub;

internal enum DeliveryClaim
{
    /// <summary>First time this delivery id is seen: the caller publishes, then calls <see cref="DeliveryDeduplicator.Published"/> or <see cref="DeliveryDeduplicator.Abandon"/>.</summary>
    Claimed,

    /// <summary>A delivery with this id was published already (GitHub redelivered it).</summary>
    AlreadyPublished,

    /// <summary>Another request is publishing this delivery right now.</summary>
    InProgress,
}

/// <summary>
/// Remembers the last <c>capacity</c> <c>X-GitHub-Delivery</c> ids, so a redelivery is answered
/// 200 without publishing twice. A delivery whose publish failed is forgotten, so GitHub's
/// redelivery of it publishes.
/// <para>Concurrency: request threads call every method; <c>_gate</c> protects both collections.</para>
/// </summary>
internal sealed class DeliveryDeduplicator(int capacity)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (bool Published, long Claim)> _deliveries = new(StringComparer.Ordinal);
    private readonly Queue<(string Delivery, long Claim)> _order = new();
    private long _claims;

    public DeliveryClaim TryClaim(string delivery)
    {
        lock (_gate)
        {
            if (_deliveries.TryGetValue(delivery, out var entry))
            {
                return entry.Published ? DeliveryClaim.AlreadyPublished : DeliveryClaim.InProgress;
            }

            var claim = ++_claims;
            _deliveries[delivery] = (false, claim);
            _order.Enqueue((delivery, claim));
            while (_order.Count > capacity && _order.TryDequeue(out var oldest))
            {
                // An abandoned and re-claimed id has a newer claim number: only its own entry goes.
                if (_deliveries.TryGetValue(oldest.Delivery, out var current) && current.Claim == oldest.Claim)
                {
                    _deliveries.Remove(oldest.Delivery);
                }
            }

            return DeliveryClaim.Claimed;
        }
    }

    public void Published(string delivery)
    {
        lock (_gate)
        {
            if (_deliveries.TryGetValue(delivery, out var entry))
            {
                _deliveries[delivery] = (true, entry.Claim);
            }
        }
    }

    public void Abandon(string delivery)
    {
        lock (_gate)
        {
            // Its queue entry stays behind and is skipped when it reaches the front.
            if (_deliveries.TryGetValue(delivery, out var entry) && !entry.Published)
            {
                _deliveries.Remove(delivery);
            }
        }
    }
}
