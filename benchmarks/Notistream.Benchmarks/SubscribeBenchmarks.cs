using BenchmarkDotNet.Attributes;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;

namespace Notistream.Benchmarks;

/// <summary>
/// Subscribing N clients to one channel and unsubscribing them all: the subscriber list against a
/// copy-on-write array (the obvious lock-free design, O(N²) for N subscribers).
/// </summary>
[MemoryDiagnoser]
public class SubscribeBenchmarks
{
    private ISubscriber[] _subscribers = [];

    [Params(100, 10_000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup() => _subscribers = [.. Enumerable.Range(0, Subscribers).Select(_ => new Sink())];

    [Benchmark]
    public int SubscriberList()
    {
        var list = new SubscriberList();
        foreach (var subscriber in _subscribers)
        {
            list.Add(subscriber);
        }

        var peak = list.Count;
        foreach (var subscriber in _subscribers)
        {
            list.Remove(subscriber);
        }

        return peak;
    }

    [Benchmark(Baseline = true)]
    public int CopyOnWriteArray()
    {
        ISubscriber[] array = [];
        foreach (var subscriber in _subscribers)
        {
            array = [.. array, subscriber];
        }

        var peak = array.Length;
        foreach (var subscriber in _subscribers)
        {
            var index = Array.IndexOf(array, subscriber);
            array = [.. array.AsSpan(0, index), .. array.AsSpan(index + 1)];
        }

        return peak;
    }

    private sealed class Sink : ISubscriber
    {
        public int Protocol => 2;

        public void Deliver(MessageFrame frame, DeliveryBatch? batch)
        {
        }
    }
}
