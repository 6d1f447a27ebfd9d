// Registry — the set of live goroutines, for Go.NumGoroutine and dumps.
//
// Go keeps allgs under one lock and never frees a g. Here the set is striped and pruned lazily:
//   * a goroutine joins the stripe of the thread that starts it (each M lands on its own stripe in practice):
//     a push onto that stripe's singly-linked list (Goroutine.RegNext) under the stripe's spin lock, which only
//     that thread normally takes, so the lock's cache line stays in its core;
//   * a goroutine that finishes does not unlink itself. Unlinking from whichever core ran its last step would
//     pull the stripe's lock and its neighbours' links across cores on every spawn-run-exit; instead it counts
//     itself (in the finishing M's own counter, or the finishing thread's stripe) and is unlinked by the next
//     prune of its own stripe;
//   * a stripe prunes (drops finished goroutines) when its list has doubled since the last prune, so the cost is
//     amortised O(1) per start and dead records are at most half of any list; sysmon prunes stripes whose thread
//     stopped starting goroutines, so their dead records do not linger.
// Live = sum(Started) - sum(Finished): racy between stripes, exact when nothing starts or ends.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Weft.Runtime;

internal static class Registry
{
    private const int MinPrune = 1024;

    [StructLayout(LayoutKind.Sequential, Size = 128)]
    private struct Counters
    {
        public WordLock Lock;
        public int Length;       // list nodes, live and dead; guarded by Lock
        public int PruneAt;      // guarded by Lock
        public long Started;     // guarded by Lock
        public long Finished;    // Interlocked, by threads that map to this stripe
        public long FinishedAtLastSweep; // sysmon only
    }

    private sealed class Stripe
    {
        public Counters C;
        public Goroutine? Head; // guarded by C.Lock
    }

    private static readonly Stripe[] s_stripes = CreateStripes();

    private static Stripe[] CreateStripes()
    {
        int n = 8;
        while (n < Environment.ProcessorCount * 4) n <<= 1;
        var a = new Stripe[n];
        for (int i = 0; i < a.Length; i++) a[i] = new Stripe { C = { PruneAt = MinPrune } };
        return a;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Stripe Mine() => s_stripes[Environment.CurrentManagedThreadId & (s_stripes.Length - 1)];

    private static void Lock(Stripe s) => s.C.Lock.Enter();

    private static void Unlock(Stripe s) => s.C.Lock.Exit();

    public static void Add(Goroutine g)
    {
        var s = Mine();
        Lock(s);
        g.RegNext = s.Head;
        s.Head = g;
        s.C.Started++;
        if (++s.C.Length >= s.C.PruneAt) PruneLocked(s);
        Unlock(s);
    }

    /// <summary>
    /// Counts a finished goroutine: on an M in the M's own counter (a plain store, that thread is its only writer),
    /// elsewhere in the thread's stripe by Interlocked. Nothing is unlinked here; see the essay.
    /// </summary>
    public static void Remove(Goroutine g)
    {
        var m = Machine.Current;
        if (m is not null) Volatile.Write(ref m.Finished, m.Finished + 1);
        else Interlocked.Increment(ref Mine().C.Finished);
    }

    private static long TotalFinished()
    {
        long finished = Scheduler.FinishedOnMachines();
        foreach (var s in s_stripes) finished += Volatile.Read(ref s.C.Finished);
        return finished;
    }

    private static void PruneLocked(Stripe s)
    {
        Goroutine? prev = null;
        int n = 0;
        for (var g = s.Head; g is not null; g = g.RegNext)
        {
            if (g.IsFinished)
            {
                if (prev is null) s.Head = g.RegNext; else prev.RegNext = g.RegNext;
            }
            else
            {
                prev = g;
                n++;
            }
        }
        s.C.Length = n;
        s.C.PruneAt = Math.Max(MinPrune, n * 2);
    }

    /// <summary>Sysmon: prunes stripes that hold dead records nobody else will clear. Cheap when nothing finished.</summary>
    public static void Sweep()
    {
        long finished = TotalFinished();
        var first = s_stripes[0];
        if (finished == first.C.FinishedAtLastSweep) return;
        first.C.FinishedAtLastSweep = finished;
        foreach (var s in s_stripes)
        {
            if (Volatile.Read(ref s.C.Length) == 0) continue;
            Lock(s);
            PruneLocked(s);
            Unlock(s);
        }
    }

    /// <summary>Live goroutines: a sum of per-stripe counts read racily, exact when nothing is starting or ending.</summary>
    public static int Live
    {
        get
        {
            long n = -TotalFinished();
            foreach (var s in s_stripes) n += Volatile.Read(ref s.C.Started);
            return (int)Math.Max(0, n);
        }
    }

    public static long Created
    {
        get
        {
            long n = 0;
            foreach (var s in s_stripes) n += Volatile.Read(ref s.C.Started);
            return n;
        }
    }

    /// <summary>
    /// Calls <paramref name="visit"/> for live goroutines, each stripe under its lock, until it returns false.
    /// Returns false if it was stopped early. No list is built: sysmon uses this on every idle transition.
    /// </summary>
    public static bool All(Func<Goroutine, bool> visit)
    {
        foreach (var s in s_stripes)
        {
            Lock(s);
            try
            {
                for (var g = s.Head; g is not null; g = g.RegNext)
                    if (!g.IsFinished && !visit(g)) return false;
            }
            finally
            {
                Unlock(s);
            }
        }
        return true;
    }

    /// <summary>A snapshot of the live goroutines, each stripe read under its lock.</summary>
    public static List<Goroutine> Snapshot()
    {
        var list = new List<Goroutine>();
        foreach (var s in s_stripes)
        {
            Lock(s);
            for (var g = s.Head; g is not null; g = g.RegNext) if (!g.IsFinished) list.Add(g);
            Unlock(s);
        }
        list.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return list;
    }
}
