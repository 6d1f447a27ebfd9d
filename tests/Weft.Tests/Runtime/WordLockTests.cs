using Weft.Runtime;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>
/// WordLock's two ways to wait (spin, as select and the runtime do; yield at once, as the plain channel operations
/// do) exclude each other: threads that mix them never overlap inside the lock and lose no update.
/// </summary>
public class WordLockTests
{
    private sealed class Shared
    {
        public WordLock Lock;
        public int Inside;     // threads inside the lock right now; must never exceed 1
        public long Counter;   // incremented without atomics, under the lock only
        public int Overlaps;
    }

    [Fact]
    public async Task ThreadsMixingSpinningAndYieldingWaits_NeverOverlapAndLoseNoIncrement()
    {
        int perThread = Stress.Scale(50_000);
        const int threads = 4;
        var s = new Shared();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            bool yielding = t % 2 == 0;
            start.SignalAndWait();
            for (int i = 0; i < perThread; i++)
            {
                if (yielding) s.Lock.EnterYielding();
                else s.Lock.Enter();
                if (Interlocked.Increment(ref s.Inside) != 1) Interlocked.Increment(ref s.Overlaps);
                long c = s.Counter;
                Thread.SpinWait(10); // widen the window in which an intruder would be seen
                s.Counter = c + 1;
                Interlocked.Decrement(ref s.Inside);
                s.Lock.Exit();
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers).Within();
        Assert.Equal(0, s.Overlaps);
        Assert.Equal((long)threads * perThread, s.Counter);
        Assert.False(s.Lock.IsHeld);
    }
}
