// The RWMutex models' world (RWMutexModelTests): G takes a read or the write lock of the real RWMutex (Sync/RWMutex.cs,
// Waiter.cs, LockedQueue.cs) while a racer holds the other side, so G's wait is queued at the call, detached, and
// committed at its step's end; then G checks what it holds and releases it. The rest is OneGoroutineWorld's.

using Weft.Sync;

namespace Weft.ModelCheck.World;

internal sealed class RWMutexWorld : OneGoroutineWorld
{
    public readonly RWMutex Rw = new();
    public readonly bool Writer; // G takes the write lock (else a read lock)
    public int Acquired;
    public bool HeldAtCall; // the lock G asked for was free at the call (no wait): never, since the release waits for the call
    public bool Called;     // G's first call has returned (its wait is queued, detached)
    private readonly int _takes;

    /// <param name="writer">G takes the write lock; else a read lock.</param>
    /// <param name="takes">How many times in a row (a pooled node serves each wait).</param>
    public RWMutexWorld(bool writer, int takes)
    {
        Writer = writer;
        _takes = takes;
        // The other side holds the mutex from the start: a writer for G's read, a reader for G's write.
        if (!(writer ? Rw.TryRLock() : Rw.TryLock())) throw new InvalidOperationException("The racer's side could not be taken at setup.");
    }

    protected override void FirstStep()
    {
        InStep("The lock call");
        var vt = Writer ? Rw.LockAsync() : Rw.RLockAsync();
        Called = true;
        if (vt.IsCompleted)
        {
            HeldAtCall = true;
            Got(vt);
            return;
        }
        vt.GetAwaiter().UnsafeOnCompleted(() => Got(vt));
    }

    private void Got(ValueTask vt)
    {
        InStep("The lock's continuation");
        vt.GetAwaiter().GetResult();
        Acquired++;
        int s = Rw.State;
        if (Writer && s != RWMutex.Writer)
            throw new InvalidOperationException($"G holds the write lock with state {s:X}: a reader or a second writer is in.");
        if (!Writer && ((s & RWMutex.Writer) != 0 || (s & RWMutex.ReaderMask) == 0))
            throw new InvalidOperationException($"G holds a read lock with state {s:X}: a writer is in, or G is not counted.");
        if (Writer) Rw.Unlock(); else Rw.RUnlock();
        if (Acquired < _takes) FirstStep();
    }

    /// <summary>
    /// The racer's side lets go, once G's call has queued its wait (so the release races the commit, not the call):
    /// the writer's Unlock hands over to the queued reader, the last reader's RUnlock to the draining writer.
    /// </summary>
    public void Release()
    {
        Harness.ModelChecker.WaitUntil(() => Called, "the release waits for G's call");
        Racing("release", () =>
        {
            if (Writer) Rw.RUnlock(); else Rw.Unlock();
        });
    }
}
