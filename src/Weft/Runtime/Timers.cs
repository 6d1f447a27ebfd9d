// Timers — one min-heap per P (Go 1.14+'s per-P timers), so a million sleeping goroutines cost a million heap
// entries and no .NET timer at all.
//
// Glossary
//   TimerNode  an entry: a deadline and what to do when it passes (Fire). Sleep, Go.After, Timer and Ticker
//              derive from it. A node sits in at most one heap; Heap/Index say where (guarded by that heap's lock).
//   NextWhen   the heap's earliest deadline, published with a release store after every change so an M can check
//              "anything due?" without the lock (a stale value costs one locked look or one extra wake, never a
//              missed timer: every change that lowers it also runs Scheduler.OnTimerAdded).
//   When       a deadline from Clock.Deadline, the one place a duration becomes a deadline: a non-positive duration
//              is due now, one too large to add saturates at Clock.FarFuture (pending, never reached), as Go's
//              when()/maxWhen; a wrapped sum once turned TimeSpan.MaxValue into "already due".
//
// Who runs a heap
//   * the M that owns the P, at each scheduling point (Processor.RunTimers);
//   * a spinning M, for other Ps' heaps while it looks for work (Go's stealWork checks timers too);
//   * a parked M sleeps until the earliest deadline over all heaps; sysmon is the backstop for a P whose M is
//     stuck in a long step.
// Fire runs outside the heap lock: expired nodes are popped under the lock and fired after it is released, so a
// timer callback that touches another heap or readies a goroutine never nests locks.
//
// Dropped timers (Go 1.23 collects a timer or ticker that nothing references, even unstopped)
//   A heap holds its nodes strongly, so a node must not hold what the user dropped: a timer channel's node
//   (ChanTimer) reaches its channel only through a weak reference, unless a receiver is parked on it (ChanTimer.cs
//   has the whole design). A node whose channel was collected is Abandoned: nobody can ever see it fire. Purge drops
//   abandoned nodes and lets go of stale receiver pins (ReleaseIdlePin); it runs
//     * in Add when the array is full, before growing it: O(n), and the array only stays put if a quarter of it was
//       freed, so a purge costs O(1) amortised per Add and a heap of live timers pays one scan per doubling;
//     * after every gen-2 collection, from a finalizer that re-registers itself (GcWatch), for every live heap, so a
//       heap that stopped growing also lets go of what the collector freed.
//   The array never shrinks: steady state allocates nothing, and a burst's array is reused by the next burst.
//   A purge holds the heap's lock for one pass over the heap (a million sleepers: a million cheap checks, once per
//   gen-2 collection). Lock order: GcWatch's list, then a heap's lock; ReleaseIdlePin takes no channel lock.
//
// Rejected: one global heap (a lock every sleep takes, the thing Go moved away from in 1.14); a timer wheel
// (cheaper insert, but coarse and wasteful for the common case of few timers per P).

using System.Diagnostics;

namespace Weft.Runtime;

/// <summary>An entry in a per-P timer heap.</summary>
internal abstract class TimerNode
{
    /// <summary>Deadline in <see cref="Clock"/> ticks; guarded by the heap's lock while queued.</summary>
    internal long When;
    internal TimerHeap? Heap; // guarded by Heap's lock
    internal int Index = -1;  // guarded by Heap's lock

    /// <summary>Runs when the deadline has passed, on whichever M ran the heap, outside any lock.</summary>
    internal abstract void Fire(long now);

    /// <summary>True once nothing can observe this timer firing (its channel was collected): Purge drops it. Read under the heap's lock.</summary>
    internal virtual bool Abandoned => false;

    /// <summary>Purge, under the heap's lock: stop holding strongly what only a parked receiver needed, if none is parked now.</summary>
    internal virtual void ReleaseIdlePin() { }
}

/// <summary>A P's timer heap. Every member takes the heap's own lock.</summary>
internal sealed class TimerHeap
{
    [System.Runtime.CompilerServices.InlineArray(32)]
    private struct FireBatch
    {
        private TimerNode? _first;
    }

    private readonly Lock _lock = new();
    private TimerNode[] _items = new TimerNode[16]; // guarded by _lock
    private int _count; // guarded by _lock
    private long _nextWhen = Clock.Never; // written under _lock, read racily
    private readonly Action<long> _onEarliestChanged;

    /// <param name="onEarliestChanged">Told (outside the lock) when an Add makes a new earliest deadline: the
    /// scheduler's wake-up logic for per-P heaps, nothing for a bubble (its own loop reads the heap).</param>
    public TimerHeap(Action<long>? onEarliestChanged = null)
    {
        _onEarliestChanged = onEarliestChanged ?? Scheduler.OnTimerAdded;
        GcWatch.Register(this);
    }

    public long NextWhen => Volatile.Read(ref _nextWhen);

    public int Count => Volatile.Read(ref _count);

    public void Add(TimerNode t, long when)
    {
        bool earliest;
        lock (_lock)
        {
            Debug.Assert(t.Heap is null, "A timer sits in at most one heap.");
            t.When = when;
            t.Heap = this;
            if (_count == _items.Length)
            {
                PurgeLocked();
                if (_count > _items.Length / 4 * 3) Array.Resize(ref _items, _items.Length * 2);
            }
            t.Index = _count;
            _items[_count++] = t;
            Up(t.Index);
            earliest = _items[0] == t;
            if (earliest) Volatile.Write(ref _nextWhen, when);
        }
        if (earliest) _onEarliestChanged(when);
    }

    /// <summary>Removes <paramref name="t"/> if it is still queued here; false when it already fired or left.</summary>
    public bool Remove(TimerNode t)
    {
        lock (_lock)
        {
            if (t.Heap != this) return false;
            RemoveAt(t.Index);
            return true;
        }
    }

    private void RemoveAt(int i)
    {
        var t = _items[i];
        int last = --_count;
        if (i != last)
        {
            _items[i] = _items[last];
            _items[i].Index = i;
            _items[last] = null!;
            if (!Up(i)) Down(i);
        }
        else
        {
            _items[last] = null!;
        }
        t.Heap = null;
        t.Index = -1;
        Volatile.Write(ref _nextWhen, _count == 0 ? Clock.Never : _items[0].When);
    }

    /// <summary>
    /// Fires every timer due at <paramref name="now"/>. Returns how many fired. Called between goroutine steps (an M's
    /// scheduling loop, the bubble's loop), never inside one.
    /// </summary>
    public int RunExpired(long now)
    {
        if (Volatile.Read(ref _nextWhen) > now) return 0;
        // A step leaves its goroutine as the thread's context (Goroutine.RunStep, for speed). Timer callbacks run
        // outside any step, so clear it: a continuation that goroutine captured must not find its context current
        // here and run inline, outside its step.
        SynchronizationContext.SetSynchronizationContext(null);
        int fired = 0;
        var buffer = default(FireBatch);
        Span<TimerNode?> batch = buffer;
        while (true)
        {
            int n = 0;
            lock (_lock)
            {
                while (n < batch.Length && _count > 0 && _items[0].When <= now)
                {
                    batch[n++] = _items[0];
                    RemoveAt(0);
                }
            }
            for (int i = 0; i < n; i++)
            {
                batch[i]!.Fire(now);
                batch[i] = null;
            }
            fired += n;
            if (n < batch.Length) return fired;
        }
    }

    /// <summary>Drops abandoned timers and releases idle pins (see the essay). Returns how many timers it dropped.</summary>
    public int Purge()
    {
        lock (_lock) return PurgeLocked();
    }

    private int PurgeLocked()
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "A heap is purged only under its lock.");
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            var t = _items[i];
            if (t.Abandoned)
            {
                t.Heap = null;
                t.Index = -1;
                continue;
            }
            t.ReleaseIdlePin();
            _items[kept++] = t;
        }
        int dropped = _count - kept;
        if (dropped == 0) return 0;
        Array.Clear(_items, kept, dropped);
        _count = kept;
        for (int i = 0; i < _count; i++) _items[i].Index = i;
        for (int i = (_count - 2) / 4; i >= 0; i--) Down(i); // Floyd's heapify: O(n)
        AssertHeapOrder();
        // Dropping entries never lowers the earliest deadline, so no M needs waking (OnTimerAdded's case).
        Volatile.Write(ref _nextWhen, _count == 0 ? Clock.Never : _items[0].When);
        return dropped;
    }

    [Conditional("DEBUG")]
    private void AssertHeapOrder()
    {
        for (int i = 0; i < _count; i++)
        {
            Debug.Assert(_items[i].Index == i && _items[i].Heap == this, "Every queued timer knows its heap and its slot.");
            Debug.Assert(i == 0 || _items[(i - 1) / 4].When <= _items[i].When, "No timer is due before its parent in the 4-ary heap.");
        }
    }

    /// <summary>
    /// Runs Purge on every live heap after each gen-2 collection: a finalizable object nothing references, which
    /// re-registers itself when finalized (the BCL's Gen2GcCallback pattern, for ArrayPool trimming). Heaps are
    /// listed weakly, so a finished bubble's heap is collected and leaves the list at the next sweep.
    /// </summary>
    private sealed class GcWatch
    {
        private static readonly List<WeakReference<TimerHeap>> s_heaps = new(); // guarded by itself
        private static bool s_started; // guarded by s_heaps

        public static void Register(TimerHeap heap)
        {
            lock (s_heaps)
            {
                s_heaps.Add(new WeakReference<TimerHeap>(heap));
                if (s_started) return;
                s_started = true;
                _ = new GcWatch(); // unreferenced on purpose: only the finalization queue knows it
            }
        }

        ~GcWatch()
        {
            if (Environment.HasShutdownStarted) return;
            try { PurgeAll(); } catch { /* never let a finalizer throw; the next collection tries again */ }
            GC.ReRegisterForFinalize(this);
        }

        internal static void PurgeAll()
        {
            lock (s_heaps)
            {
                for (int i = s_heaps.Count - 1; i >= 0; i--)
                {
                    if (s_heaps[i].TryGetTarget(out var heap)) heap.Purge();
                    else s_heaps.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Moves every timer to <paramref name="other"/> (a P leaving service).</summary>
    public void MoveAllTo(TimerHeap other)
    {
        List<TimerNode> all;
        lock (_lock)
        {
            all = new List<TimerNode>(_count);
            while (_count > 0)
            {
                var t = _items[0];
                RemoveAt(0);
                all.Add(t);
            }
        }
        foreach (var t in all) other.Add(t, t.When);
    }

    private bool Up(int i)
    {
        var t = _items[i];
        int start = i;
        while (i > 0)
        {
            int parent = (i - 1) / 4;
            if (_items[parent].When <= t.When) break;
            _items[i] = _items[parent];
            _items[i].Index = i;
            i = parent;
        }
        _items[i] = t;
        t.Index = i;
        return i != start;
    }

    private void Down(int i)
    {
        var t = _items[i];
        while (true)
        {
            int first = i * 4 + 1;
            if (first >= _count) break;
            int best = first;
            int end = Math.Min(first + 4, _count);
            for (int c = first + 1; c < end; c++)
                if (_items[c].When < _items[best].When) best = c;
            if (_items[best].When >= t.When) break;
            _items[i] = _items[best];
            _items[i].Index = i;
            i = best;
        }
        _items[i] = t;
        t.Index = i;
    }
}
