using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Notistream.RespServer.Tests.Performance;

namespace Notistream.Benchmarks;

/// <summary>
/// PING through the whole server path but the kernel: framed by the scanner, run through the command
/// table, the reply queued on the connection's output and written to a pipe by its writer.
/// Allocations count every thread, the writer's included.
/// </summary>
[MemoryDiagnoser]
public class PingBenchmarks
{
    private CommandHarness? _harness;
    private ReadOnlySequence<byte> _ping;
    private ReadOnlySequence<byte> _inline;
    private ReadOnlySequence<byte> _pipelined;

    [GlobalSetup]
    public void Setup()
    {
        _harness = CommandHarness.CreateAsync().GetAwaiter().GetResult();
        _ping = new ReadOnlySequence<byte>("*1\r\n$4\r\nPING\r\n"u8.ToArray());
        _inline = new ReadOnlySequence<byte>("PING\r\n"u8.ToArray());
        _pipelined = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("*1\r\n$4\r\nPING\r\n", 100))));
    }

    [GlobalCleanup]
    public void Cleanup() => _harness!.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public int Resp() => _harness!.Run(_ping);

    [Benchmark]
    public int Inline() => _harness!.Run(_inline);

    [Benchmark(OperationsPerInvoke = 100)]
    public int Pipelined100() => _harness!.Run(_pipelined);
}
