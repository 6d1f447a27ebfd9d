// Registry — the set of live goroutines, for Go.NumGoroutine and dumps.
//
// Go keeps allgs under a lock; a spawn-heavy program then serialises on it. Here the set is striped: a goroutine
// joins the stripe picked by the spawning thread (Ms each land on their own stripe in practice) and leaves it from
// whichever thread finishes it. Each stripe is an intrusive doubly-linked list through Goroutine.RegPrev/RegNext,
// guarded by the stripe's spin lock, which is held for a few pointer writes and never around user code.
// The live count is per stripe too, so counting costs no shared cache line on the spawn path.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Weft.Runtime;

internal static class Registry
{
    [StructLayout(LayoutKind.Sequential, Size = 128)]
    private struct Padded
    {
        public int Lock;
        public long Live;
        public long Created;
    }

    private sealed class Stripe
    {
        public Padded Counters; // Lock guards Head and the list links of its members
        public Goroutine? Head;
    }

    private static readonly Stripe[] s_stripes = CreateStripes();

    private static Stripe[] CreateStripes()
    {
        int n = 1;
        while (n < Environment.ProcessorCount * 4) n <<= 1;
        var a = new Stripe[Math.Max(n, 8)];
        for (int i = 0; i < a.Length; i++) a[i] = new Stripe();
        return a;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lock(Stripe s)
    {
        if (Interlocked.CompareExchange(ref s.Counters.Lock, 1, 0) != 0) LockSlow(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LockSlow(Stripe s)
    {
        var sw = new SpinWait();
        while (Interlocked.CompareExchange(ref s.Counters.Lock, 1, 0) != 0) sw.SpinOnce(sleep1Threshold: -1);
    }

    public static void Add(Goroutine g)
    {
        int i = Environment.CurrentManagedThreadId & (s_stripes.Length - 1);
        var s = s_stripes[i];
        g.RegStripe = i;
        Lock(s);
        var head = s.Head;
        g.RegNext = head;
        if (head is not null) head.RegPrev = g;
        s.Head = g;
        s.Counters.Live++;
        s.Counters.Created++;
        Volatile.Write(ref s.Counters.Lock, 0);
    }

    public static void Remove(Goroutine g)
    {
        var s = s_stripes[g.RegStripe];
        Lock(s);
        if (g.RegPrev is { } prev) prev.RegNext = g.RegNext;
        else if (s.Head == g) s.Head = g.RegNext;
        if (g.RegNext is { } next) next.RegPrev = g.RegPrev;
        g.RegPrev = g.RegNext = null;
        s.Counters.Live--;
        Volatile.Write(ref s.Counters.Lock, 0);
    }

    /// <summary>Live goroutines: a sum of per-stripe counts read racily, exact when nothing is starting or ending.</summary>
    public static int Live
    {
        get
        {
            long n = 0;
            foreach (var s in s_stripes) n += Volatile.Read(ref s.Counters.Live);
            return (int)Math.Max(0, n);
        }
    }

    public static long Created
    {
        get
        {
            long n = 0;
            foreach (var s in s_stripes) n += Volatile.Read(ref s.Counters.Created);
            return n;
        }
    }

    /// <summary>A snapshot of the live goroutines, each stripe read under its lock.</summary>
    public static List<Goroutine> Snapshot()
    {
        var list = new List<Goroutine>();
        foreach (var s in s_stripes)
        {
            Lock(s);
            for (var g = s.Head; g is not null; g = g.RegNext) list.Add(g);
            Volatile.Write(ref s.Counters.Lock, 0);
        }
        list.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return list;
    }
}
