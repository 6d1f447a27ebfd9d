using System.Reflection;
using System.Runtime.CompilerServices;
using Weft.ModelCheck.Harness;
using Weft.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace Weft.ModelCheck;

/// <summary>
/// The processor hand-back handshake between an M and sysmon (src/Weft/Runtime/Processor.cs, Machine.cs, Sysmon.cs,
/// compiled here): the real Machine.Execute runs one goroutine step on M1 (the real Goroutine.RunStep, which ends by
/// parking the goroutine under its mailbox lock), the real Sysmon.Loop runs a few ticks on a
/// virtual clock (and retakes the P when M1's step spans two of them), the real Machine.WaitForP lets M2 take the P
/// from the idle list, and Machine.EnterBlocking/ExitBlocking hand it over for Go.Blocking.
///
/// Ownership is tracked beside the code: an M "acts as owner" of the P while it is pinned Busy (after TryEnterBusy
/// returned true), and between steps (after it took the P or after ExitStep returned true, until it releases it); only
/// then does it touch the owner side of the run queue. Checked after every step: at most one M acts as owner, and the
/// P's word names that M's generation, Owned (so sysmon cannot have retaken it under the M). Checked at the end: the
/// P is not lost (it is idle, on the idle list exactly once, and no M holds it), and every goroutine readied during the
/// run is taken exactly once (by an owner's pop, the global queue or a final drain).
///
/// What is transcribed rather than compiled: the ready path of a step (Scheduler.TryReadyLocal: pin Busy, put the
/// goroutine in runnext or on the ring, unpin; the global queue if the pin fails) and HandoffP (always to the idle
/// list here), because Scheduler.cs pulls in the whole runtime.
/// </summary>
public sealed class HandBackModelTests(ITestOutputHelper output)
{
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "Execute")]
    private static extern void Execute(Machine m, Goroutine g);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "WaitForP")]
    private static extern bool WaitForP(Machine m);

    private static readonly Action s_sysmonLoop = typeof(Sysmon).GetMethod("Loop", BindingFlags.NonPublic | BindingFlags.Static)!.CreateDelegate<Action>();

    /// <summary>
    /// M1 runs one step that readies a goroutine (pinning the P Busy), then drains its queue and releases the P.
    /// Sysmon runs 3 ticks (blocking threshold = 1 tick: a step seen on two ticks in a row is retaken). M2 waits for
    /// an idle P, takes it with WaitForP, drains and releases it. 3 threads, preemption bound 2: 4,592 schedules,
    /// complete, 684 of them with a retake and 343 with M1's Busy pin refused after one (bound 3, run once by hand:
    /// 55,423, no violation). The test asserts that retakes, non-retakes and refused pins were each reached, so both
    /// sides of the handshake were.
    /// </summary>
    [Fact]
    public void RetakeRacesTheStepEndAndTheBusyPin()
    {
        var stats = new Stats();
        var result = Explore(stats, blocking: false);
        Assert.True(result.Complete, result.ToString());
        Assert.True(result.Schedules > 0);
        Assert.True(stats.Retaken > 0 && stats.NotRetaken > 0, stats.ToString());
        Assert.True(stats.PinRefused > 0, "no schedule reached a Busy pin refused after a retake: " + stats);
        Assert.Empty(result.NotReached("TryRetake", "HoldOwnerOff", "StillOwnedSlow", "TryEnterBusy", "ExitStep", "Execute", "Loop"));
    }

    /// <summary>
    /// As above, but M1's step calls Go.Blocking's hand-over (Machine.EnterBlocking: Processor.Surrender, HandoffP)
    /// and then ExitBlocking (take an idle P again if there is one) before it readies a goroutine: Surrender races
    /// sysmon's TryRetake under the retake lock, and M1's ExitBlocking races M2 for the idle P. 3 threads, preemption
    /// bound 2: 6,329 schedules, complete (bound 3, run once by hand: 86,789, no violation); asserts that "sysmon
    /// retook first", "M1 took a P back" and "M1 finished the step without one" were each reached.
    /// </summary>
    [Fact]
    public void GoBlockingHandsThePBack_AgainstSysmonAndAnotherM()
    {
        var stats = new Stats();
        var result = Explore(stats, blocking: true);
        Assert.True(result.Complete, result.ToString());
        Assert.True(result.Schedules > 0);
        Assert.True(stats.TookBack > 0 && stats.FinishedWithoutP > 0 && stats.SurrenderLost > 0, stats.ToString());
        Assert.Empty(result.NotReached("Surrender", "ExitBlocking", "TryRetake", "StillOwnedSlow"));
    }

    /// <summary>
    /// Sysmon takes runnext from a P whose step is long (Processor.TakeRunnextFromLongStep) while the owner readies
    /// another goroutine (pinned Busy) and then, between steps, pops runnext itself. Blocking threshold 4 ticks, so
    /// sysmon never retakes here; a second P is idle (sysmon moves runnext only when some P could run it). 2 threads,
    /// preemption bound 3: 8,724 schedules, complete, 621 of them with runnext moved by sysmon (asserted > 0).
    /// </summary>
    [Fact]
    public void SysmonTakesRunnext_AgainstTheOwner()
    {
        int takenBySysmon = 0;
        var result = ModelChecker.Explore(new ModelOptions { PreemptionBound = ModelBounds.Preemptions(3) }, () =>
        {
            var w = new World(blockingThresholdMs: 4, procs: 2);
            var g1 = Goroutines.New(1);
            var g2 = Goroutines.New(2);
            w.P.Runq.PushNext(g1);
            w.Readied.Add(1);
            var step = Goroutines.New(100, () => w.Ready(w.M1, g2));
            var run = new ModelRun
            {
                Invariant = w.CheckOwnership,
                Final = () =>
                {
                    if (Scheduler.Global.Count > 0) takenBySysmon++;
                    w.CheckTakenOnce();
                },
            };
            run.Thread("m1", () =>
            {
                Execute(w.M1, step);
                if (w.M1.P is null) throw new InvalidOperationException("M1 lost its P without a retake.");
                w.OwnerDrainAndRelease(w.M1);
            });
            run.Thread("sysmon", w.RunSysmon);
            return run;
        });
        output.WriteLine($"{result}; runnext moved by sysmon in {takenBySysmon}");
        output.WriteLine("Points reached: " + string.Join(", ", result.Points.Order()));
        Assert.True(result.Complete, result.ToString());
        Assert.True(result.Schedules > 0);
        Assert.True(takenBySysmon > 0, "sysmon never took runnext");
        Assert.Empty(result.NotReached("TakeRunnextFromLongStep", "TakeNextForThief", "HasNext"));
    }

    private ModelResult Explore(Stats stats, bool blocking)
    {
        var result = ModelChecker.Explore(new ModelOptions { PreemptionBound = ModelBounds.Preemptions(2) }, () =>
        {
            var w = new World(blockingThresholdMs: 1, procs: 1);
            var g2 = Goroutines.New(2);
            var step = Goroutines.New(100, () =>
                {
                    if (blocking)
                    {
                        w.M1.EnterBlocking();
                        bool surrendered = w.M1.P is null;
                        if (!surrendered) stats.SurrenderLost++;
                        w.M1.ExitBlocking();
                        if (surrendered && w.M1.P is not null) stats.TookBack++;
                        if (surrendered && w.M1.P is null) stats.FinishedWithoutP++;
                    }
                    if (!w.Ready(w.M1, g2)) stats.PinRefused++;
                });
            bool m1Done = false, sysmonDone = false;
            var run = new ModelRun
            {
                Invariant = w.CheckOwnership,
                Final = () =>
                {
                    if (Scheduler.Retakes > 0) stats.Retaken++; else stats.NotRetaken++;
                    w.CheckTakenOnce();
                },
            };
            run.Thread("m1", () =>
            {
                Execute(w.M1, step);
                if (w.M1.P is not null) w.OwnerDrainAndRelease(w.M1);
                m1Done = true;
            });
            run.Thread("sysmon", () =>
            {
                try { w.RunSysmon(); }
                finally { sysmonDone = true; }
            });
            run.Thread("m2", () =>
            {
                ModelChecker.WaitUntil(() => Scheduler.Idle.Count > 0 || (m1Done && sysmonDone), "m2 waits for an idle P");
                if (Scheduler.Idle.Count == 0) return; // the final check reports the P as lost
                if (!WaitForP(w.M2)) throw new InvalidOperationException("WaitForP found no idle P.");
                w.BeginOwning(w.M2);
                w.OwnerDrainAndRelease(w.M2);
            });
            return run;
        });
        output.WriteLine($"{result}; {stats}");
        output.WriteLine("Points reached: " + string.Join(", ", result.Points.Order()));
        return result;
    }

    private sealed class Stats
    {
        public int Retaken, NotRetaken, PinRefused, SurrenderLost, TookBack, FinishedWithoutP;

        public override string ToString() =>
            $"retaken in {Retaken}, not in {NotRetaken}, Busy pin refused in {PinRefused}; Go.Blocking: sysmon retook first in {SurrenderLost}, P taken back in {TookBack}, step finished without a P in {FinishedWithoutP}";
    }

    /// <summary>One execution's world: P (and an idle second P if asked), M1 holding P, M2 without one, the ghost owner.</summary>
    private sealed class World
    {
        public readonly Processor P = new(0);
        public readonly Machine M1 = NewMachine();
        public readonly Machine M2 = NewMachine();
        public readonly List<int> Readied = [];
        public readonly List<int> Taken = [];
        private Machine? _acting; // the M acting as owner now (ghost state)

        public World(int blockingThresholdMs, int procs)
        {
            var allp = Enumerable.Range(0, procs).Select(i => i == 0 ? P : new Processor(i)).ToArray();
            Scheduler.Reset(allp);
            lock (Scheduler.SchedLock)
            {
                foreach (var idle in allp.Skip(1)) Scheduler.PidlePut(idle, idle.Acquire(M2));
            }
            RuntimeConfig.Current = new RuntimeConfig { BlockingThreshold = TimeSpan.FromMilliseconds(blockingThresholdMs) };
            Clock.Now = 0;
            Parker.TicksLeft = 3;
            // M1 holds P and is about to run a step (Execute): it touches no owner state before the step, so the
            // ghost owner starts empty.
            M1.P = P;
            M1.Gen = P.Acquire(M1);
        }

        private static Machine NewMachine() => (Machine)RuntimeHelpers.GetUninitializedObject(typeof(Machine)); // no thread

        public void RunSysmon() => s_sysmonLoop();

        public void BeginOwning(Machine m)
        {
            if (_acting is { } other && other != m) throw new InvalidOperationException($"two owners: M{Name(m)} begins to own P while M{Name(other)} still does.");
            _acting = m;
        }

        public void EndOwning(Machine m)
        {
            if (_acting != m) throw new InvalidOperationException($"M{Name(m)} stops owning P, which it did not own.");
            _acting = null;
        }

        private string Name(Machine m) => m == M1 ? "1" : "2";

        /// <summary>Scheduler.TryReadyLocal, transcribed (kickNext false): false if the pin failed and g went global.</summary>
        public bool Ready(Machine m, Goroutine g)
        {
            Readied.Add(g.ModelId());
            if (m.P is not { } p || (m.InStep && !p.TryEnterBusy(m, m.Gen)))
            {
                Scheduler.Global.Push(g);
                return false;
            }
            BeginOwning(m);
            if (!p.Runq.TryPutNext(g)) p.Runq.Push(g);
            EndOwning(m);
            Processor.ExitBusy(m);
            return true;
        }

        /// <summary>Between steps, holding the P: take everything queued (the next steps would run it), then release the P.</summary>
        public void OwnerDrainAndRelease(Machine m)
        {
            BeginOwning(m);
            while (m.P!.Runq.Pop(false, out _) is { } g) Taken.Add(g.ModelId());
            EndOwning(m);
            var p = m.P;
            m.P = null;
            lock (Scheduler.SchedLock) Scheduler.PidlePut(p, m.Gen);
        }

        public void CheckOwnership()
        {
            if (_acting is not { } m) return;
            long owned = (m.Gen << 2) | Processor.StateOwned;
            if (m.P != P || P.Word != owned)
                throw new InvalidOperationException($"M{Name(m)} acts as owner of P (generation {m.Gen}) but the P's word is generation {Processor.Gen(P.Word)}, state {Processor.State(P.Word)}: the P was taken from under it.");
        }

        /// <summary>The end: P is idle and on the idle list once, and every readied goroutine was taken exactly once.</summary>
        public void CheckTakenOnce()
        {
            if (Processor.State(P.Word) != Processor.StateIdle || Scheduler.Idle.Count(x => x == P) != 1 || M1.P == P || M2.P == P)
                throw new InvalidOperationException($"P is lost: word state {Processor.State(P.Word)}, on the idle list {Scheduler.Idle.Count(x => x == P)} times, M1 holds it {M1.P == P}, M2 holds it {M2.P == P}.");
            var all = new List<int>(Taken);
            while (Scheduler.Global.PopBatch(null, 1) is { } g) all.Add(g.ModelId());
            var left = new List<Goroutine>();
            foreach (var p in Scheduler.AllP) p.Runq.DrainTo(left);
            all.AddRange(left.Select(g => g.ModelId()));
            if (!all.Order().SequenceEqual(Readied.Order()))
                throw new InvalidOperationException($"Readied [{string.Join(",", Readied)}] but taken [{string.Join(",", all)}].");
        }
    }
}
