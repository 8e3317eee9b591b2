using BenchmarkDotNet.Attributes;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;

namespace Notistream.Benchmarks;

/// <summary>PUBLISH through the registry to 0, 1 and N in-memory subscribers (encoding once into a pooled frame, fan-out by reference).</summary>
[MemoryDiagnoser]
public class PublishBenchmarks
{
    private readonly SubscriptionRegistry _registry = new();
    private readonly byte[] _message = new byte[64];

    [Params(0, 1, 50)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        for (var i = 0; i < Subscribers; i++)
        {
            _registry.Subscribe(new CountingSubscriber(), "channel"u8.ToArray(), shard: false);
        }
    }

    [Benchmark]
    public long Publish() => _registry.Publish("channel"u8, _message);

    private sealed class CountingSubscriber : ISubscriber
    {
        public long Bytes;

        public int Protocol => 2;

        /// <summary>Takes and gives back a reference, as a connection's queue does once the frame is written.</summary>
        public void Deliver(MessageFrame frame, DeliveryBatch? batch)
        {
            frame.AddRef();
            Bytes += frame.Length;
            frame.Release();
        }
    }
}
