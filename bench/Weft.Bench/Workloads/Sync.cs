using System.Diagnostics;
using Weft.Sync;

namespace Weft.Bench;

/// <summary>
/// <c>mutex</c>: 8 goroutines, each doing 1,250,000 × (lock, increment a shared counter, unlock). Reports ns per
/// operation (wall time / 10,000,000) and checks the counter ends at exactly 10,000,000. The baseline runs the same
/// loop in 8 Tasks on a <see cref="SemaphoreSlim"/>(1, 1), .NET's async lock.
/// </summary>
public sealed class MutexWorkload : Workload
{
    private const int Workers = 8, PerWorker = 1_250_000, Total = Workers * PerWorker;

    public override string Name => "mutex";
    public override string Unit => "ns/op";

    public override double RunWeft()
    {
        var mu = new Weft.Sync.Mutex();
        var wg = new WaitGroup();
        long counter = 0;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Workers; i++)
        {
            wg.Go(async () =>
            {
                for (int j = 0; j < PerWorker; j++)
                {
                    await mu.LockAsync();
                    counter++;
                    mu.Unlock();
                }
            });
        }
        wg.Wait();
        sw.Stop();
        return Check(counter, sw);
    }

    public override double? RunBaseline()
    {
        var sem = new SemaphoreSlim(1, 1);
        long counter = 0;
        var sw = Stopwatch.StartNew();
        var tasks = new Task[Workers];
        for (int i = 0; i < Workers; i++)
        {
            tasks[i] = Task.Run(async () =>
            {
                for (int j = 0; j < PerWorker; j++)
                {
                    await sem.WaitAsync();
                    counter++;
                    sem.Release();
                }
            });
        }
        Task.WaitAll(tasks);
        sw.Stop();
        return Check(counter, sw);
    }

    private static double Check(long counter, Stopwatch sw)
    {
        if (counter != Total)
            throw new InvalidOperationException($"mutex: the counter ended at {counter}, not {Total}: mutual exclusion failed.");
        return sw.Elapsed.TotalNanoseconds / Total;
    }
}
