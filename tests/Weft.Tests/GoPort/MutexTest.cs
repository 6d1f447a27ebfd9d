using Weft.Sync;
using Xunit;
using Mutex = Weft.Sync.Mutex;

namespace Weft.Tests.GoPort;

/// <summary>
/// Go's src/sync/mutex_test.go, re-expressed against <see cref="Mutex"/> and <see cref="RWMutex"/>.
/// TestSemaphore and TestSemaphoreHandoff test the runtime's internal semaphore (runtime_Semacquire), which Weft
/// does not have: not ported. The benchmarks are not tests.
/// </summary>
public class MutexTest
{
    private static async Task HammerMutex(Mutex m, int loops)
    {
        for (int i = 0; i < loops; i++)
        {
            if (i % 3 == 0)
            {
                if (m.TryLock()) m.Unlock();
                continue;
            }
            await m.LockAsync();
            m.Unlock();
        }
    }

    [Fact]
    public async Task TestMutex()
    {
        var m = new Mutex();
        TestTimeout.Blocking(() => m.Lock());
        Assert.False(m.TryLock(), "TryLock succeeded with mutex locked");
        m.Unlock();
        Assert.True(m.TryLock(), "TryLock failed with mutex unlocked");
        m.Unlock();
        var wg = new WaitGroup();
        for (int i = 0; i < 10; i++) wg.Go(() => HammerMutex(m, 1000));
        await wg.WaitAsync().Within();
        Assert.False(m.IsLocked);
    }

    /// <summary>
    /// Go runs each misuse in a child process and expects the fatal error "sync: unlock of unlocked mutex" (or
    /// RUnlock). Deviation (docs/go-differences.md): Weft throws <see cref="SynchronizationLockException"/> and
    /// leaves the lock as it was, usable.
    /// </summary>
    [Theory]
    [InlineData("Mutex.Unlock")]
    [InlineData("Mutex.Unlock2")]
    [InlineData("RWMutex.Unlock")]
    [InlineData("RWMutex.Unlock2")]
    [InlineData("RWMutex.Unlock3")]
    [InlineData("RWMutex.RUnlock")]
    [InlineData("RWMutex.RUnlock2")]
    [InlineData("RWMutex.RUnlock3")]
    public void TestMutexMisuse(string name)
    {
        var mu = new Mutex();
        var rw = new RWMutex();
        Action misuse = name switch
        {
            "Mutex.Unlock" => () => mu.Unlock(),
            "Mutex.Unlock2" => () => { mu.Lock(); mu.Unlock(); mu.Unlock(); },
            "RWMutex.Unlock" => () => rw.Unlock(),
            "RWMutex.Unlock2" => () => { rw.RLock(); rw.Unlock(); },
            "RWMutex.Unlock3" => () => { rw.Lock(); rw.Unlock(); rw.Unlock(); },
            "RWMutex.RUnlock" => () => rw.RUnlock(),
            "RWMutex.RUnlock2" => () => { rw.Lock(); rw.RUnlock(); },
            "RWMutex.RUnlock3" => () => { rw.RLock(); rw.RUnlock(); rw.RUnlock(); },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var e = Assert.Throws<SynchronizationLockException>(() => TestTimeout.Blocking(misuse)); // bounded: a Lock that hangs fails here
        Assert.Contains("unlocked mutex", e.Message);
        // Still usable, and left as it was (a read lock or write lock taken before the misuse is still held).
        Assert.False(mu.IsQueueLockHeld);
        Assert.False(rw.IsQueueLockHeld);
        if (name == "RWMutex.Unlock2") rw.RUnlock();
        if (name == "RWMutex.RUnlock2") rw.Unlock();
        Assert.True(mu.TryLock());
        mu.Unlock();
        Assert.True(rw.TryLock());
        rw.Unlock();
    }

    [Fact]
    public async Task TestMutexFairness()
    {
        // One goroutine holds the mutex 100 µs at a time and re-locks at once; another must still get it 10 times
        // within 10 s (starvation mode hands it over).
        var mu = new Mutex();
        bool stop = false; // Go closes a channel and polls it with select-default: a flag checks the same
        Go.Run(async () =>
        {
            while (true)
            {
                await mu.LockAsync();
                await Go.Sleep(TimeSpan.FromMicroseconds(100));
                mu.Unlock();
                if (Volatile.Read(ref stop)) return;
            }
        });
        var done = new TaskCompletionSource();
        Go.Run(async () =>
        {
            for (int i = 0; i < 10; i++)
            {
                await Go.Sleep(TimeSpan.FromMicroseconds(100));
                await mu.LockAsync();
                mu.Unlock();
            }
            done.SetResult();
        });
        try
        {
            await done.Task.Within(TestTimeout.AtMost(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            Volatile.Write(ref stop, true);
        }
    }
}
