using BenchmarkDotNet.Attributes;
using Notistream.RespServer.Protocol;

namespace Notistream.Benchmarks;

/// <summary>Writing replies with RespWriter into a connection's reply buffer, as commands do.</summary>
[MemoryDiagnoser]
public class RespWriterBenchmarks
{
    private readonly ReplyBuffer _buffer = new();
    private readonly byte[] _payload = new byte[64];

    [GlobalCleanup]
    public void Cleanup() => _buffer.Release();

    [Benchmark]
    public int Bulk64()
    {
        new RespWriter(_buffer, 2).WriteBulk(_payload);
        return Reset();
    }

    [Benchmark]
    public int SmallInteger()
    {
        new RespWriter(_buffer, 2).WriteInteger(42);
        return Reset();
    }

    [Benchmark]
    public int LargeInteger()
    {
        new RespWriter(_buffer, 2).WriteInteger(1_234_567_890);
        return Reset();
    }

    [Benchmark]
    public int PushAndArrayHeaders()
    {
        var writer = new RespWriter(_buffer, 3);
        writer.WritePushHeader(3);
        writer.WriteArrayHeader(2);
        return Reset();
    }

    /// <summary>A subscribe confirmation: push header, two bulks and an integer.</summary>
    [Benchmark]
    public int SubscribeConfirmation()
    {
        var writer = new RespWriter(_buffer, 3);
        writer.WritePushHeader(3);
        writer.WriteBulk("subscribe"u8);
        writer.WriteBulk("channel"u8);
        writer.WriteInteger(1);
        return Reset();
    }

    private int Reset()
    {
        var length = _buffer.Length;
        _buffer.Truncate(0);
        return length;
    }
}
