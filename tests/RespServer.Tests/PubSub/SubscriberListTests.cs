using CsCheck;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Tests.PubSub;

public class SubscriberListTests
{
    private sealed class Sink : ISubscriber
    {
        public int Protocol => 2;

        public void Deliver(MessageFrame frame, DeliveryBatch? batch)
        {
        }
    }

    [Fact]
    public void Every_array_a_publisher_may_hold_has_each_subscriber_at_most_once_and_the_current_one_exactly_the_live_ones()
    {
        // (subscriber, subscribe?) steps over a few subscribers, so that leaving and coming back is common.
        Gen.Select(Gen.Int[0, 5], Gen.Bool).Array[1, 200].Sample(steps =>
        {
            var pool = Enumerable.Range(0, 6).Select(_ => new Sink()).ToArray();
            var list = new SubscriberList();
            var live = new HashSet<ISubscriber>();
            var held = new List<ISubscriber?[]>();
            foreach (var (index, subscribe) in steps)
            {
                held.Add(list.Snapshot);
                if (subscribe)
                {
                    list.Add(pool[index]);
                    live.Add(pool[index]);
                }
                else
                {
                    Assert.Equal(live.Remove(pool[index]), list.Remove(pool[index]));
                }

                Assert.Equal(live.Count, list.Count);
                Assert.True(live.SetEquals(list.Snapshot.OfType<ISubscriber>()));
                foreach (var array in held.Append(list.Snapshot))
                {
                    var present = array.OfType<ISubscriber>().ToList();
                    Assert.Equal(present.Count, present.Distinct().Count());
                }
            }
        });
    }

    [Fact]
    public void A_long_standing_subscriber_stays_in_every_array_while_others_come_and_go()
    {
        var list = new SubscriberList();
        var steady = new Sink();
        list.Add(steady);
        var others = Enumerable.Range(0, 1000).Select(_ => new Sink()).ToArray();
        foreach (var other in others)
        {
            list.Add(other);
            Assert.Contains(steady, list.Snapshot);
        }

        foreach (var other in others)
        {
            list.Remove(other);
            Assert.Contains(steady, list.Snapshot);
        }

        Assert.Equal(1, list.Count);
        Assert.True(list.Snapshot.Length < 64, "the array did not shrink after the others left");
    }
}
