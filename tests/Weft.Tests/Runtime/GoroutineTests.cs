using System.Collections.Concurrent;
using Weft.Runtime;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>Every spawned goroutine runs exactly once, whatever path it takes through the run queues.</summary>
public class GoroutineTests
{
    private static async Task RunAll(int n, Action<Action<int>> spawnAll)
    {
        var hits = new int[n];
        int remaining = n;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        spawnAll(i =>
        {
            Interlocked.Increment(ref hits[i]);
            if (Interlocked.Decrement(ref remaining) == 0) done.SetResult();
        });
        await done.Task.Within();
        // Give a duplicate run (the bug we look for) a moment to show up before counting.
        await Task.Delay(20);
        for (int i = 0; i < n; i++) Assert.True(hits[i] == 1, $"goroutine {i} ran {hits[i]} times");
    }

    [Fact]
    public Task EveryGoroutineStartedFromAPlainThreadRunsExactlyOnce() =>
        RunAll(Stress.Scale(100_000), body =>
        {
            for (int i = 0; i < Stress.Scale(100_000); i++) Go.Run(i, body);
        });

    [Fact]
    public Task EveryGoroutineStartedFromAGoroutineRunsExactlyOnce_LocalQueueOverflowsToGlobal() =>
        // One goroutine spawning 100k in a loop without yielding overflows its P's 256-slot ring many times over:
        // half of it moves to the global queue each time.
        RunAll(Stress.Scale(100_000), body => Go.Run(() =>
        {
            for (int i = 0; i < Stress.Scale(100_000); i++) Go.Run(i, body);
        }));

    [Fact]
    public Task AsyncGoroutinesThatSuspendRunToCompletionExactlyOnce() =>
        RunAll(Stress.Scale(20_000), body =>
        {
            for (int i = 0; i < Stress.Scale(20_000); i++)
            {
                Go.Run(i, async j =>
                {
                    await Go.Yield();
                    await Task.Yield();
                    body(j);
                });
            }
        });

    [Fact]
    public async Task StealingLosesNothing()
    {
        int saved = Go.MaxProcs;
        Go.MaxProcs = 2;
        try
        {
            // The spawner fills its own P's queue and then blocks its thread: the other P can only get the
            // goroutines by stealing them (or by sysmon handing the spawner's P over).
            await RunAll(5_000, body => Go.Run(() =>
            {
                for (int i = 0; i < 5_000; i++) Go.Run(i, body);
                Thread.Sleep(50);
            }));
        }
        finally
        {
            Go.MaxProcs = saved;
        }
    }

    [Fact]
    public async Task ChangingMaxProcsWhileGoroutinesAreQueuedLosesNone()
    {
        int saved = Go.MaxProcs;
        int n = Stress.Scale(20_000);
        var hits = new int[n];
        int remaining = n;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            for (int i = 0; i < n; i++)
            {
                Go.Run(i, async j =>
                {
                    for (int k = 0; k < 5; k++) await Go.Yield();
                    Interlocked.Increment(ref hits[j]);
                    if (Interlocked.Decrement(ref remaining) == 0) done.SetResult();
                });
            }
            foreach (int procs in new[] { 1, 4, 2, 8, 1, 3 })
            {
                Go.MaxProcs = procs;
                Assert.Equal(procs, Go.MaxProcs);
                await Task.Delay(2);
            }
            await done.Task.Within();
            Assert.All(hits, h => Assert.Equal(1, h));
        }
        finally
        {
            Go.MaxProcs = saved;
        }
    }

    [Fact]
    public void NullBodiesAreRejected()
    {
        Assert.Throws<ArgumentNullException>(() => Go.Run((Action)null!));
        Assert.Throws<ArgumentNullException>(() => Go.Run((Func<Task>)null!));
        Assert.Throws<ArgumentNullException>(() => Go.Run(1, (Action<int>)null!));
        Assert.Throws<ArgumentNullException>(() => Go.Run(1, (Func<int, Task>)null!));
    }

    [Fact]
    public async Task DeepSynchronousRecursionFitsOnAnMStack()
    {
        // ~20,000 frames of 320+ bytes each need several MB: far more than a ThreadPool thread's 1.5 MB,
        // well within the 16 MB an M reserves.
        var result = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(() => result.SetResult(Recurse(20_000)));
        Assert.Equal(20_000, await result.Task.Within());
    }

    private static unsafe int Recurse(int depth)
    {
        byte* pad = stackalloc byte[256];
        pad[depth & 255] = (byte)depth;
        return depth == 0 ? pad[0] * 0 : 1 + Recurse(depth - 1) + pad[depth & 255] * 0;
    }

    [Fact]
    public async Task DumpListsWaitingGoroutinesWithReasonAndOrigin()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int started = 0;
        Go.Run(async () => { Interlocked.Increment(ref started); await Go.Sleep(TimeSpan.FromMinutes(5), CancellationToken.None); });
        Go.Run(async () => { Interlocked.Increment(ref started); await release.Task; });
        await Eventually(() => Volatile.Read(ref started) == 2);
        await Eventually(() => Go.Dump().Contains("sleep") && Go.Dump().Contains("foreign await"));
        string dump = Go.Dump();
        Assert.Contains("waiting, sleep", dump);
        Assert.Contains("waiting, foreign await", dump);
        Assert.Contains(nameof(GoroutineTests) + ".cs:", dump);
        release.SetResult();
    }

    internal static async Task Eventually(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TestTimeout.Default);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Condition not reached.\n" + Go.Dump());
            await Task.Delay(5);
        }
    }
}
