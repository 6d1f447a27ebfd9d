using System.Diagnostics;

namespace Weft.Bench;

/// <summary>Signals once a fixed number of completions arrived; the completion itself is one atomic decrement.</summary>
internal sealed class Countdown(int count)
{
    private int _remaining = count;
    private readonly ManualResetEventSlim _done = new();

    public void Signal()
    {
        if (Interlocked.Decrement(ref _remaining) == 0) _done.Set();
    }

    public void Wait()
    {
        if (!_done.Wait(TimeSpan.FromMinutes(2))) throw new TimeoutException($"workload stalled with {_remaining} left\n{Go.Dump()[..Math.Min(4000, Go.Dump().Length)]}");
    }
}

/// <summary>spawn: start 1,000,000 goroutines, each only signalling completion. ns per goroutine, first start to last completion.</summary>
public sealed class SpawnWorkload : Workload
{
    private const int N = 1_000_000;
    public override string Name => "spawn";
    public override string Unit => "ns/goroutine";

    public override double RunWeft()
    {
        var done = new Countdown(N);
        long start = Stopwatch.GetTimestamp();
        // Started from a goroutine, as Go's benchmark starts them from main's goroutine.
        Go.Run(done, static d =>
        {
            for (int i = 0; i < N; i++) Go.Run(d, static x => x.Signal());
        });
        done.Wait();
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / N;
    }

    public override double? RunBaseline()
    {
        var done = new Countdown(N);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < N; i++) Task.Run(done.Signal);
        done.Wait();
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / N;
    }
}

/// <summary>sleepers: 100,000 goroutines each sleep 10 ms, started together. Wall ms until all are done.</summary>
public sealed class SleepersWorkload : Workload
{
    private const int N = 100_000;
    private static readonly TimeSpan Nap = TimeSpan.FromMilliseconds(10);
    public override string Name => "sleepers";
    public override string Unit => "ms";

    public override double RunWeft()
    {
        var done = new Countdown(N);
        long start = Stopwatch.GetTimestamp();
        Go.Run(done, static d =>
        {
            for (int i = 0; i < N; i++)
            {
                Go.Run(d, static async x =>
                {
                    await Go.Sleep(Nap);
                    x.Signal();
                });
            }
        });
        done.Wait();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    public override double? RunBaseline()
    {
        var done = new Countdown(N);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < N; i++)
        {
            Task.Run(async () =>
            {
                await Task.Delay(Nap);
                done.Signal();
            });
        }
        done.Wait();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }
}
