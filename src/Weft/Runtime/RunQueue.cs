// Run queues: each P's bounded local ring with its runnext slot, and the one global queue.
//
// The local queue follows Go's runq (runtime/proc.go: runqput, runqget, runqgrab) and tokio's queue.rs:
//   * a ring of 256 entries; _tail is written only by the owning M, _head is advanced by compare-and-swap by
//     the owner (pop) and by thieves (steal half), so the ring is single-producer, multi-consumer;
//   * the owner pushes by writing the slot and then publishing _tail with a release store; a thief reads _tail
//     with an acquire load, so every slot below the _tail it read is written (the release/acquire pair is
//     "Volatile.Write(ref _tail)" in Push and "Volatile.Read(ref _tail)" in Grab);
//   * a thief copies the slots it wants and then claims them by CAS on _head; if the CAS fails another consumer
//     took some of them first and the copy is discarded, so a slot the owner reuses after a successful claim is
//     never handed out twice;
//   * when the ring is full the owner moves half of it plus the new goroutine to the global queue in one batch,
//     so an overflowing P pays the global lock once per 128 goroutines.
// "Owner" means the M that holds the P: in a step, only after Processor.TryEnterBusy succeeded (sysmon may have
// handed the P to another M); between steps, always.
//
// runnext holds the goroutine most recently readied by this P's running goroutine. It runs next, inheriting the
// time slice (Go: a woken goroutine runs before the queue so a producer/consumer pair stays hot in cache). Only the
// owner touches it, with plain reads and writes: between steps, or inside a step while pinned Busy. Go and the first
// version of this file used a CAS or an exchange on the slot for every put and every pop; on the ping-pong hop those
// two interlocked operations were a large share of the time. Nobody else may write it, so:
//   * a thief that finds only runnext (its last round) sets the P's NextWanted; the owner's next put moves runnext
//     and the new goroutine to the ring instead, where thieves take them by CAS, and wakes an M;
//   * a goroutine behind a step that goes on without readying anything is taken by sysmon after a tick
//     (Processor.TakeRunnextFromLongStep: the retake handshake, a process-wide barrier, rare by construction).
// Rejected: thieves taking runnext through that handshake themselves (after Go's ~3 µs patience): correct, but a
// consumer that readies producers without parking kept thieves in patience spins and barriers, and in some
// processes the select workload slowed badly. The request costs the owner one load per put; the
// thief asks on any round, so the owner's next put usually lands on the ring before the thief's rounds are over.

using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Weft.Runtime;

/// <summary>A P's local run queue. Push/Pop: owning M only. Grab: any thread.</summary>
internal sealed class LocalRunQueue
{
#if WEFT_MODEL_CHECK
    public const int Capacity = 4; // the model checker reaches the overflow path in a few pushes
#else
    public const int Capacity = 256;
#endif
    private const int Mask = Capacity - 1;

    private readonly Goroutine?[] _ring = new Goroutine?[Capacity];
    private uint _head; // CAS by owner and thieves
    private uint _tail; // written by the owner only
    private Goroutine? _runnext; // owner only, plain; sysmon through Processor.TakeRunnextFromLongStep (see above)

    public int Count
    {
        get
        {
            uint h = Volatile.Read(ref _head);
            uint t = Volatile.Read(ref _tail);
            int n = (int)(t - h);
            return (n < 0 || n > Capacity ? 0 : n) + (Volatile.Read(ref _runnext) is null ? 0 : 1);
        }
    }

    /// <summary>Racy: runnext holds a goroutine.</summary>
    public bool HasNext
    {
        get
        {
            ModelPoint.Here();
            return Volatile.Read(ref _runnext) is not null;
        }
    }

    public bool IsEmpty => RingIsEmpty && Volatile.Read(ref _runnext) is null;

    /// <summary>Racy: the ring (what thieves take without a handshake) is empty.</summary>
    public bool RingIsEmpty => Volatile.Read(ref _head) == Volatile.Read(ref _tail);

    /// <summary>
    /// Owner: puts <paramref name="g"/> in runnext and returns whether a goroutine was already there (it moves to
    /// the tail). The caller uses that to decide whether another M is worth waking: a goroutine alone in runnext
    /// runs as soon as the current one parks, so waking a thief for it only costs a futex call (tokio's rule for
    /// its LIFO slot).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool PushNext(Goroutine g)
    {
        ModelPoint.Here();
        var old = _runnext;
        ModelPoint.Here();
        Volatile.Write(ref _runnext, g);
        if (old is null) return false;
        Push(old);
        return true;
    }

    /// <summary>Owner: puts <paramref name="g"/> in runnext if it is empty; false when it is occupied.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPutNext(Goroutine g)
    {
        ModelPoint.Here();
        if (_runnext is not null) return false;
        ModelPoint.Here();
        Volatile.Write(ref _runnext, g); // release: g's fields are published with it
        return true;
    }

    /// <summary>Owner: a thief asked for runnext (Processor.NextWanted): moves it, then <paramref name="g"/>, to the ring.</summary>
    public void PushReleasingNext(Goroutine g)
    {
        ModelPoint.Here();
        if (_runnext is { } old)
        {
            ModelPoint.Here();
            _runnext = null;
            Push(old);
        }
        Push(g);
    }

    /// <summary>Sysmon, holding the owner off (Processor.TakeRunnextFromLongStep): takes runnext.</summary>
    public Goroutine? TakeNextForThief()
    {
        ModelPoint.Here();
        var g = Volatile.Read(ref _runnext);
        ModelPoint.Here();
        if (g is not null) _runnext = null;
        return g;
    }

    /// <summary>Owner: appends to the tail, spilling half the ring to the global queue when full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(Goroutine g)
    {
        uint t = _tail;
        ModelPoint.Here();
        uint h = Volatile.Read(ref _head); // acquire: pairs with consumers' CAS on _head, so the slot is free
        if (t - h < Capacity)
        {
            ModelPoint.Here();
            _ring[t & Mask] = g;
            ModelPoint.Here();
            Volatile.Write(ref _tail, t + 1); // release: publishes the slot to thieves' acquire of _tail
            return;
        }
        PushSlow(g, h, t);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PushSlow(Goroutine g, uint h, uint t)
    {
        while (true)
        {
            uint n = (t - h) / 2;
            Debug.Assert(n == Capacity / 2, "PushSlow runs only on a full ring.");
            var batch = new Goroutine[n + 1];
            ModelPoint.Here();
            for (uint i = 0; i < n; i++) batch[i] = _ring[(h + i) & Mask]!;
            ModelPoint.Here();
            if (Interlocked.CompareExchange(ref _head, h + n, h) == h)
            {
                batch[n] = g;
                Scheduler.Global.PushBatch(batch);
                return;
            }
            // A thief took some: there may be room now.
            ModelPoint.Here();
            h = Volatile.Read(ref _head);
            if (t - h < Capacity)
            {
                ModelPoint.Here();
                _ring[t & Mask] = g;
                ModelPoint.Here();
                Volatile.Write(ref _tail, t + 1);
                return;
            }
        }
    }

    /// <summary>
    /// Owner: takes runnext first unless <paramref name="skipNext"/> (the cap on consecutive runnext runs that keeps
    /// a ping-pong pair from starving the ring), then the head of the ring.
    /// </summary>
    public Goroutine? Pop(bool skipNext, out bool fromNext)
    {
        fromNext = false;
        ModelPoint.Here();
        if (!skipNext && _runnext is { } next)
        {
            ModelPoint.Here();
            _runnext = null;
            fromNext = true;
            return next;
        }
        while (true)
        {
            ModelPoint.Here();
            uint h = Volatile.Read(ref _head);
            uint t = _tail;
            if (t == h)
            {
                ModelPoint.Here();
                if (skipNext && _runnext is { } last) { _runnext = null; fromNext = true; return last; }
                return null;
            }
            ModelPoint.Here();
            var g = _ring[h & Mask];
            ModelPoint.Here();
            if (Interlocked.CompareExchange(ref _head, h + 1, h) == h) return g;
        }
    }

    /// <summary>
    /// Thief: moves half of this queue's ring into <paramref name="dst"/> (owned by the caller) and returns one
    /// goroutine to run, or null. runnext is never taken here (see the essay).
    /// </summary>
    public Goroutine? StealInto(LocalRunQueue dst)
    {
        uint dt = dst._tail;
        uint n = Grab(dst._ring, dt);
        if (n == 0) return null;
        n--;
        var g = dst._ring[(dt + n) & Mask];
        dst._ring[(dt + n) & Mask] = null;
        if (n == 0) return g;
        Debug.Assert(dt - Volatile.Read(ref dst._head) + n < Capacity, "A thief steals only into an empty-enough queue.");
        ModelPoint.Here();
        Volatile.Write(ref dst._tail, dt + n); // release: publishes the stolen slots
        return g;
    }

    private uint Grab(Goroutine?[] batch, uint batchHead)
    {
        while (true)
        {
            ModelPoint.Here();
            uint h = Volatile.Read(ref _head); // acquire: pairs with other consumers' CAS
            ModelPoint.Here();
            uint t = Volatile.Read(ref _tail); // acquire: pairs with the owner's release in Push
            uint n = t - h;
            n -= n / 2;
            if (n == 0) return 0;
            if (n > Capacity / 2) continue; // h and t read at different moments; retry
            ModelPoint.Here();
            for (uint i = 0; i < n; i++) batch[(batchHead + i) & Mask] = _ring[(h + i) & Mask];
            ModelPoint.Here();
            if (Interlocked.CompareExchange(ref _head, h + n, h) == h) return n;
        }
    }

    /// <summary>Owner (or a thread that took the P out of service): removes everything, runnext included.</summary>
    public void DrainTo(List<Goroutine> into)
    {
        if (_runnext is { } next) into.Add(next);
        _runnext = null;
        while (Pop(skipNext: true, out _) is { } g) into.Add(g);
    }
}

/// <summary>The global run queue: FIFO, linked through Goroutine.SchedLink, guarded by its own lock.</summary>
internal sealed class GlobalRunQueue
{
    private WordLock _lock; // a spin lock: held for a few pointer writes, never across anything that blocks
    private Goroutine? _head, _tail; // guarded by _lock
    private int _count; // written under _lock; read racily as a hint

    public int Count => Volatile.Read(ref _count);

    public void Push(Goroutine g)
    {
        g.SchedLink = null;
        _lock.Enter();
        if (_tail is null) _head = g; else _tail.SchedLink = g;
        _tail = g;
        _count++;
        _lock.Exit();
    }

    public void PushBatch(Goroutine[] batch)
    {
        for (int i = 0; i < batch.Length - 1; i++) batch[i].SchedLink = batch[i + 1];
        batch[^1].SchedLink = null;
        _lock.Enter();
        if (_tail is null) _head = batch[0]; else _tail.SchedLink = batch[0];
        _tail = batch[^1];
        _count += batch.Length;
        _lock.Exit();
    }

    public void PushAll(List<Goroutine> list)
    {
        if (list.Count == 0) return;
        PushBatch(list.ToArray());
    }

    /// <summary>Takes one goroutine to run and moves up to a fair share more into <paramref name="local"/> (Go's globrunqget).</summary>
    public Goroutine? PopBatch(LocalRunQueue? local, int procs)
    {
        if (Volatile.Read(ref _count) == 0) return null;
        Goroutine? first;
        Goroutine? rest = null;
        int moved;
        _lock.Enter();
        if (_count == 0)
        {
            _lock.Exit();
            return null;
        }
        int n = local is null ? 1 : Math.Min(_count, Math.Min(_count / procs + 1, LocalRunQueue.Capacity / 2));
        first = _head!;
        _head = first.SchedLink;
        moved = n - 1;
        rest = moved > 0 ? _head : null;
        Goroutine? last = null;
        for (int i = 0; i < moved; i++) { last = _head!; _head = _head!.SchedLink; }
        if (_head is null) _tail = null;
        _count -= n;
        if (last is not null) last.SchedLink = null;
        _lock.Exit();
        first.SchedLink = null;
        while (rest is not null)
        {
            var g = rest;
            rest = g.SchedLink;
            g.SchedLink = null;
            local!.Push(g);
        }
        return first;
    }
}
