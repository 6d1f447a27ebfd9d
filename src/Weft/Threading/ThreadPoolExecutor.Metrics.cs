using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Weft.Diagnostics;

namespace Weft.Threading;

// Metrics: the six figures as properties, and as observable instruments on the Weft meter.
public sealed partial class ThreadPoolExecutor
{
    /// <summary>The tag that tells pools apart on the <c>weft.pool.*</c> instruments.</summary>
    public const string PoolNameTag = "weft.pool.name";

    /// <summary>Threads running a task right now (a snapshot).</summary>
    public int ActiveCount
    {
        get
        {
            lock (_lock)
            {
                int active = 0;
                foreach (var w in _workers) active += (int)Volatile.Read(ref w.Running.Value);
                return active;
            }
        }
    }

    /// <summary>Threads in the pool now, busy or idle.</summary>
    public int PoolSize => Volatile.Read(ref _poolSize);

    /// <summary>The most threads the pool has ever had at once.</summary>
    public int LargestPoolSize
    {
        get
        {
            lock (_lock) return _largestPoolSize;
        }
    }

    /// <summary>Tasks waiting for a thread (with capacity 0, tasks in the middle of a hand-off).</summary>
    public int QueuedCount => (int)Math.Min(Queued(), int.MaxValue);

    /// <summary>Tasks that have finished running on the pool, successfully or not.</summary>
    public long CompletedCount
    {
        get
        {
            lock (_lock)
            {
                long completed = _completedByExited;
                foreach (var w in _workers) completed += Volatile.Read(ref w.Completed.Value);
                return completed;
            }
        }
    }

    /// <summary>Parked workers nobody has claimed (for tests that need a worker to be idle before a hand-off).</summary>
    internal int IdleCount => (int)Volatile.Read(ref _idle.Value);

    /// <summary>Tasks the pool could not accept, whatever the policy then did with them.</summary>
    public long RejectedCount => Interlocked.Read(ref _rejected);

    // Live (not yet terminated) executors, weakly held so that an abandoned, threadless pool can still be collected.
    private static readonly ConditionalWeakTable<ThreadPoolExecutor, object?> s_live = new();

    private void RegisterMetrics()
    {
        Instruments.EnsureCreated();
        s_live.AddOrUpdate(this, null);
    }

    private void UnregisterMetrics() => s_live.Remove(this);

    /// <summary>The instruments, created once per process; each reports one measurement per live pool.</summary>
    private static class Instruments
    {
        private static int s_created;

        public static void EnsureCreated()
        {
            if (Interlocked.Exchange(ref s_created, 1) == 1) return;
            Meter m = WeftMeter.Meter;
            m.CreateObservableGauge("weft.pool.active", () => Observe(p => p.ActiveCount), "{thread}",
                "Threads of a ThreadPoolExecutor running a task.");
            m.CreateObservableGauge("weft.pool.size", () => Observe(p => p.PoolSize), "{thread}",
                "Threads of a ThreadPoolExecutor, busy or idle.");
            m.CreateObservableGauge("weft.pool.largest_size", () => Observe(p => p.LargestPoolSize), "{thread}",
                "The most threads a ThreadPoolExecutor has had at once.");
            m.CreateObservableGauge("weft.pool.queued", () => Observe(p => p.QueuedCount), "{task}",
                "Tasks waiting in a ThreadPoolExecutor's queue.");
            m.CreateObservableCounter("weft.pool.completed", () => Observe(p => p.CompletedCount), "{task}",
                "Tasks a ThreadPoolExecutor has finished running.");
            m.CreateObservableCounter("weft.pool.rejected", () => Observe(p => p.RejectedCount), "{task}",
                "Tasks a ThreadPoolExecutor could not accept.");
        }

        private static IEnumerable<Measurement<long>> Observe(Func<ThreadPoolExecutor, long> figure)
        {
            foreach (var (pool, _) in s_live)
            {
                yield return new Measurement<long>(figure(pool), new KeyValuePair<string, object?>(PoolNameTag, pool.Name));
            }
        }
    }
}
