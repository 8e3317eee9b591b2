using System.Diagnostics;

namespace Notistream.LoadGen;

/// <summary>
/// How long one cache line takes to go from one core to another and back: two threads spin on one
/// 8-byte cell, each waiting for the other's write before writing the next number. A server that
/// shares data between cores (locks, reference counts, queues) pays this on every hand-over; on a
/// virtual machine it can change between runs as the host moves the virtual CPUs, and with it the
/// server's throughput. <c>benchmarks/compare.sh</c> prints it before and after every run.
/// </summary>
internal static class CoreLatency
{
    private const int RoundTrips = 200_000;
    private const int Trials = 5;

    /// <summary>A trial that takes longer did not have two cores to itself: its threads took turns.</summary>
    private static readonly TimeSpan TrialLimit = TimeSpan.FromSeconds(1);

    /// <summary>Nanoseconds per round trip, the median of <see cref="Trials"/> trials; null with one
    /// core, or when the machine was too busy for the two threads to run at once.</summary>
    public static double? Measure()
    {
        if (Environment.ProcessorCount < 2)
        {
            return null;
        }

        var results = new double[Trials];
        for (var trial = 0; trial < Trials; trial++)
        {
            if (MeasureOnce() is not { } ns)
            {
                return null;
            }

            results[trial] = ns;
        }

        Array.Sort(results);
        return results[Trials / 2];
    }

    private static double? MeasureOnce()
    {
        // The cell sits in the middle of 256 bytes, alone on its cache line whatever the array's
        // alignment; cells[0] tells the echo thread to give up.
        var cells = new long[32];
        var echo = new Thread(() =>
        {
            ref var cell = ref cells[16];
            for (long i = 0; i < RoundTrips; i++)
            {
                while (Volatile.Read(ref cell) != 2 * i + 1)
                {
                    if (Volatile.Read(ref cells[0]) != 0)
                    {
                        return;
                    }
                }

                Volatile.Write(ref cell, 2 * i + 2);
            }
        })
        { IsBackground = true, Name = "core-latency echo" };
        echo.Start();

        ref var mine = ref cells[16];
        var clock = Stopwatch.StartNew();
        var spins = 0;
        for (long i = 0; i < RoundTrips; i++)
        {
            Volatile.Write(ref mine, 2 * i + 1);
            while (Volatile.Read(ref mine) != 2 * i + 2)
            {
                if (++spins % 65_536 == 0 && clock.Elapsed > TrialLimit)
                {
                    Volatile.Write(ref cells[0], 1);
                    echo.Join();
                    return null;
                }
            }
        }

        clock.Stop();
        echo.Join();
        return clock.Elapsed > TrialLimit ? null : clock.Elapsed.TotalNanoseconds / RoundTrips;
    }
}
