using Weft.Ipc;
using Weft.Tests;
using Weft.Tests.Channels;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// The named semaphore (Semaphores/IpcSemaphore.cs): two handles on one name share the count, the count bounds how many
/// hold a permit at once across threads and goroutines, a cancelled wait takes no permit, and misuse is a clear error.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IpcSemaphoreTests : IDisposable
{
    private readonly string _name = "weft-sem-" + Guid.NewGuid().ToString("N");

    public void Dispose() => IpcSemaphore.Unlink(_name);

    [Fact]
    public void TwoHandlesShareTheCount_AndTheFileIs0600()
    {
        using var a = IpcSemaphore.Create(_name, 2);
        using var b = IpcSemaphore.Open(_name);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode("/dev/shm/sem." + _name));
        Assert.True(a.TryAcquire());
        Assert.True(b.TryAcquire());
        Assert.False(a.TryAcquire());
        Assert.Equal(0, b.CurrentCount);
        b.Release(2);
        Assert.Equal(2, a.CurrentCount);
    }

    [Fact]
    public async Task ThreadsAndGoroutines_NeverHoldMorePermitsThanTheCount_AndEveryOneGetsItsTurns()
    {
        const int Permits = 2, Workers = 6, Rounds = 200;
        using var a = IpcSemaphore.Create(_name, Permits);
        using var b = IpcSemaphore.Open(_name);
        int inside = 0, maxInside = 0, done = 0;
        void Enter()
        {
            int now = Interlocked.Increment(ref inside);
            int seen;
            while (now > (seen = Volatile.Read(ref maxInside)) && Interlocked.CompareExchange(ref maxInside, now, seen) != seen) { }
            Thread.SpinWait(50);
            Interlocked.Decrement(ref inside);
        }
        var tasks = new List<Task>();
        for (int w = 0; w < Workers; w++)
        {
            var s = w % 2 == 0 ? a : b;
            if (w % 3 == 0)
            {
                tasks.Add(Task.Factory.StartNew(() =>
                {
                    for (int i = 0; i < Rounds; i++) { s.Acquire(); Enter(); s.Release(); }
                    Interlocked.Increment(ref done);
                }, TaskCreationOptions.LongRunning));
            }
            else
            {
                tasks.Add(GoTask.Run(async () =>
                {
                    for (int i = 0; i < Rounds; i++) { await s.AcquireAsync(); Enter(); s.Release(); }
                    Interlocked.Increment(ref done);
                }));
            }
        }
        await Task.WhenAll(tasks).Within();
        Assert.Equal(Workers, done);
        Assert.InRange(maxInside, 1, Permits);
        Assert.Equal(Permits, a.CurrentCount);
    }

    [Fact]
    public async Task ACancelledWait_TakesNoPermit_ThreadOrGoroutine()
    {
        using var s = IpcSemaphore.Create(_name, 0);
        using var cts = new CancellationTokenSource();
        var thread = Task.Factory.StartNew(() => s.Acquire(cts.Token), TaskCreationOptions.LongRunning);
        var goroutine = GoTask.Run(() => s.AcquireAsync(cts.Token));
        await Task.Delay(100);
        Assert.False(thread.IsCompleted);
        Assert.False(goroutine.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => thread.Within());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => goroutine.Within());
        s.Release();
        Assert.Equal(1, s.CurrentCount); // the release went to nobody: both waits gave up without a permit
        Assert.True(s.TryAcquire());
    }

    [Fact]
    public async Task AGoroutineWaiting_IsWokenByAReleaseThroughAnotherHandle()
    {
        using var a = IpcSemaphore.Create(_name, 0);
        using var b = IpcSemaphore.Open(_name);
        var got = GoTask.Run(() => a.AcquireAsync());
        await Task.Delay(50);
        Assert.False(got.IsCompleted);
        b.Release();
        await got.Within();
        Assert.Equal(0, a.CurrentCount);
    }

    [Fact]
    public void Misuse_IsAClearError()
    {
        Assert.Throws<ArgumentException>(() => IpcSemaphore.Create("a/b", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcSemaphore.Create(_name, -1));
        var missing = Assert.Throws<IpcException>(() => IpcSemaphore.Open(_name));
        Assert.Equal(2, missing.Errno); // ENOENT
        Assert.Contains("/" + _name, missing.Message);
        using var s = IpcSemaphore.Create(_name, 1);
        Assert.Equal(17, Assert.Throws<IpcException>(() => IpcSemaphore.Create(_name, 1)).Errno); // EEXIST
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Release(0));
        s.Dispose();
        Assert.Throws<ObjectDisposedException>(() => s.TryAcquire());
        Assert.True(IpcSemaphore.Unlink(_name));
        Assert.False(IpcSemaphore.Unlink(_name));
    }
}
