// Processor — a P: the right to run goroutines. There are exactly MaxProcs of them.
//
// A P owns a local run queue (with runnext) and a timer heap. An M runs goroutines only while it holds a P.
//
// Ownership word (_word): (generation << 2) | state, state Idle or Owned.
//   Idle        no M holds the P; it sits in the scheduler's idle list (guarded by the scheduler lock).
//   Owned       an M holds it (Owner). The generation changes with every change of owner, so an M that lost its P
//               cannot mistake a later owner's tenure for its own.
//
// Step state (Machine.StepState, written only by the owning M with plain stores):
//   Scheduling  the M is between steps, in runtime code. Nobody else touches the local queue's owner side.
//   Running     the M is inside a goroutine step, i.e. in user code that may block. Sysmon may retake the P and
//               hand it to another M (Go's retake/handoffp).
//   Busy        inside a step but, for a few instructions, pushing onto the local queue (a goroutine readied
//               another). Sysmon never retakes a Busy P; it tries again on its next tick.
//
// Retake is an asymmetric handshake (the owner's side is hot, sysmon's is rare):
//   owner, leaving a step or entering Busy: store the new step state, then read _retakeGen and the word. No
//          interlocked operation: if _retakeGen does not name its generation and the word is still its own, no
//          retake could miss the store. Otherwise it asks under _retakeLock whether it still owns the P. (The word
//          is read too because a later attempt, on the P's next owner, overwrites _retakeGen; see NoRetakeSeen.)
//          The store and the reads must stay in program order; the JIT does not move volatile accesses across
//          one another, and the CPU's own store-load reordering is what the process-wide barrier undoes.
//   sysmon, under _retakeLock: announce (_retakeGen = gen), Interlocked.MemoryBarrierProcessWide(), then read the
//          owner's step state. The process-wide barrier makes the pair a Dekker handshake: either sysmon sees the
//          owner's store (Scheduling or Busy: it withdraws), or the owner's later read sees the announcement and
//          waits on the lock for sysmon's verdict. Still Running after the barrier: sysmon writes (gen+1)|Idle with
//          a full fence and hands the P to another M; the stuck M learns it when its step ends.
//   The step state lives in the M, not the P: an M that lost its P while stuck keeps writing its own field and
//   can never overwrite the state of the P's next owner.
//   Cost: the old design made every step end (and every Busy pin) a CAS on the P's word, on every ping-pong
//   hop; sysmon now pays a process-wide barrier (a membarrier syscall) per retake attempt, which happens
//   only for a step that has run longer than the blocking threshold.
//
// Why not Go's design exactly: Go preempts a goroutine that runs too long with a signal and switches its stack,
// and a goroutine in a syscall never touches its P. A .NET goroutine can do neither: user code between two awaits
// runs on the M's own stack and may ready other goroutines at any moment. The Busy state is the price of letting
// sysmon take the P away from such code safely. Since the handshake above it costs two stores and two loads, so
// every wake-up from inside a step pins the P, and runnext needs no interlocked operation at all (RunQueue.cs).

using System.Runtime.CompilerServices;

namespace Weft.Runtime;

internal sealed class Processor
{
    internal const long StateIdle = 0;
    internal const long StateOwned = 1;

    internal const int StepScheduling = 0;
    internal const int StepRunning = 1;
    internal const int StepBusy = 2;

    public readonly int Id;
    public readonly LocalRunQueue Runq = new();
    public readonly TimerHeap Timers = new();

    private long _word;      // see the essay above
    private long _retakeGen; // the generation sysmon is retaking (or has retaken); see the essay
    private WordLock _retakeLock;

    /// <summary>
    /// Set by a thief that found only runnext here; the owner, at its next put, moves runnext to the ring (which
    /// thieves take without any handshake) and wakes an M. See RunQueue's essay.
    /// </summary>
    public int NextWanted;

    /// <summary>The M that acquired the P last; read by sysmon together with the word's generation.</summary>
    public Machine? Owner;

    /// <summary>Steps started on this P; written by the owner, read racily by sysmon.</summary>
    public int SchedTick;

    /// <summary>Consecutive runnext picks; owner only. Capped so a ping-pong pair cannot starve the ring.</summary>
    public int RunnextStreak;

    // Sysmon's view (Go's sysmontick); written only by sysmon.
    public int SysmonTick;
    public long SysmonWord;
    public long SysmonWhen;

    /// <summary>Link in the scheduler's idle-P list; guarded by the scheduler lock.</summary>
    public Processor? IdleLink;

    /// <summary>Set (under the scheduler lock) when MaxProcs shrinks below this P; its owner retires it.</summary>
    public volatile bool Retiring;

    public Processor(int id) => Id = id;

    public static long Gen(long word) => word >> 2;
    public static long State(long word) => word & 3;

    public long Word => Volatile.Read(ref _word);

    /// <summary>Takes an idle P for <paramref name="m"/>. Caller holds the scheduler lock (the P came off the idle list). Returns the new generation.</summary>
    public long Acquire(Machine m)
    {
        long gen = Gen(_word) + 1;
        ModelPoint.Here();
        Owner = m;
        ModelPoint.Here();
        Volatile.Write(ref m.StepState, StepScheduling);
        ModelPoint.Here();
        Volatile.Write(ref _word, (gen << 2) | StateOwned);
        return gen;
    }

    /// <summary>The owner gives the P up (it goes to the idle list or out of service).</summary>
    public void Release(long gen)
    {
        ModelPoint.Here();
        Volatile.Write(ref _word, ((gen + 1) << 2) | StateIdle);
    }

    /// <summary>Owner, entering a step: from here sysmon may retake the P.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void EnterStep(Machine m)
    {
        ModelPoint.Here();
        Volatile.Write(ref m.StepState, StepRunning);
    }

    /// <summary>Owner, leaving a step: false if sysmon (or Go.Blocking) took the P meanwhile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ExitStep(Machine m, long gen)
    {
        ModelPoint.Here();
        Volatile.Write(ref m.StepState, StepScheduling);
        return NoRetakeSeen(gen) || StillOwnedSlow(gen);
    }

    /// <summary>Owner inside a step: pins the P for a queue operation. False if the P was taken away.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnterBusy(Machine m, long gen)
    {
        ModelPoint.Here();
        Volatile.Write(ref m.StepState, StepBusy);
        if (NoRetakeSeen(gen) || StillOwnedSlow(gen)) return true;
        ModelPoint.Here();
        Volatile.Write(ref m.StepState, StepRunning);
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ExitBusy(Machine m)
    {
        ModelPoint.Here();
        Volatile.Write(ref m.StepState, StepRunning);
    }

    /// <summary>
    /// The owner's check after its store: no retake of its generation announced, and the word still its own. The
    /// word matters because a later attempt (on the P's next owner) overwrites _retakeGen: an M that was retaken
    /// while stuck may find another generation there, but then the commit that changed the word happened before
    /// that write, and this acquire read of the word, coming after the read of _retakeGen, sees it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool NoRetakeSeen(long gen)
    {
        ModelPoint.Here();
        if (Volatile.Read(ref _retakeGen) == gen) return false;
        ModelPoint.Here();
        return Volatile.Read(ref _word) == ((gen << 2) | StateOwned);
    }

    /// <summary>
    /// The owner saw a retake announced for its generation (or the word changed): waits for sysmon's verdict. A word
    /// that no longer names this generation as owner is a verdict already: only a retake or a surrender (both under
    /// the lock) end a generation's tenure, and generations only grow, so the word never names it again. An M
    /// retaken inside a long step (one that spawns a million goroutines) then pins and fails without the lock, once
    /// per readied goroutine, until its step ends.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool StillOwnedSlow(long gen)
    {
        ModelPoint.Here();
        if (Volatile.Read(ref _word) != ((gen << 2) | StateOwned)) return false;
        _retakeLock.Enter();
        ModelPoint.Here();
        bool owned = Volatile.Read(ref _word) == ((gen << 2) | StateOwned);
        _retakeLock.Exit();
        return owned;
    }

    /// <summary>
    /// Sysmon: takes the P from an M stuck in one step (the step it saw start at <paramref name="schedTick"/>).
    /// True if it now owns the P.
    /// </summary>
    public bool TryRetake(long observedWord, int schedTick)
    {
        _retakeLock.Enter();
        try
        {
            if (!HoldOwnerOff(observedWord, schedTick)) return false;
            // The announcement stays: the stuck M's next pin or step end sees it, and the word, and gives up.
            // Exchange, a full fence, before HandoffP reads the run queue.
            ModelPoint.Here();
            Interlocked.Exchange(ref _word, ((Gen(observedWord) + 1) << 2) | StateIdle);
            return true;
        }
        finally
        {
            _retakeLock.Exit();
        }
    }

    /// <summary>
    /// Sysmon: takes runnext from a P whose owner has been inside one step (the step it saw start at
    /// <paramref name="schedTick"/>) for a whole tick, so that the goroutine there does not wait for that step to end.
    /// The owner touches runnext only between steps or pinned Busy; held off, it waits on the lock at its next pin or
    /// step end until sysmon is done.
    /// </summary>
    public Goroutine? TakeRunnextFromLongStep(int schedTick)
    {
        if (!Runq.HasNext) return null;
        _retakeLock.Enter();
        try
        {
            if (!HoldOwnerOff(Volatile.Read(ref _word), schedTick)) return null;
            var g = Runq.TakeNextForThief();
            ModelPoint.Here();
            Volatile.Write(ref _retakeGen, 0);
            return g;
        }
        finally
        {
            _retakeLock.Exit();
        }
    }

    /// <summary>
    /// Under _retakeLock: the handshake of the essay. True if the owner named by <paramref name="observedWord"/> is
    /// still plainly Running the step that started at <paramref name="schedTick"/> and now cannot pin or end it
    /// before the caller withdraws the announcement (or commits a retake); false, with nothing announced, otherwise.
    /// </summary>
    private bool HoldOwnerOff(long observedWord, int schedTick)
    {
        ModelPoint.Here();
        if (State(observedWord) != StateOwned || Owner is not { } m || Volatile.Read(ref _word) != observedWord) return false;
        ModelPoint.Here();
        Volatile.Write(ref _retakeGen, Gen(observedWord));
        Interlocked.MemoryBarrierProcessWide();
        ModelPoint.Here();
        if (Volatile.Read(ref m.StepState) == StepRunning && Volatile.Read(ref SchedTick) == schedTick && ReferenceEquals(Owner, m))
            return true;
        ModelPoint.Here();
        Volatile.Write(ref _retakeGen, 0);
        return false;
    }

    /// <summary>Go.Blocking: the owner, inside a step, gives the P up itself. True if it owned it.</summary>
    public bool Surrender(long gen)
    {
        _retakeLock.Enter();
        try
        {
            long owned = (gen << 2) | StateOwned;
            ModelPoint.Here();
            if (Volatile.Read(ref _word) != owned) return false;
            ModelPoint.Here();
            Interlocked.Exchange(ref _word, ((gen + 1) << 2) | StateIdle);
            return true;
        }
        finally
        {
            _retakeLock.Exit();
        }
    }

    public bool HasWork => !Runq.IsEmpty;
}
