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

internal sealed record ParkState(Chan<int> Never, Countdown Started);

/// <summary>
/// parked: 1,000,000 goroutines parked forever on a Weft wait (a receive on a channel nobody sends on). Growth of
/// VmRSS per goroutine, in bytes, after a full compacting GC. WEFT_BENCH_PARKED overrides the count (the
/// 10,000,000 figure in docs/performance.md comes from WEFT_BENCH_PARKED=10000000).
/// </summary>
public sealed class ParkedWorkload : Workload
{
    private static readonly int N = ParseCount(Environment.GetEnvironmentVariable("WEFT_BENCH_PARKED"));
    public override string Name => "parked";
    public override string Unit => "bytes/goroutine";
    public override int Repetitions => 3;
    public override bool WarmUp => false;

    private static int ParseCount(string? v)
    {
        if (v is null) return 1_000_000;
        if (!int.TryParse(v, out int n) || n < 1000 || n > 50_000_000)
            throw new InvalidOperationException($"WEFT_BENCH_PARKED='{v}' is not valid: expected a goroutine count from 1000 to 50000000.");
        return n;
    }

    internal static long VmRss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim()) * 1024;
        }
        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }

    internal static long SettledRss()
    {
        Thread.Sleep(100); // let sysmon drop the records of goroutines that just finished
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return VmRss();
    }

    // Each measurement runs in a fresh process: RSS never shrinks back after a large run, so a second measurement
    // in the same process would reuse the first one's pages and read low.
    public override double RunWeft() => InFreshProcess("weft");

    public override double? RunBaseline() => InFreshProcess("tpl");

    public override double MeasureInThisProcess(string which) => which == "weft" ? MeasureWeft() : MeasureBaseline();

    private static double MeasureWeft()
    {
        long before = SettledRss();
        var never = new Chan<int>();
        var started = new Countdown(N);
        var shared = new ParkState(never, started); // one object for all: the figure is the goroutines' own cost
        Go.Run(shared, static s =>
        {
            for (int i = 0; i < N; i++)
            {
                Go.Run(s, static async x =>
                {
                    var receive = x.Never.ReceiveAsync();
                    x.Started.Signal();
                    await receive;
                });
            }
        });
        started.Wait();
        while (Go.NumGoroutine < N) Thread.Sleep(10);
        Thread.Sleep(200); // the last ones reach their await
        long after = SettledRss();
        never.Close();
        while (Go.NumGoroutine > 1000) Thread.Sleep(10);
        return (after - before) / (double)N;
    }

    private static double MeasureBaseline()
    {
        long before = SettledRss();
        var never = System.Threading.Channels.Channel.CreateUnbounded<int>();
        var started = new Countdown(N);
        var tasks = new Task[N];
        for (int i = 0; i < N; i++)
        {
            tasks[i] = Task.Run(async () =>
            {
                var receive = never.Reader.ReadAsync();
                started.Signal();
                try { await receive; } catch (System.Threading.Channels.ChannelClosedException) { }
            });
        }
        started.Wait();
        Thread.Sleep(200);
        long after = SettledRss();
        never.Writer.Complete();
        Task.WaitAll(tasks);
        return (after - before) / (double)N;
    }
}
