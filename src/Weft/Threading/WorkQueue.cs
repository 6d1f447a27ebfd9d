// WorkQueue: the ThreadPoolExecutor's task queue and lifecycle state in one lock-free structure.
//
// Glossary
//   position  every task gets the next position (0, 1, 2, ...) when it is enqueued; positions are never reused.
//   tail      one 64-bit word: state (top 2 bits) | epoch (6 bits) | the next position to give out (56 bits).
//             A producer's one CAS on it checks "still Running", claims a position and counts the task, so no task
//             slips in after ShutdownNow has drained the queue, and the queued count needs no counter of its own.
//   head      the next position to take. A taker's one CAS on it claims a task and counts it as taken.
//   ring      a power-of-two array of slots, each holding an item and a sequence number (Vyukov's bounded MPMC
//             queue): slot i is free for position p when Sequence == p, holds p's item when Sequence == p + 1, and
//             is freed for the next lap by writing p + Size. Rings are reused lap after lap, so a steady state
//             allocates nothing.
//   epoch     which ring producers write. A full ring is frozen by a CAS that bumps the epoch in the tail word
//             (so no producer can claim a position in it any more) and a ring twice its size takes over from that
//             position (End of the old ring == Start of the new). Takers move on once head reaches End. Rings double
//             up to MaxSize; a deeper queue links further MaxSize rings. The epoch wraps at 64, harmlessly: a
//             producer compares it only with the ring it read after the tail word, and its CAS fails if the tail
//             moved at all (a growth happens only at a position no ring has served).
//
// Invariants
//   - head <= tail position; Count = tail - head (read head first, so a racy Count is never negative).
//   - Positions below a ring's End live in that ring or an older one; positions from End on in a newer one.
//   - State only moves forward (AdvanceState), and only state 0 (Running) admits an enqueue.
//   - An enqueued item is visible to a taker within the producer's claim-to-publish window (no user code in it):
//     a taker that sees Count > 0 but an unpublished slot spins briefly (see ThreadPoolExecutor.TryTake).
//
// Rejected alternatives
//   - ConcurrentQueue<object> plus a reservation CAS on a state|count word plus an Interlocked.Increment of a
//     dequeued total (the previous version): two atomic operations on each side per task where one suffices,
//     since the queue's own indices are the counts.
//   - One ring resized in place under a lock: takers would have to stop while items are copied.
//   - Linked segments that are never reused: an allocation every Size tasks, so Execute would not be 0 B.


namespace Weft.Threading;

/// <summary>
/// A lock-free, FIFO, multi-producer multi-consumer queue of tasks whose tail word also carries the executor's
/// lifecycle state. Thread-safe; no member blocks except for the short spin in <see cref="TryEnqueue"/> while a
/// ring's growth is being published.
/// </summary>
internal sealed class WorkQueue
{
    /// <summary>The only state that admits an enqueue.</summary>
    public const int Running = 0;

    private const int StateShift = 62;
    private const int EpochShift = 56;
    private const long PositionMask = (1L << EpochShift) - 1;
    private const int EpochLimit = 0x3F;
    private const long EpochMask = (long)EpochLimit << EpochShift;
    private const long StateMask = 3L << StateShift;
    private const int InitialSize = 64;
    // 4,096 slots of 16 bytes stay under the large object heap's 85,000-byte threshold: a burst that outgrows the
    // ring allocates short-lived gen0 segments instead of LOH arrays that only a gen2 collection frees.
    private const int MaxSize = 4096;

    // state | epoch | next position. Written only by CAS: producers (claim), Grow (epoch) and AdvanceState.
    private PaddedCounter _tail;

    // The next position to take. Written only by CAS, by takers.
    private PaddedCounter _head;

    // The ring producers write: Epoch == the tail word's epoch, except while Grow publishes a new ring (producers
    // spin). Written only by Grow, under _growLock.
    private Ring _tailRing;

    // The ring takers read; moves forward (CAS) once head reaches its End.
    private Ring _headRing;

    private readonly Lock _growLock = new();

    public WorkQueue(int capacity)
    {
        int size = InitialSize;
        while (size < capacity && size < MaxSize) size <<= 1;
        _tailRing = _headRing = new Ring(size, epoch: 0, start: 0);
    }

    /// <summary>The lifecycle state kept in the top bits of the tail word.</summary>
    public int State => (int)((ulong)Volatile.Read(ref _tail.Value) >> StateShift);

    /// <summary>Tasks enqueued and not yet taken (a snapshot; never negative).</summary>
    public long Count
    {
        get
        {
            long head = Volatile.Read(ref _head.Value);
            return (Volatile.Read(ref _tail.Value) & PositionMask) - head;
        }
    }

    /// <summary>Moves the state forward to <paramref name="target"/> (never back), keeping epoch and position.</summary>
    public void AdvanceState(int target)
    {
        long c = Volatile.Read(ref _tail.Value);
        while ((int)((ulong)c >> StateShift) < target)
        {
            long seen = Interlocked.CompareExchange(ref _tail.Value, ((long)target << StateShift) | (c & ~StateMask), c);
            if (seen == c) return;
            c = seen;
        }
    }

    /// <summary>
    /// Appends <paramref name="item"/> if the state is Running and fewer than <paramref name="limit"/> tasks are
    /// queued (<see cref="int.MaxValue"/>: no limit). The successful CAS on the tail word is a full fence, ordered
    /// before whatever the caller reads next (the executor's Dekker pairs rely on it).
    /// </summary>
    public bool TryEnqueue(object item, int limit)
    {
        bool bounded = limit != int.MaxValue;
        var spinner = new SpinWait();
        while (true)
        {
            long c = Volatile.Read(ref _tail.Value);
            if ((int)((ulong)c >> StateShift) != Running) return false;
            long pos = c & PositionMask;
            // Head is read after c: if the CAS below succeeds, pos is still the tail and this head is no newer than
            // the head at that moment, so the count checked is never smaller than the real one.
            if (bounded && pos - Volatile.Read(ref _head.Value) >= limit) return false;

            Ring ring = Volatile.Read(ref _tailRing);
            if (ring.Epoch != (int)((c & EpochMask) >> EpochShift))
            {
                spinner.SpinOnce(sleep1Threshold: -1); // c is stale, or Grow is publishing the new ring
                continue;
            }
            ref Slot slot = ref ring.Slots[pos & ring.Mask];
            long seq = Volatile.Read(ref slot.Sequence);
            if (seq == pos)
            {
                // The CAS is the claim: only the producer that moves the tail from pos may write this slot for pos,
                // and the epoch in c guarantees the ring is still the one producers write.
                if (Interlocked.CompareExchange(ref _tail.Value, c + 1, c) != c) continue;
                slot.Item = item;
                // Release: pairs with the taker's acquire read of Sequence, which then sees Item.
                Volatile.Write(ref slot.Sequence, pos + 1);
                return true;
            }
            if (seq < pos)
            {
                // The slot still holds position pos - Size: either that task is untaken (the ring is full) or a taker
                // is between its claim and its release of the slot. Grow if the ring could be too small; a bounded
                // queue whose ring covers its limit only ever sees the second case and waits it out.
                if (!bounded || ring.Size < limit) Grow(ring);
                else spinner.SpinOnce(sleep1Threshold: -1);
            }
            // seq > pos: c was stale; retry.
        }
    }

    /// <summary>Takes the oldest published task; false when none is published (one may be mid-enqueue).</summary>
    public bool TryDequeue(out object item)
    {
        while (true)
        {
            // Ring before head: _headRing moves to a ring only after head reached its Start, and head only grows.
            Ring ring = Volatile.Read(ref _headRing);
            long h = Volatile.Read(ref _head.Value);
            if (h >= Volatile.Read(ref ring.End))
            {
                // Every position of this ring is taken. Next was written before End (Grow), so it is set.
                Interlocked.CompareExchange(ref _headRing, ring.Next!, ring);
                continue;
            }
            ref Slot slot = ref ring.Slots[h & ring.Mask];
            long seq = Volatile.Read(ref slot.Sequence); // acquire: pairs with the producer's release of pos + 1
            if (seq == h + 1)
            {
                if (Interlocked.CompareExchange(ref _head.Value, h + 1, h) != h) continue;
                item = slot.Item!;
                slot.Item = null;
                // Release: the next lap's producer, reading h + Size, then finds the slot cleared.
                Volatile.Write(ref slot.Sequence, h + ring.Size);
                return true;
            }
            if (seq < h + 1)
            {
                item = null!;
                return false;
            }
            // seq > h + 1: h was stale; retry.
        }
    }

    /// <summary>Freezes <paramref name="full"/> (if it is still the producers' ring) and starts one twice its size.</summary>
    private void Grow(Ring full)
    {
        lock (_growLock)
        {
            if (Volatile.Read(ref _tailRing) != full) return;
            long c = Volatile.Read(ref _tail.Value);
            while (true)
            {
                if ((int)((ulong)c >> StateShift) != Running) return; // nothing more will be enqueued
                long pos = c & PositionMask;
                int epoch = (full.Epoch + 1) & EpochLimit;
                var next = new Ring(Math.Min(full.Size * 2, MaxSize), epoch, pos);
                // Changing the epoch at pos freezes the old ring: no producer can claim pos or later in it.
                long seen = Interlocked.CompareExchange(ref _tail.Value, (c & ~EpochMask) | ((long)epoch << EpochShift), c);
                if (seen != c)
                {
                    c = seen;
                    continue;
                }
                full.Next = next;
                Volatile.Write(ref full.End, pos);     // after Next: a taker that sees End finds Next
                Volatile.Write(ref _tailRing, next);   // producers spinning on the epoch mismatch go on
                return;
            }
        }
    }

    private struct Slot
    {
        public object? Item;
        public long Sequence;
    }

    private sealed class Ring
    {
        public readonly Slot[] Slots;
        public readonly int Size;
        public readonly int Mask;
        public readonly int Epoch;
        public long End = long.MaxValue; // set once, by Grow, after Next
        public Ring? Next;

        public Ring(int size, int epoch, long start)
        {
            Size = size;
            Mask = size - 1;
            Epoch = epoch;
            Slots = new Slot[size];
            // Slot i first serves the first position >= start that maps to it.
            for (int i = 0; i < size; i++) Slots[i].Sequence = start + ((i - start) & Mask);
        }
    }
}
