using System.Text.Json;

namespace Notistream.RespServer.Tests.Performance;

/// <summary>benchmarks/allocation-budget.json: operation name → most bytes it may allocate per operation.</summary>
internal static class AllocationBudget
{
    public const string FileName = "allocation-budget.json";

    public static IReadOnlyDictionary<string, double> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, FileName);
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("operations").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetDouble());
    }

    /// <summary>Bytes this thread allocates per call of <paramref name="operation"/> after warm-up;
    /// the least of a few rounds, so one rare event elsewhere (a pool trimmed by a GC) cannot fail a run.</summary>
    public static double PerOperationOnThisThread(Action operation, int iterations = 5_000, int rounds = 3)
    {
        for (var i = 0; i < 1_000; i++)
        {
            operation();
        }

        var least = double.MaxValue;
        for (var round = 0; round < rounds; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < iterations; i++)
            {
                operation();
            }

            least = Math.Min(least, (double)(GC.GetAllocatedBytesForCurrentThread() - before) / iterations);
        }

        return least;
    }

    /// <summary>As <see cref="PerOperationOnThisThread"/>, counting every thread of the process (work that
    /// crosses to writer threads). Run only in the non-parallel collection so other tests add nothing.</summary>
    public static double PerOperationInProcess(Action operation, int iterations = 2_000, int rounds = 5)
    {
        for (var i = 0; i < 1_000; i++)
        {
            operation();
        }

        var least = double.MaxValue;
        for (var round = 0; round < rounds; round++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < iterations; i++)
            {
                operation();
            }

            least = Math.Min(least, (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / iterations);
        }

        return least;
    }
}
