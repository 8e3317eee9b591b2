using System.Text;
using System.Threading.Channels;
using Notistream.Gateway.Endpoints;
using Notistream.Gateway.Subscribing;

namespace Notistream.Gateway.Tests.Subscribing;

/// <summary>The HTTP writer loop on its own: how much it writes before it flushes (a flush is where Kestrel pushes back).</summary>
public sealed class SubscribePumpTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static SubscribeRequest Request() => new()
    {
        Topics = "steady", Channels = ["steady"], Patterns = [], Poll = false, Start = new SubscribeStart("0"),
        Filters = new SubscribeFilters(null, null, null, [], []),
    };

    [Fact]
    public async Task A_queue_that_never_runs_dry_is_still_flushed_every_64_KiB_or_so()
    {
        // A catch-up (or a steady stream) keeps the queue from running dry: 2,000 events of about 1 KiB waiting.
        var queue = Channel.CreateUnbounded<SubscriptionEvent>();
        var payload = Encoding.UTF8.GetBytes(new string('x', 1000));
        const int Events = 2000;
        for (var i = 0; i < Events; i++)
        {
            queue.Writer.TryWrite(SubscriptionEvent.Message($"1700000000000-{i}", "steady", null, payload));
        }

        queue.Writer.Complete();
        var encoder = new EventEncoder();
        long unflushed = 0, mostUnflushed = 0, written = 0;
        var delivered = 0;
        var flushes = 0;

        var reason = await SubscribeEndpoints.PumpEventsAsync(Request(), queue.Reader, () => "done", "0-0", "1700000000000-1999", TimeProvider.System,
            TimeSpan.FromSeconds(30), () => delivered++,
            message =>
            {
                var length = encoder.Encode("json", message).Length;
                unflushed += length;
                written += length;
                return ValueTask.FromResult(length);
            },
            _ =>
            {
                mostUnflushed = Math.Max(mostUnflushed, unflushed);
                unflushed = 0;
                flushes++;
                return Task.CompletedTask;
            }, Ct);

        Assert.Equal(("done", Events), (reason, delivered));
        Assert.Equal(0, unflushed);
        // Kestrel's pipe holds what is written and not flushed without bound: never much more than 64 KiB of it.
        Assert.InRange(mostUnflushed, 1, SubscribeEndpoints.FlushBytes + 2048);
        Assert.True(flushes >= written / (SubscribeEndpoints.FlushBytes + 2048), $"{flushes} flushes for {written} bytes");
    }

    [Fact]
    public async Task Small_events_are_flushed_at_least_every_so_many()
    {
        var queue = Channel.CreateUnbounded<SubscriptionEvent>();
        for (var i = 0; i < 1000; i++)
        {
            queue.Writer.TryWrite(SubscriptionEvent.Message($"1700000000000-{i}", "steady", null, "x"u8.ToArray()));
        }

        queue.Writer.Complete();
        int sinceFlush = 0, mostSinceFlush = 0;
        await SubscribeEndpoints.PumpEventsAsync(Request(), queue.Reader, () => "done", null, null, TimeProvider.System, TimeSpan.FromSeconds(30), () => { },
            _ =>
            {
                sinceFlush++;
                return ValueTask.FromResult(100);
            },
            _ =>
            {
                mostSinceFlush = Math.Max(mostSinceFlush, sinceFlush);
                sinceFlush = 0;
                return Task.CompletedTask;
            }, Ct);

        Assert.InRange(mostSinceFlush, 1, SubscribeEndpoints.FlushEvents);
    }
}
