using Weft.Ipc;
using Weft.Tests;
using Weft.Tests.Channels;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// The robust named mutex (Locks/IpcMutex.cs). Two handles in one process exclude each other through the kernel as
/// two processes would, so exclusion, abandonment and cancellation are checked with handles standing in for
/// processes; closing a handle's descriptor without unlocking is exactly what the kernel does for a process that
/// dies holding the lock.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IpcMutexTests : IDisposable
{
    private readonly string _name = "weft-mutex-" + Guid.NewGuid().ToString("N");

    public void Dispose() => IpcMutex.Unlink(_name);

    [Fact]
    public async Task HandlesThreadsAndGoroutines_NeverOverlapInside_AndNoUpdateIsLost()
    {
        const int PerWorker = 300;
        using var a = IpcMutex.OpenOrCreate(_name);
        using var b = IpcMutex.OpenOrCreate(_name);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode("/dev/shm/" + _name));
        int inside = 0, overlaps = 0;
        long counter = 0;
        void Critical()
        {
            if (Interlocked.Increment(ref inside) != 1) Interlocked.Increment(ref overlaps);
            long c = counter; // a plain read-modify-write: lost updates show if exclusion fails
            Thread.SpinWait(20);
            counter = c + 1;
            Interlocked.Decrement(ref inside);
        }
        var workers = new List<Task>();
        foreach (var m in new[] { a, b })
        {
            workers.Add(Task.Factory.StartNew(() =>
            {
                for (int i = 0; i < PerWorker; i++) { m.Lock(); Critical(); m.Unlock(); }
            }, TaskCreationOptions.LongRunning));
            workers.Add(GoTask.Run(async () =>
            {
                for (int i = 0; i < PerWorker; i++) { await m.LockAsync(); Critical(); m.Unlock(); }
            }));
        }
        await Task.WhenAll(workers).Within();
        Assert.Equal(0, overlaps);
        Assert.Equal(4 * PerWorker, counter);
    }

    [Fact]
    public async Task TwoUsersOfOneHandle_ExcludeEachOther_ThoughTheKernelLockIsTheHandles()
    {
        // An OFD lock does not exclude a second lock through the same description: the handle's own mutex must.
        using var m = IpcMutex.OpenOrCreate(_name);
        m.Lock();
        Assert.False(await GoTask.Run(() => Task.FromResult(m.TryLock())).Within());
        var second = GoTask.Run(() => m.LockAsync());
        await Task.Delay(50);
        Assert.False(second.IsCompleted);
        m.Unlock();
        await second.Within();
        Assert.False(m.TryLock());
        m.Unlock();
    }

    [Fact]
    public async Task AHolderThatDies_HandsTheLockOnWithTheAbandonedSignal_ToAWaiter_Once()
    {
        var dying = IpcMutex.OpenOrCreate(_name);
        using var next = IpcMutex.OpenOrCreate(_name);
        using var later = IpcMutex.OpenOrCreate(_name);
        dying.Lock();
        Assert.False(next.TryLock());
        var waiter = GoTask.Run(async () =>
        {
            var e = await Assert.ThrowsAsync<AbandonedMutexException>(() => next.LockAsync());
            Assert.Contains(_name, e.Message);
        });
        await Task.Delay(50);
        Assert.False(waiter.IsCompleted);
        dying.DieForTest(); // the kernel drops the lock; "held" stays set
        await waiter.Within();
        Assert.False(later.TryLock()); // the waiter holds it now
        next.Unlock();
        Assert.True(later.TryLock()); // unlocked properly: no abandonment reported again
        later.Unlock();
    }

    [Fact]
    public void ABlockedThreadWithoutAToken_IsWokenByTheKernelWhenTheHolderDies()
    {
        var dying = IpcMutex.OpenOrCreate(_name);
        using var next = IpcMutex.OpenOrCreate(_name);
        dying.Lock();
        Exception? seen = null;
        var t = new Thread(() =>
        {
            try { next.Lock(); }
            catch (Exception e) { seen = e; }
        });
        t.Start();
        Assert.False(t.Join(50));
        dying.DieForTest();
        Assert.True(t.Join(TestTimeout.Default), "the kernel's release did not wake the waiting thread");
        Assert.IsType<AbandonedMutexException>(seen);
        next.Unlock();
    }

    [Fact]
    public async Task ACancelledLock_DoesNotTakeTheMutex_ThreadOrGoroutine()
    {
        using var holder = IpcMutex.OpenOrCreate(_name);
        using var other = IpcMutex.OpenOrCreate(_name);
        holder.Lock();
        using var cts = new CancellationTokenSource();
        var thread = Task.Factory.StartNew(() => other.Lock(cts.Token), TaskCreationOptions.LongRunning);
        var goroutine = GoTask.Run(() => other.LockAsync(cts.Token));
        await Task.Delay(50);
        Assert.False(thread.IsCompleted);
        Assert.False(goroutine.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => thread.Within());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => goroutine.Within());
        holder.Unlock();
        Assert.True(other.TryLock()); // neither cancelled wait kept the lock
        other.Unlock();
    }

    [Fact]
    public void Misuse_IsAClearError()
    {
        Assert.Throws<ArgumentException>(() => IpcMutex.OpenOrCreate("a/b"));
        using var m = IpcMutex.OpenOrCreate(_name);
        var e = Assert.Throws<SynchronizationLockException>(() => m.Unlock());
        Assert.Contains("does not hold", e.Message);
        m.Dispose();
        Assert.Throws<ObjectDisposedException>(() => m.TryLock());
        Assert.True(IpcMutex.Unlink(_name));
        Assert.False(IpcMutex.Unlink(_name));
    }
}
