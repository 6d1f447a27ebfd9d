using Weft.Sync;
using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Go's src/sync/rwmutex_test.go, re-expressed against <see cref="RWMutex"/>. Go sets GOMAXPROCS per case; Weft's
/// MaxProcs is process-wide and other tests share it, so the cases run at the current MaxProcs (the reader and
/// writer counts and the iteration counts are Go's). The benchmarks are not tests.
/// </summary>
public class RWMutexTest
{
    private static async Task DoTestParallelReaders(int numReaders)
    {
        var m = new RWMutex();
        var clocked = new Chan<bool>();
        var cunlock = new Chan<bool>();
        var cdone = new Chan<bool>();
        for (int i = 0; i < numReaders; i++)
        {
            Go.Run(async () =>
            {
                await m.RLockAsync();
                await clocked.SendAsync(true);
                await cunlock.ReceiveAsync();
                m.RUnlock();
                await cdone.SendAsync(true);
            });
        }
        // Every reader holds its read lock before any is asked to let go: they hold it together.
        for (int i = 0; i < numReaders; i++) await clocked.ReceiveAsync();
        for (int i = 0; i < numReaders; i++) await cunlock.SendAsync(true);
        for (int i = 0; i < numReaders; i++) await cdone.ReceiveAsync();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public Task TestParallelReaders(int numReaders) => DoTestParallelReaders(numReaders).Within();

    private static async Task HammerRWMutex(int numReaders, int numIterations)
    {
        // Activity = active readers + 10000 x active writers: a writer must see exactly 10000, a reader 1 to 9999.
        int activity = 0, bad = 0;
        var rwm = new RWMutex();
        var wg = new WaitGroup();
        void Writer() => wg.Go(async () =>
        {
            for (int i = 0; i < numIterations; i++)
            {
                await rwm.LockAsync();
                if (Interlocked.Add(ref activity, 10000) != 10000) Interlocked.Increment(ref bad);
                Thread.SpinWait(100);
                Interlocked.Add(ref activity, -10000);
                rwm.Unlock();
            }
        });
        void Reader() => wg.Go(async () =>
        {
            for (int i = 0; i < numIterations; i++)
            {
                await rwm.RLockAsync();
                int a = Interlocked.Increment(ref activity);
                if (a < 1 || a >= 10000) Interlocked.Increment(ref bad);
                Thread.SpinWait(100);
                Interlocked.Decrement(ref activity);
                rwm.RUnlock();
            }
        });
        Writer();
        int r = 0;
        for (; r < numReaders / 2; r++) Reader();
        Writer();
        for (; r < numReaders; r++) Reader();
        await wg.WaitAsync();
        Assert.Equal(0, bad);
    }

    [Fact]
    public async Task TestRWMutex()
    {
        var m = new RWMutex();
        TestTimeout.Blocking(() => m.Lock());
        Assert.False(m.TryLock(), "TryLock succeeded with mutex locked");
        Assert.False(m.TryRLock(), "TryRLock succeeded with mutex locked");
        m.Unlock();
        Assert.True(m.TryLock(), "TryLock failed with mutex unlocked");
        m.Unlock();
        Assert.True(m.TryRLock(), "TryRLock failed with mutex unlocked");
        Assert.True(m.TryRLock(), "TryRLock failed with mutex rlocked");
        Assert.False(m.TryLock(), "TryLock succeeded with mutex rlocked");
        m.RUnlock();
        m.RUnlock();

        const int n = 1000;
        foreach (int readers in new[] { 1, 3, 10, 1, 3, 10, 1, 3, 10, 5 })
            await HammerRWMutex(readers, n).Within();
    }

    [Fact]
    public async Task TestRLocker()
    {
        var wl = new RWMutex();
        var rl = wl.RLocker();
        var wlocked = new Chan<bool>(1);
        var rlocked = new Chan<bool>(1);
        const int n = 10;
        Go.Run(async () =>
        {
            for (int i = 0; i < n; i++)
            {
                await rl.LockAsync();
                await rl.LockAsync();
                await rlocked.SendAsync(true);
                await wl.LockAsync();
                await wlocked.SendAsync(true);
            }
        });
        for (int i = 0; i < n; i++)
        {
            await rlocked.ReceiveAsync().Within();
            rl.Unlock();
            Assert.False(wlocked.TryReceive(out _), "RLocker() didn't read-lock it");
            rl.Unlock();
            await wlocked.ReceiveAsync().Within();
            Assert.False(rlocked.TryReceive(out _), "RLocker() didn't respect the write lock");
            wl.Unlock();
        }
    }
}
