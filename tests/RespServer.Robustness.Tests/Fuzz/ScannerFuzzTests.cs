using System.Buffers;
using System.Diagnostics;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Robustness.Tests.Fuzz;

/// <summary>
/// The frame scanner driven as the read loop drives it, over fuzzed input fed in random pieces:
/// it never throws, every step either consumes bytes or asks for more, a protocol error is one of
/// Redis's texts, and a valid frame yields exactly its arguments however it was split.
/// </summary>
public sealed class ScannerFuzzTests
{
    [Fact]
    public void Fuzzed_input_in_random_pieces_is_framed_or_refused_with_a_protocol_error_never_an_exception_or_a_stall()
    {
        var seed = FuzzInput.Seed();
        TestContext.Current.TestOutputHelper?.WriteLine($"seed {seed} (replay: NOTISTREAM_FUZZ_SEED={seed})");
        var random = new Random(seed);
        var watch = Stopwatch.StartNew();
        var budget = TimeSpan.FromSeconds(FuzzInput.Seconds(20) / 4.0);
        var cases = 0;
        while (watch.Elapsed < budget)
        {
            cases++;
            var valid = random.Next(3) == 0;
            string[] args = [];
            var input = valid ? FuzzInput.ValidFrame(random, out args) : FuzzInput.Garbage(random);
            var authRequired = random.Next(4) == 0;
            try
            {
                Run(input, FuzzInput.Cuts(random, input.Length), authRequired, valid ? args : null);
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}, case {cases}, authRequired={authRequired}: {Escape(input)}\n{ex}");
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{cases} cases in {watch.Elapsed.TotalSeconds:0.0} s");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(100_000)]
    public void Deep_nesting_is_refused_at_the_first_inner_header(int depth)
    {
        var input = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("*1\r\n", depth + 1)) + "$4\r\nPING\r\n");
        var scanner = new RequestScanner();
        Assert.Equal(ScanStatus.ProtocolError, scanner.Scan(new ReadOnlySequence<byte>(input), authRequired: false));
        Assert.Equal("Protocol error: expected '$', got '*'", scanner.Error);
    }

    /// <summary>Feeds <paramref name="input"/> cut at <paramref name="cuts"/>, as reads would deliver it.</summary>
    private static void Run(byte[] input, int[] cuts, bool authRequired, string[]? expected)
    {
        var scanner = new RequestScanner { ProtoMaxBulkLength = 1024 * 1024 };
        var frameStart = 0;
        var available = 0;
        var pieces = new Queue<int>(cuts.Append(input.Length));
        var frames = new List<string[]>();
        while (true)
        {
            var status = scanner.Scan(new ReadOnlySequence<byte>(input, frameStart, available - frameStart), authRequired);
            switch (status)
            {
                case ScanStatus.Incomplete:
                    if (pieces.Count == 0)
                    {
                        // EOF with a partial frame: never more than a header line or a bulk's declared size.
                        Assert.InRange(available - frameStart, 0, RequestScanner.InlineMaxSize + scanner.ProtoMaxBulkLength + 64);
                        Assert.Null(expected);
                        return;
                    }

                    available = pieces.Dequeue();
                    break;
                case ScanStatus.ProtocolError:
                    Assert.StartsWith("Protocol error: ", scanner.Error, StringComparison.Ordinal);
                    Assert.Null(expected);
                    return;
                default:
                    Assert.InRange(scanner.FrameLength, 1, available - frameStart);
                    if (status == ScanStatus.Request)
                    {
                        var span = scanner.IsInline ? scanner.InlineBytes : input.AsSpan(frameStart);
                        var args = new string[scanner.Slots.Length];
                        for (var i = 0; i < args.Length; i++)
                        {
                            var slot = scanner.Slots[i];
                            args[i] = System.Text.Encoding.Latin1.GetString(span.Slice(slot.Offset, slot.Length));
                        }

                        frames.Add(args);
                    }

                    frameStart += (int)scanner.FrameLength;
                    scanner.Reset();
                    if (frameStart == input.Length)
                    {
                        if (expected is not null)
                        {
                            Assert.Equal(expected, Assert.Single(frames));
                        }

                        return;
                    }

                    break;
            }
        }
    }

    private static string Escape(byte[] bytes) => Infrastructure.WireClient.Escape(bytes);
}
