using Weft.Threading;
using Xunit;

namespace Weft.Tests.Threading;

/// <summary>
/// The sizes and keep-alive set while the pool runs (Java's setCorePoolSize, setMaximumPoolSize, setKeepAliveTime,
/// allowCoreThreadTimeOut): same validation as the constructor, and threads start or retire as the new values say.
/// Every wait is on the PoolSize or IdleCount metric, bounded by <see cref="Wait.Limit"/>.
/// </summary>
public sealed class ThreadPoolExecutorSizingTests : PoolTestBase
{
    /// <summary>Starts <paramref name="n"/> threads on a hand-off pool, lets their tasks end, and waits until all park.</summary>
    private static void StartIdleThreads(ThreadPoolExecutor pool, int n)
    {
        using var started = new CountdownEvent(n);
        using var release = new ManualResetEventSlim();
        for (int i = 0; i < n; i++) pool.Execute(() => { started.Signal(); release.Wait(Wait.Limit); });
        Wait.For(started, $"{n} threads running");
        release.Set();
        Wait.Until(() => pool.IdleCount == n, $"{n} threads parked");
    }

    [Fact(Timeout = 30_000)]
    public async Task LoweringMaximum_RetiresIdleThreadsAboveIt_AtOnce()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 3, QueueCapacity = 0, KeepAlive = Timeout.InfiniteTimeSpan });
        StartIdleThreads(pool, 3);
        pool.MaximumPoolSize = 1;
        Wait.Until(() => pool.PoolSize == 1 && pool.IdleCount == 1, "the pool shrank to the new maximum, parked");
        Assert.Equal(7, await pool.Submit(() => 7).WaitAsync(Wait.Limit)); // the one left still works
        Assert.Equal(1, pool.PoolSize);
    }

    [Fact(Timeout = 30_000)]
    public async Task LoweringMaximum_LetsBusyThreadsFinishTheirTask_ThenRetiresThem()
    {
        var pool = Pool(new() { CorePoolSize = 2, MaximumPoolSize = 2, KeepAlive = Timeout.InfiniteTimeSpan });
        using var started = new CountdownEvent(2);
        var tasks = Enumerable.Range(0, 2).Select(i => pool.Submit(() => { started.Signal(); _gate.Wait(Wait.Limit); return i; })).ToArray();
        Wait.For(started, "two busy threads");
        pool.CorePoolSize = 1;
        pool.MaximumPoolSize = 1;
        Assert.Equal(2, pool.PoolSize); // busy threads are not interrupted
        _gate.Set();
        int[] results = await Task.WhenAll(tasks).WaitAsync(Wait.Limit);
        Assert.Equal(new[] { 0, 1 }, results);
        Wait.Until(() => pool.PoolSize == 1, "the surplus thread left after its task");
    }

    [Fact(Timeout = 30_000)]
    public async Task RaisingCore_StartsThreadsForQueuedTasks_ButNoMoreThanThereAreTasks()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 8, QueueCapacity = 10 });
        using var started = new CountdownEvent(3);
        Action blocker = () => { started.Signal(); _gate.Wait(Wait.Limit); };
        for (int i = 0; i < 3; i++) pool.Execute(blocker); // one runs, two wait in the queue
        Assert.Equal((1, 2), (pool.PoolSize, pool.QueuedCount));
        pool.CorePoolSize = 6;
        Wait.For(started, "the queued tasks started on new core threads");
        Assert.Equal(3, pool.PoolSize); // two queued tasks: two new threads, not five
        Assert.Equal(6, pool.CorePoolSize);
        _gate.Set();
        pool.Shutdown();
        Assert.True(await pool.AwaitTerminationAsync(Wait.Limit));
    }

    [Fact(Timeout = 30_000)]
    public async Task LoweringCore_LetsTheExtraThreadsRetireAfterKeepAlive()
    {
        var pool = Pool(new() { CorePoolSize = 3, MaximumPoolSize = 3, QueueCapacity = 0, KeepAlive = TimeSpan.FromMilliseconds(20) });
        StartIdleThreads(pool, 3);
        pool.CorePoolSize = 1;
        Wait.Until(() => pool.PoolSize == 1, "the pool shrank to the new core size");
        Assert.Equal(1, await pool.Submit(() => 1).WaitAsync(Wait.Limit));
    }

    [Fact(Timeout = 30_000)]
    public async Task ShorterKeepAlive_AppliesToThreadsAlreadyIdle()
    {
        var pool = Pool(new() { CorePoolSize = 1, MaximumPoolSize = 2, QueueCapacity = 0, KeepAlive = Timeout.InfiniteTimeSpan });
        StartIdleThreads(pool, 2);
        pool.KeepAlive = TimeSpan.FromMilliseconds(10);
        Wait.Until(() => pool.PoolSize == 1, "the thread above core retired");
        Assert.Equal(TimeSpan.FromMilliseconds(10), pool.KeepAlive);
        await Task.Yield();
    }

    [Fact(Timeout = 30_000)]
    public async Task AllowCoreThreadTimeOut_TurnedOn_ShrinksAnIdlePoolToZero_AndItRestartsOnDemand()
    {
        var pool = Pool(new() { CorePoolSize = 2, MaximumPoolSize = 2, QueueCapacity = 0, KeepAlive = TimeSpan.FromMilliseconds(20) });
        StartIdleThreads(pool, 2);
        pool.AllowCoreThreadTimeOut = true;
        Wait.Until(() => pool.PoolSize == 0, $"every thread retired (size {pool.PoolSize}, idle {pool.IdleCount})");
        Assert.Equal(3, await pool.Submit(() => 3).WaitAsync(Wait.Limit));
        pool.AllowCoreThreadTimeOut = false;
        Assert.False(pool.AllowCoreThreadTimeOut);
    }

    /// <summary>A keep-alive of TimeSpan.MaxValue means never: idle threads above core stay, and their wait overflows nothing.</summary>
    [Fact(Timeout = 30_000)]
    public async Task HugeKeepAlive_KeepsIdleThreads_AndTheyStillTakeWork()
    {
        var pool = Pool(new() { CorePoolSize = 0, MaximumPoolSize = 2, QueueCapacity = 0, KeepAlive = TimeSpan.MaxValue,
                                AllowCoreThreadTimeOut = true });
        using var started = new CountdownEvent(2);
        var first = pool.Submit(() => { started.Signal(); _gate.Wait(Wait.Limit); });
        var second = pool.Submit(() => { started.Signal(); _gate.Wait(Wait.Limit); });
        Wait.For(started, "two threads");
        _gate.Set();
        await Task.WhenAll(first, second).WaitAsync(Wait.Limit);
        await Task.Delay(1_200); // past the 1 s recheck period, where a wrapped keep-alive would retire them
        Assert.Equal(2, pool.PoolSize);
        Assert.Equal(7, await pool.Submit(() => 7).WaitAsync(Wait.Limit));
    }

    [Fact(Timeout = 30_000)]
    public Task BadSettings_AreClearErrors_AndLeaveTheOldValues() => Task.Run(() =>
    {
        var pool = Pool(new() { CorePoolSize = 2, MaximumPoolSize = 4, KeepAlive = TimeSpan.Zero });
        void Rejects(Action set, string message) =>
            Assert.Contains(message, Assert.Throws<ArgumentOutOfRangeException>(set).Message);

        Rejects(() => pool.CorePoolSize = -1, "CorePoolSize must be between 0 and MaximumPoolSize (4)");
        Rejects(() => pool.CorePoolSize = 5, "CorePoolSize must be between 0 and MaximumPoolSize (4)");
        Rejects(() => pool.MaximumPoolSize = 0, "MaximumPoolSize must be between 1 and 32767");
        Rejects(() => pool.MaximumPoolSize = 1, "MaximumPoolSize must be between CorePoolSize (2) and 32767");
        Rejects(() => pool.KeepAlive = TimeSpan.FromSeconds(-1), "KeepAlive must be zero or more");
        Rejects(() => pool.AllowCoreThreadTimeOut = true, "KeepAlive must be greater than 0 when AllowCoreThreadTimeOut is set");
        Assert.Equal((2, 4, TimeSpan.Zero, false),
                     (pool.CorePoolSize, pool.MaximumPoolSize, pool.KeepAlive, pool.AllowCoreThreadTimeOut));

        pool.KeepAlive = TimeSpan.FromSeconds(1);
        pool.AllowCoreThreadTimeOut = true;
        Rejects(() => pool.KeepAlive = TimeSpan.Zero, "KeepAlive must be greater than 0 when AllowCoreThreadTimeOut is set");
        pool.KeepAlive = TimeSpan.MaxValue; // huge means never (saturates), even with core time-out on
        Assert.Equal(TimeSpan.MaxValue, pool.KeepAlive);
        pool.MaximumPoolSize = 2; // down to core is allowed
        pool.CorePoolSize = 0;
        Assert.Equal((0, 2), (pool.CorePoolSize, pool.MaximumPoolSize));
    });
}
