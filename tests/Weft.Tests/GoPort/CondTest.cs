using Weft.Sync;
using Xunit;
using Mutex = Weft.Sync.Mutex;

namespace Weft.Tests.GoPort;

/// <summary>
/// Go's src/sync/cond_test.go, re-expressed against <see cref="Cond"/>. TestCondCopy checks Go's copy detector: a
/// Weft Cond is a class, so it cannot be copied by value; not ported. The benchmarks are not tests.
/// </summary>
public class CondTest
{
    [Fact]
    public async Task TestCondSignal()
    {
        var m = new Mutex();
        var c = new Cond(m);
        int n = 2;
        var running = new Chan<bool>(n);
        var awake = new Chan<bool>(n);
        for (int i = 0; i < n; i++)
        {
            Go.Run(async () =>
            {
                await m.LockAsync();
                await running.SendAsync(true);
                await c.WaitAsync();
                await awake.SendAsync(true);
                m.Unlock();
            });
        }
        for (int i = 0; i < n; i++) await running.ReceiveAsync().Within(); // everyone runs
        while (n > 0)
        {
            Assert.False(awake.TryReceive(out _), "goroutine not asleep");
            await m.LockAsync(); // each waiter released m inside Wait, so each is queued by now
            c.Signal();
            m.Unlock();
            await awake.ReceiveAsync().Within(); // hangs (and times out) if no goroutine wakes up
            Assert.False(awake.TryReceive(out _), "too many goroutines awake");
            n--;
        }
        c.Signal();
    }

    [Fact]
    public async Task TestCondSignalGenerations()
    {
        var m = new Mutex();
        var c = new Cond(m);
        const int n = 100;
        var running = new Chan<bool>(n);
        var awake = new Chan<int>(n);
        for (int i = 0; i < n; i++)
        {
            int id = i;
            Go.Run(async () =>
            {
                await m.LockAsync();
                await running.SendAsync(true);
                await c.WaitAsync();
                await awake.SendAsync(id);
                m.Unlock();
            });
            if (i > 0)
            {
                int a = await awake.ReceiveAsync().Within();
                Assert.True(a == i - 1, $"wrong goroutine woke up: want {i - 1}, got {a}");
            }
            await running.ReceiveAsync().Within();
            await m.LockAsync();
            c.Signal();
            m.Unlock();
        }
    }

    [Fact]
    public async Task TestRace()
    {
        int x = 0;
        var c = new Cond(new Mutex());
        var done = new Chan<bool>();
        int errors = 0;
        Go.Run(async () =>
        {
            await c.L.LockAsync();
            x = 1;
            await c.WaitAsync();
            if (x != 2) Interlocked.Increment(ref errors); // want 2
            x = 3;
            c.Signal();
            c.L.Unlock();
            await done.SendAsync(true);
        });
        Go.Run(async () =>
        {
            await c.L.LockAsync();
            while (true)
            {
                if (x == 1)
                {
                    x = 2;
                    c.Signal();
                    break;
                }
                c.L.Unlock();
                await Go.Yield();
                await c.L.LockAsync();
            }
            c.L.Unlock();
            await done.SendAsync(true);
        });
        Go.Run(async () =>
        {
            await c.L.LockAsync();
            while (true)
            {
                if (x == 2)
                {
                    await c.WaitAsync();
                    if (x != 3) Interlocked.Increment(ref errors); // want 3
                    break;
                }
                if (x == 3) break;
                c.L.Unlock();
                await Go.Yield();
                await c.L.LockAsync();
            }
            c.L.Unlock();
            await done.SendAsync(true);
        });
        for (int i = 0; i < 3; i++) await done.ReceiveAsync().Within();
        Assert.Equal(0, errors);
    }

    [Fact]
    public async Task TestCondSignalStealing()
    {
        for (int iters = 0; iters < 1000; iters++)
        {
            var m = new Mutex();
            var cond = new Cond(m);
            var ch = new Chan<bool>();
            Go.Run(async () =>
            {
                await m.LockAsync();
                await ch.SendAsync(true);
                await cond.WaitAsync();
                m.Unlock();
                await ch.SendAsync(true);
            });
            await ch.ReceiveAsync().Within();
            await m.LockAsync(); // the waiter is inside Wait: it held m when it sent, and Wait released it
            m.Unlock();
            // Race a Broadcast against a new waiter: the new one may or may not be woken; the first one must be.
            bool done = false;
            Go.Run(() => cond.Broadcast());
            Go.Run(async () =>
            {
                await m.LockAsync();
                while (!done) await cond.WaitAsync();
                m.Unlock();
            });
            await ch.ReceiveAsync().Within(TestTimeout.AtMost(TimeSpan.FromSeconds(2))); // "First waiter didn't get broadcast."
            await m.LockAsync();
            done = true; // release the second waiter in case it missed the broadcast
            m.Unlock();
            cond.Broadcast();
        }
    }

    [Fact]
    public async Task TestCondBroadcast()
    {
        var m = new Mutex();
        var c = new Cond(m);
        const int n = 200;
        var running = new Chan<int>(n);
        var awake = new Chan<int>(n);
        bool exit = false;
        for (int i = 0; i < n; i++)
        {
            int g = i;
            Go.Run(async () =>
            {
                await m.LockAsync();
                while (!exit)
                {
                    await running.SendAsync(g);
                    await c.WaitAsync();
                    await awake.SendAsync(g);
                }
                m.Unlock();
            });
        }
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) await running.ReceiveAsync().Within(); // hangs unless n are running
            if (i == n - 1)
            {
                await m.LockAsync();
                exit = true;
                m.Unlock();
            }
            Assert.False(awake.TryReceive(out _), "goroutine not asleep");
            await m.LockAsync();
            c.Broadcast();
            m.Unlock();
            var seen = new bool[n];
            for (int j = 0; j < n; j++)
            {
                int g = await awake.ReceiveAsync().Within();
                Assert.False(seen[g], "goroutine woke up twice");
                seen[g] = true;
            }
        }
        Assert.False(running.TryReceive(out _), "goroutine did not exit");
        c.Broadcast();
    }
}
