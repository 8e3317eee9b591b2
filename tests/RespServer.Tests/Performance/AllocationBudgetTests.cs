using Notistream.RespServer.Hosting;
using System.Buffers;
using System.Text;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.Output;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Tests.Performance;

[CollectionDefinition(nameof(AllocationBudgetCollection), DisableParallelization = true)]
public sealed class AllocationBudgetCollection;

/// <summary>
/// The hot paths allocate no more than benchmarks/allocation-budget.json allows (0 bytes per
/// operation for almost everything), so an allocation slipped into PING, request framing, PUBLISH
/// or reply writing fails the build. Runs alone: some figures count every thread of the process.
/// </summary>
[Collection(nameof(AllocationBudgetCollection))]
public sealed class AllocationBudgetTests
{
    private static readonly byte[] Payload = new byte[64];

    /// <summary>Operation name → its measurement in bytes per operation.</summary>
    private static readonly Dictionary<string, Func<Task<double>>> Measurements = new()
    {
        ["scan-ping-resp"] = () => Task.FromResult(MeasureScan("*1\r\n$4\r\nPING\r\n", frames: 1)),
        ["scan-ping-inline"] = () => Task.FromResult(MeasureScan("PING\r\n", frames: 1)),
        ["scan-pipelined-publish-100"] = () => Task.FromResult(MeasureScan(string.Concat(Enumerable.Repeat(
            $"*3\r\n$7\r\nPUBLISH\r\n$7\r\nchannel\r\n$64\r\n{new string('x', 64)}\r\n", 100)), frames: 100)),
        ["command-ping-resp"] = () => MeasureCommandAsync("*1\r\n$4\r\nPING\r\n"),
        ["command-ping-inline"] = () => MeasureCommandAsync("PING\r\n"),
        ["command-publish-0-subscribers"] = () => MeasureCommandAsync($"*3\r\n$7\r\nPUBLISH\r\n$7\r\nchannel\r\n$64\r\n{new string('x', 64)}\r\n", history: false),
        ["command-publish-with-history"] = () => MeasureCommandAsync($"*3\r\n$7\r\nPUBLISH\r\n$7\r\nchannel\r\n$64\r\n{new string('x', 64)}\r\n", history: true),
        ["publish-0-subscribers"] = () => Task.FromResult(MeasurePublish(resp2: 0, resp3: 0)),
        ["publish-1-subscriber"] = () => Task.FromResult(MeasurePublish(resp2: 1, resp3: 0)),
        ["publish-50-subscribers"] = () => Task.FromResult(MeasurePublish(resp2: 50, resp3: 0)),
        ["publish-50-subscribers-resp2-and-resp3"] = () => Task.FromResult(MeasurePublish(resp2: 25, resp3: 25)),
        ["publish-pattern-1-subscriber"] = () => Task.FromResult(MeasurePatternPublish()),
        ["publish-to-50-connection-outputs"] = () => MeasureOutputsAsync(allThreads: false),
        ["publish-to-50-connection-outputs-all-threads"] = () => MeasureOutputsAsync(allThreads: true),
        ["write-bulk"] = () => Task.FromResult(MeasureWriter(w => w.WriteBulk(Payload))),
        ["write-integer"] = () => Task.FromResult(MeasureWriter(w =>
        {
            w.WriteInteger(42);
            w.WriteInteger(1_234_567_890);
        })),
        ["write-push-and-array-headers"] = () => Task.FromResult(MeasureWriter(w =>
        {
            w.WritePushHeader(3);
            w.WriteArrayHeader(2);
        })),
    };

    public static TheoryData<string> Operations => new(Measurements.Keys);

    [Fact]
    public void The_budget_file_names_exactly_the_measured_operations()
    {
        var budget = AllocationBudget.Load();
        Assert.Equal(Measurements.Keys.Order(), budget.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Operation_stays_within_its_allocation_budget(string operation)
    {
        var budget = AllocationBudget.Load();
        Assert.True(budget.TryGetValue(operation, out var allowed),
            $"'{operation}' has no entry in benchmarks/{AllocationBudget.FileName}");

        var measured = await Measurements[operation]();
        Assert.True(measured <= allowed,
            $"'{operation}' allocated {measured:0.###} bytes per operation; its budget in benchmarks/{AllocationBudget.FileName} is {allowed} bytes.");
    }

    private static double MeasureScan(string input, int frames)
    {
        var scanner = new RequestScanner();
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(input));
        return AllocationBudget.PerOperationOnThisThread(() =>
        {
            var rest = buffer;
            var found = 0;
            while (scanner.Scan(rest, authRequired: false) == ScanStatus.Request)
            {
                rest = rest.Slice(scanner.FrameLength);
                scanner.Reset();
                found++;
            }

            Assert.True(found == frames, "the scanner did not find every frame");
        });
    }

    /// <summary>Without <paramref name="history"/>, PUBLISH keeps nothing (channel-history none).</summary>
    private static async Task<double> MeasureCommandAsync(string input, bool history = false)
    {
        await using var harness = await CommandHarness.CreateAsync(history ? null : new RespServerOptions { ChannelHistory = [] });
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(input));
        return AllocationBudget.PerOperationOnThisThread(() => harness.Run(buffer), iterations: 2_000);
    }

    private static double MeasurePublish(int resp2, int resp3)
    {
        var registry = new SubscriptionRegistry();
        var subscribers = new List<CountingSubscriber>();
        for (var i = 0; i < resp2 + resp3; i++)
        {
            var subscriber = new CountingSubscriber(i < resp2 ? 2 : 3);
            subscribers.Add(subscriber);
            registry.Subscribe(subscriber, "channel"u8.ToArray(), shard: false);
        }

        var measured = AllocationBudget.PerOperationOnThisThread(() => registry.Publish("channel"u8, Payload));
        Assert.All(subscribers, s => Assert.True(s.Frames > 0, "a subscriber received nothing"));
        return measured;
    }

    private static double MeasurePatternPublish()
    {
        var registry = new SubscriptionRegistry();
        var subscriber = new CountingSubscriber(2);
        registry.SubscribePattern(subscriber, "chan*"u8.ToArray());
        var measured = AllocationBudget.PerOperationOnThisThread(() => registry.Publish("channel"u8, Payload));
        Assert.True(subscriber.Frames > 0, "the pattern subscriber received nothing");
        return measured;
    }

    private static async Task<double> MeasureOutputsAsync(bool allThreads)
    {
        var registry = new SubscriptionRegistry();
        var sinks = Enumerable.Range(0, 50).Select(_ => new OutputSink()).ToList();
        try
        {
            foreach (var sink in sinks)
            {
                registry.Subscribe(sink, "channel"u8.ToArray(), shard: false);
            }

            void PublishAndDrain()
            {
                registry.Publish("channel"u8, Payload);
                foreach (var sink in sinks)
                {
                    sink.WaitUntilDrained();
                }
            }

            var measured = allThreads
                ? AllocationBudget.PerOperationInProcess(PublishAndDrain, iterations: 1_000)
                : AllocationBudget.PerOperationOnThisThread(PublishAndDrain, iterations: 1_000);
            Assert.All(sinks, s => Assert.True(s.Received > 0, "a connection output wrote nothing"));
            return measured;
        }
        finally
        {
            foreach (var sink in sinks)
            {
                await sink.DisposeAsync();
            }
        }
    }

    private static double MeasureWriter(Action<RespWriter> write)
    {
        var buffer = new ReplyBuffer();
        var measured = AllocationBudget.PerOperationOnThisThread(() =>
        {
            write(new RespWriter(buffer, 3));
            buffer.Truncate(0);
        });
        buffer.Release();
        return measured;
    }

    /// <summary>Counts what it is offered, taking and giving back a reference as a connection's queue does.</summary>
    private sealed class CountingSubscriber(int protocol) : ISubscriber
    {
        public long Frames { get; private set; }

        public long Bytes { get; private set; }

        public int Protocol => protocol;

        public void Deliver(MessageFrame frame, DeliveryBatch? batch)
        {
            frame.AddRef();
            Frames++;
            Bytes += frame.Length;
            frame.Release();
        }
    }
}
