using Notistream.Gateway.GitHub;

namespace Notistream.Gateway.Tests.GitHub;

public sealed class DeliveryDeduplicatorTests
{
    [Fact]
    public void Published_delivery_is_a_duplicate_and_one_in_progress_is_reported_as_such()
    {
        var deliveries = new DeliveryDeduplicator(10);

        Assert.Equal(DeliveryClaim.Claimed, deliveries.TryClaim("a"));
        Assert.Equal(DeliveryClaim.InProgress, deliveries.TryClaim("a"));
        deliveries.Published("a");
        Assert.Equal(DeliveryClaim.AlreadyPublished, deliveries.TryClaim("a"));
    }

    [Fact]
    public void Abandoned_delivery_can_be_claimed_again()
    {
        var deliveries = new DeliveryDeduplicator(10);

        Assert.Equal(DeliveryClaim.Claimed, deliveries.TryClaim("a"));
        deliveries.Abandon("a");
        Assert.Equal(DeliveryClaim.Claimed, deliveries.TryClaim("a"));
    }

    [Fact]
    public void Remembers_only_the_most_recent_ids()
    {
        var deliveries = new DeliveryDeduplicator(3);
        foreach (var id in new[] { "a", "b", "c", "d" })
        {
            Assert.Equal(DeliveryClaim.Claimed, deliveries.TryClaim(id));
            deliveries.Published(id);
        }

        Assert.Equal(DeliveryClaim.Claimed, deliveries.TryClaim("a"));
        Assert.Equal(DeliveryClaim.AlreadyPublished, deliveries.TryClaim("d"));
    }

    [Fact]
    public void A_stale_queue_entry_of_an_abandoned_id_does_not_evict_its_new_claim()
    {
        var deliveries = new DeliveryDeduplicator(2);
        deliveries.TryClaim("a");
        deliveries.Abandon("a");
        deliveries.TryClaim("a");
        deliveries.Published("a");
        // Queue now holds a(old), a(new); adding b pushes out only the old entry.
        deliveries.TryClaim("b");

        Assert.Equal(DeliveryClaim.AlreadyPublished, deliveries.TryClaim("a"));
    }

    [Fact]
    public async Task Concurrent_claims_of_one_id_let_exactly_one_through()
    {
        var deliveries = new DeliveryDeduplicator(100);
        using var start = new Barrier(8);
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait(TestContext.Current.CancellationToken);
            return deliveries.TryClaim("same");
        }, TestContext.Current.CancellationToken)));

        Assert.Single(claims, c => c == DeliveryClaim.Claimed);
    }
}
