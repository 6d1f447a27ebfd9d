using System.Diagnostics;
using Weft.Threading;

namespace Weft.Bench;

/// <summary>
/// <c>pool-latency</c>: 2 x ProcessorCount tasks block in <c>Thread.Sleep(2000)</c>; 2 ms later 1,000 short tasks
/// (about 10 us of work each) are submitted. Figure: milliseconds until every short task is done. Weft uses a
/// <see cref="ThreadPoolExecutor"/> with MaximumPoolSize 64 (core ProcessorCount, direct hand-off, CallerRuns: the
/// classic Java configuration for bursty blocking work); the baseline is ThreadPool.QueueUserWorkItem with default
/// settings, which must wait for its slow thread injection.
/// </summary>
public sealed class PoolLatency : Workload
{
    private const int ShortTasks = 1_000;
    private static readonly int LongTasks = 2 * Environment.ProcessorCount;

    public override string Name => "pool-latency";
    public override string Unit => "ms";

    // Each run costs the 2 s of the long tasks, which it waits out so the next run starts from a quiet pool.
    public override int Repetitions => 3;

    public override double RunWeft()
    {
        var pool = new ThreadPoolExecutor(new ThreadPoolExecutorOptions
        {
            Name = "bench-latency",
            CorePoolSize = Environment.ProcessorCount,
            MaximumPoolSize = 64,
            QueueCapacity = 0,
            RejectionPolicy = RejectionPolicy.CallerRuns,
        });
        double ms = Measure(pool.Execute);
        pool.Shutdown();
        pool.AwaitTermination(Timeout.InfiniteTimeSpan);
        return ms;
    }

    // The baseline runs in a fresh process: the .NET ThreadPool keeps the threads it injected for earlier
    // workloads, so a second measurement in the same process would not see the default pool at all.
    public override double? RunBaseline() => InFreshProcess("tpl");

    public override double MeasureInThisProcess(string which) =>
        which == "tpl" ? Measure(work => ThreadPool.QueueUserWorkItem(static w => ((Action)w!)(), work)) : RunWeft();

    private static double Measure(Action<Action> submit)
    {
        using var longDone = new CountdownEvent(LongTasks);
        using var shortDone = new CountdownEvent(ShortTasks);
        Action longTask = () => { Thread.Sleep(2000); longDone.Signal(); };
        Action shortTask = () => { Work(TimeSpan.FromTicks(100)); shortDone.Signal(); };

        for (int i = 0; i < LongTasks; i++) submit(longTask);
        Thread.Sleep(2);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < ShortTasks; i++) submit(shortTask);
        shortDone.Wait();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        longDone.Wait();
        return ms;
    }

    private static void Work(TimeSpan duration)
    {
        long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end) Thread.SpinWait(10);
    }
}

/// <summary>
/// <c>pool-throughput</c>: 1,000,000 empty tasks submitted from one thread. Figure: nanoseconds per task, until the
/// last has run. Weft: <see cref="ThreadPoolExecutor.Execute"/> on a pool of ProcessorCount threads with the default
/// (unbounded) queue. Baseline: ThreadPool.UnsafeQueueUserWorkItem. Goal: at most 1.5x the baseline.
/// </summary>
public sealed class PoolThroughput : Workload
{
    private const int Tasks = 1_000_000;

    public override string Name => "pool-throughput";
    public override string Unit => "ns/task";

    // Both sides run in fresh processes: in the shared one, the threads, tiering and heap that earlier workloads
    // (goroutine or .NET baselines) leave behind swung both figures by 2x from run to run. Each child warms up
    // once and reports the median of three.
    public override double RunWeft() => InFreshProcess("weft");

    public override double? RunBaseline() => InFreshProcess("tpl");

    public override double MeasureInThisProcess(string which)
    {
        Func<double> run = which == "tpl" ? MeasureTpl : MeasureWeft;
        run();
        var samples = new[] { run(), run(), run() };
        Array.Sort(samples);
        return samples[1];
    }

    private static double MeasureWeft()
    {
        var pool = new ThreadPoolExecutor(new ThreadPoolExecutorOptions { Name = "bench-throughput" });
        var counter = new Countdown(Tasks);
        Action task = counter.Signal;
        pool.Execute(() => { }); // start the first worker outside the measurement, as the shared pool's already exist
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < Tasks; i++) pool.Execute(task);
        counter.Wait();
        double ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / Tasks;
        pool.Shutdown();
        pool.AwaitTermination(Timeout.InfiniteTimeSpan);
        return ns;
    }

    private static double MeasureTpl()
    {
        var counter = new Countdown(Tasks);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < Tasks; i++) ThreadPool.UnsafeQueueUserWorkItem(static c => c.Signal(), counter, preferLocal: false);
        counter.Wait();
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / Tasks;
    }

    /// <summary>Counts tasks down; the last one sets the event. Shared by both sides so they do the same work.</summary>
    private sealed class Countdown(int count)
    {
        private int _remaining = count;
        private readonly ManualResetEventSlim _done = new();

        public void Signal()
        {
            if (Interlocked.Decrement(ref _remaining) == 0) _done.Set();
        }

        public void Wait() => _done.Wait();
    }
}
