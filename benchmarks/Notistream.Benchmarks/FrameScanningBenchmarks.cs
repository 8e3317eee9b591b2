using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Notistream.RespServer.Protocol;

namespace Notistream.Benchmarks;

/// <summary>Framing requests out of input as the read loop does: one PING, and 100 pipelined PUBLISH.</summary>
[MemoryDiagnoser]
public class FrameScanningBenchmarks
{
    private readonly RequestScanner _scanner = new();
    private ReadOnlySequence<byte> _ping;
    private ReadOnlySequence<byte> _pipelined;

    [GlobalSetup]
    public void Setup()
    {
        _ping = new ReadOnlySequence<byte>("*1\r\n$4\r\nPING\r\n"u8.ToArray());
        var publish = $"*3\r\n$7\r\nPUBLISH\r\n$7\r\nchannel\r\n$64\r\n{new string('x', 64)}\r\n";
        _pipelined = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(publish, 100))));
    }

    [Benchmark]
    public long Ping()
    {
        _scanner.Scan(_ping, authRequired: false);
        var length = _scanner.FrameLength;
        _scanner.Reset();
        return length;
    }

    [Benchmark(OperationsPerInvoke = 100)]
    public int PipelinedPublish()
    {
        var buffer = _pipelined;
        var frames = 0;
        while (_scanner.Scan(buffer, authRequired: false) == ScanStatus.Request)
        {
            buffer = buffer.Slice(_scanner.FrameLength);
            _scanner.Reset();
            frames++;
        }

        return frames;
    }
}
