using Weft.Sync;
using Xunit;

namespace Weft.Tests.Sync;

public class RWMutexTests
{
    [Fact]
    public async Task WriterIsNotStarvedByAStreamOfReaders()
    {
        var rw = new RWMutex();
        using var stop = new CancellationTokenSource();
        var wg = new WaitGroup();
        for (int i = 0; i < 4; i++)
        {
            wg.Go(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await rw.RLockAsync();
                    MutexTests.SpinFor(TimeSpan.FromMicroseconds(50));
                    rw.RUnlock();
                }
            });
        }
        var wrote = new TaskCompletionSource();
        Go.Run(async () =>
        {
            await Go.Sleep(TimeSpan.FromMilliseconds(5));
            for (int i = 0; i < 20; i++)
            {
                await rw.LockAsync();
                rw.Unlock();
            }
            wrote.SetResult();
        });
        try { await wrote.Task.Within(TimeSpan.FromSeconds(20)); }
        finally { stop.Cancel(); }
        await wg.WaitAsync().Within();
    }

    [Fact]
    public async Task ReadersShare_WritersExclude()
    {
        var rw = new RWMutex();
        int readers = 0, writers = 0, bad = 0, maxReaders = 0;
        var wg = new WaitGroup();
        for (int i = 0; i < 8; i++)
        {
            bool writer = i % 4 == 0;
            bool blocking = i % 2 == 1;
            wg.Go(async () =>
            {
                for (int j = 0; j < 3000; j++)
                {
                    if (writer)
                    {
                        if (blocking) rw.Lock(); else await rw.LockAsync();
                        if (Interlocked.Increment(ref writers) != 1 || Volatile.Read(ref readers) != 0) Interlocked.Increment(ref bad);
                        Interlocked.Decrement(ref writers);
                        rw.Unlock();
                    }
                    else
                    {
                        if (blocking) rw.RLock(); else await rw.RLockAsync();
                        int r = Interlocked.Increment(ref readers);
                        if (r > Volatile.Read(ref maxReaders)) Volatile.Write(ref maxReaders, r);
                        if (Volatile.Read(ref writers) != 0) Interlocked.Increment(ref bad);
                        Interlocked.Decrement(ref readers);
                        rw.RUnlock();
                    }
                    if (j % 500 == 0) await Go.Yield();
                }
            });
        }
        await wg.WaitAsync().Within();
        Assert.Equal(0, bad);
        Assert.True(rw.TryLock());
        rw.Unlock();
    }

    [Fact]
    public void PendingWriterBlocksNewReaders()
    {
        var rw = new RWMutex();
        rw.RLock();
        var writer = rw.LockAsync();
        Assert.False(writer.IsCompleted);
        Assert.False(rw.TryRLock()); // a writer waits: new readers queue behind it
        rw.RUnlock();
        Assert.True(writer.IsCompleted);
        rw.Unlock();
        Assert.True(rw.TryRLock());
        rw.RUnlock();
    }

    [Fact]
    public async Task CancelledPendingWriter_LetsQueuedReadersIn()
    {
        var rw = new RWMutex();
        rw.RLock();
        using var cts = new CancellationTokenSource();
        var writer = rw.LockAsync(cts.Token).AsTask();
        var reader = rw.RLockAsync().AsTask();
        Assert.False(reader.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => writer.Within());
        await reader.Within();
        rw.RUnlock();
        rw.RUnlock();
        Assert.True(rw.TryLock());
        rw.Unlock();
    }

    [Fact]
    public void Misuse_Throws()
    {
        var rw = new RWMutex();
        Assert.Throws<SynchronizationLockException>(rw.Unlock);
        Assert.Throws<SynchronizationLockException>(rw.RUnlock);
        Assert.True(rw.TryLock());
        rw.Unlock();
    }
}
