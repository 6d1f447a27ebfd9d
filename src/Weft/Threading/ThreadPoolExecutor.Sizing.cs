namespace Weft.Threading;

// Resizing at run time: Java's setCorePoolSize, setMaximumPoolSize, setKeepAliveTime and allowCoreThreadTimeOut.
//
// Each setter validates and writes under _lock, so two setters racing still leave core <= max. Admission and the
// worker loop read the four fields racily (Volatile.Read): a stale value only means that one admission or one park
// decision used the old setting; TryAddWorker and Deregister recheck the sizes under _lock. A setter that makes
// threads surplus wakes every idle worker (WakeAllIdle, as Shutdown does), and each re-parks under the new rule:
//   - MaximumPoolSize below PoolSize: idle workers above the new maximum exit at once; busy ones after their task.
//   - CorePoolSize below PoolSize: the extra threads become ordinary non-core threads and exit after KeepAlive idle
//     (this is what Java's implementation does, whatever its setter's summary suggests).
//   - A shorter KeepAlive, or AllowCoreThreadTimeOut turned on: idle workers start a wait of the new length.
// Raising CorePoolSize starts new threads at once, but only as many as there are queued tasks for them (Java).
public sealed partial class ThreadPoolExecutor
{
    /// <summary>
    /// Threads kept even when idle (unless <see cref="AllowCoreThreadTimeOut"/>); see
    /// <see cref="ThreadPoolExecutorOptions.CorePoolSize"/>. Settable while the pool runs: raising it starts threads
    /// for queued tasks (at most one per task, up to the new size); lowering it lets the threads above it exit after
    /// <see cref="KeepAlive"/> idle.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set below 0 or above <see cref="MaximumPoolSize"/>.</exception>
    /// <example><code>pool.CorePoolSize = 8; // during a burst of queued work</code></example>
    public int CorePoolSize
    {
        get => Volatile.Read(ref _core);
        set
        {
            int delta;
            lock (_lock)
            {
                AssertInvariants();
                if (value < 0 || value > _max) ThrowCoreOutOfRange(value, _max);
                delta = value - _core;
                Volatile.Write(ref _core, value);
            }
            if (Volatile.Read(ref _poolSize) > value)
            {
                WakeAllIdle();
            }
            else if (delta > 0)
            {
                // Java's rule: no more new threads than queued tasks; stop once the queue is empty.
                long k = Math.Min(delta, Queued());
                while (k-- > 0 && TryAddWorker(null, core: true) && Queued() > 0) { }
            }
        }
    }

    /// <summary>
    /// The most threads the pool runs; see <see cref="ThreadPoolExecutorOptions.MaximumPoolSize"/>. Settable while the
    /// pool runs: lowering it below <see cref="PoolSize"/> makes idle threads above it exit at once, and busy ones when
    /// their task ends.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set below 1, above <see cref="MaxThreads"/> or below
    /// <see cref="CorePoolSize"/>.</exception>
    /// <example><code>pool.MaximumPoolSize = 4; // shed threads after a burst</code></example>
    public int MaximumPoolSize
    {
        get => Volatile.Read(ref _max);
        set
        {
            lock (_lock)
            {
                AssertInvariants();
                if (value is < 1 or > MaxThreads) ThrowMaxOutOfRange(value);
                if (value < _core)
                {
                    throw new ArgumentOutOfRangeException(nameof(MaximumPoolSize), value,
                        $"MaximumPoolSize must be between CorePoolSize ({_core}) and {MaxThreads}; it was {value}.");
                }
                Volatile.Write(ref _max, value);
            }
            if (Volatile.Read(ref _poolSize) > value) WakeAllIdle();
        }
    }

    /// <summary>
    /// How long a thread above <see cref="CorePoolSize"/> (or any, with <see cref="AllowCoreThreadTimeOut"/>) waits idle
    /// before it exits; see <see cref="ThreadPoolExecutorOptions.KeepAlive"/>. Settable while the pool runs; a shorter
    /// value applies at once to threads already idle.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set negative (other than <see cref="Timeout.InfiniteTimeSpan"/>),
    /// or to zero or infinite while <see cref="AllowCoreThreadTimeOut"/> is set. A huge value
    /// (<see cref="TimeSpan.MaxValue"/>) is allowed and means never.</exception>
    /// <example><code>pool.KeepAlive = TimeSpan.FromSeconds(5);</code></example>
    public TimeSpan KeepAlive
    {
        get => new(Volatile.Read(ref _keepAliveTicks));
        set
        {
            bool shorter;
            lock (_lock)
            {
                AssertInvariants();
                ValidateKeepAlive(value, _allowCoreTimeOut);
                shorter = IsShorter(value, new TimeSpan(_keepAliveTicks));
                Volatile.Write(ref _keepAliveTicks, value.Ticks);
            }
            if (shorter) WakeAllIdle();
        }
    }

    /// <summary>
    /// Whether core threads also exit after <see cref="KeepAlive"/> idle; see
    /// <see cref="ThreadPoolExecutorOptions.AllowCoreThreadTimeOut"/>. Settable while the pool runs; turning it on
    /// applies at once to threads already idle.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to true while <see cref="KeepAlive"/> is zero or infinite.</exception>
    /// <example><code>pool.AllowCoreThreadTimeOut = true; // let an idle pool shrink to no threads</code></example>
    public bool AllowCoreThreadTimeOut
    {
        get => Volatile.Read(ref _allowCoreTimeOut);
        set
        {
            bool turnedOn;
            lock (_lock)
            {
                AssertInvariants();
                if (value) ValidateKeepAlive(new TimeSpan(_keepAliveTicks), allowCoreTimeOut: true);
                turnedOn = value && !_allowCoreTimeOut;
                Volatile.Write(ref _allowCoreTimeOut, value);
            }
            if (turnedOn) WakeAllIdle();
        }
    }

    /// <summary>Whether idle time <paramref name="a"/> runs out before <paramref name="b"/> (infinite is longest).</summary>
    private static bool IsShorter(TimeSpan a, TimeSpan b) =>
        a != Timeout.InfiniteTimeSpan && (b == Timeout.InfiniteTimeSpan || a < b);
}
