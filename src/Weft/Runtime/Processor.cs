// Processor — a P: the right to run goroutines. There are exactly MaxProcs of them.
//
// A P owns a local run queue (with runnext) and a timer heap. An M runs goroutines only while it holds a P.
//
// Ownership word (_word): (generation << 2) | state.
//   Idle        no M holds the P; it sits in the scheduler's idle list (guarded by the scheduler lock).
//   Scheduling  its M is between steps, in runtime code. Nobody else touches the local queue's owner side.
//   Running     its M is inside a goroutine step, i.e. in user code that may block. Sysmon may retake the P:
//               CAS (gen|Running) -> (gen+1|Idle) and hand it to another M (Go's retake/handoffp).
//   Busy        its M is inside a step but, for a few instructions, pushing onto the local queue (a goroutine
//               readied another). Sysmon's CAS fails while Busy and it retries on its next tick.
// The generation changes with every change of owner, so an M that lost its P cannot mistake a later owner's
// Running for its own: every transition the M makes is a CAS that names its generation.
//
// Why not Go's design exactly: Go preempts a goroutine that runs too long with a signal and switches its stack,
// and a goroutine in a syscall never touches its P. A .NET goroutine can do neither: user code between two awaits
// runs on the M's own stack and may ready other goroutines at any moment. The Busy state is the price of letting
// sysmon take the P away from such code safely: one uncontended CAS per push onto the ring done from inside a step.
// The common wake-up does not pay it: runnext is a lock-free slot (CAS from empty), so a goroutine readied into an
// empty runnext needs no pin; if the P changed hands meanwhile, its new owner runs the goroutine (RunQueue.cs).

using System.Runtime.CompilerServices;

namespace Weft.Runtime;

internal sealed class Processor
{
    internal const long StateIdle = 0;
    internal const long StateScheduling = 1;
    internal const long StateRunning = 2;
    internal const long StateBusy = 3;

    public readonly int Id;
    public readonly LocalRunQueue Runq = new();
    public readonly TimerHeap Timers = new();

    private long _word; // see the essay above

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

    /// <summary>Takes an idle P. Caller holds the scheduler lock (the P came off the idle list). Returns the new generation.</summary>
    public long Acquire()
    {
        long gen = Gen(_word) + 1;
        Volatile.Write(ref _word, (gen << 2) | StateScheduling);
        return gen;
    }

    /// <summary>The owner gives the P up (it goes to the idle list or out of service).</summary>
    public void Release(long gen) => Volatile.Write(ref _word, ((gen + 1) << 2) | StateIdle);

    /// <summary>Owner, entering a step: from here sysmon may retake the P.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void EnterStep(long gen) => Volatile.Write(ref _word, (gen << 2) | StateRunning);

    /// <summary>Owner, leaving a step: false if sysmon (or Go.Blocking) took the P meanwhile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ExitStep(long gen) =>
        Interlocked.CompareExchange(ref _word, (gen << 2) | StateScheduling, (gen << 2) | StateRunning) == ((gen << 2) | StateRunning);

    /// <summary>Owner inside a step: pins the P for a queue operation. False if the P was taken away.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnterBusy(long gen) =>
        Interlocked.CompareExchange(ref _word, (gen << 2) | StateBusy, (gen << 2) | StateRunning) == ((gen << 2) | StateRunning);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ExitBusy(long gen) => Volatile.Write(ref _word, (gen << 2) | StateRunning);

    /// <summary>Sysmon or Go.Blocking: takes the P from an M that is inside a step. True if it now owns the P.</summary>
    public bool TryRetake(long observedWord)
    {
        if (State(observedWord) != StateRunning) return false;
        return Interlocked.CompareExchange(ref _word, ((Gen(observedWord) + 1) << 2) | StateIdle, observedWord) == observedWord;
    }

    public bool HasWork => !Runq.IsEmpty;
}
