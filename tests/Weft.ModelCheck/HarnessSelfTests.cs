using Weft.ModelCheck.Harness;
using Xunit;

namespace Weft.ModelCheck;

/// <summary>
/// The checker itself: it explores exactly the interleavings it should, and it finds seeded bugs (a model checker that
/// cannot fail proves nothing).
/// </summary>
public sealed class HarnessSelfTests
{
    /// <summary>
    /// Two threads of three atomic steps each (start to point, point to point, point to end) have C(6,3) = 20
    /// interleavings; with a bound that never binds, the search must find exactly those, and with bound 0 exactly the
    /// two serial orders.
    /// </summary>
    [Fact]
    public void ExploresEveryInterleaving_AndOnlyThoseWithinTheBound()
    {
        var seen = new HashSet<string>();
        string order = "";
        ModelRun Setup()
        {
            order = "";
            return new ModelRun()
                .Thread("a", () => { order += "a"; ModelChecker.Point("a1"); order += "a"; ModelChecker.Point("a2"); order += "a"; })
                .Thread("b", () => { order += "b"; ModelChecker.Point("b1"); order += "b"; ModelChecker.Point("b2"); order += "b"; });
        }
        var all = ModelChecker.Explore(new ModelOptions { PreemptionBound = 10 }, () =>
        {
            var run = Setup();
            run.Final = () => Assert.True(seen.Add(order), $"{order} explored twice");
            return run;
        });
        Assert.Equal(20, all.Schedules);
        Assert.True(all.Complete);
        Assert.Equal(20, seen.Count);

        seen.Clear();
        var serial = ModelChecker.Explore(new ModelOptions { PreemptionBound = 0 }, () =>
        {
            var run = Setup();
            run.Final = () => seen.Add(order);
            return run;
        });
        Assert.Equal(2, serial.Schedules);
        Assert.Equal(["aaabbb", "bbbaaa"], seen.Order());
    }

    /// <summary>
    /// A seeded bug: a toy single-producer queue whose consumers advance the head with a read and a plain write
    /// instead of a compare-and-swap. Owner pops and a thief pops race; the checker must find the schedule in which
    /// both take the same item (one preemption suffices).
    /// </summary>
    [Fact]
    public void FindsTheDuplicateOfAQueueWithoutCas()
    {
        var e = Assert.Throws<ModelCheckException>(() => ModelChecker.Explore(new ModelOptions { PreemptionBound = 1 }, () =>
        {
            var q = new ToyQueue();
            for (int i = 1; i <= 3; i++) q.Push(i);
            var taken = new List<int>();
            return new ModelRun
            {
                Final = () =>
                {
                    while (q.Pop() is { } rest) taken.Add(rest);
                    if (taken.Count != taken.Distinct().Count()) throw new InvalidOperationException($"duplicate: taken [{string.Join(",", taken)}]");
                },
            }
            .Thread("owner", () => { if (q.Pop() is { } x) taken.Add(x); })
            .Thread("thief", () => { if (q.Pop() is { } x) taken.Add(x); });
        }));
        Assert.Contains("duplicate", e.Message);
        Assert.Contains("Schedule ", e.Message);
    }

    /// <summary>
    /// A seeded bug in a retake handshake: "sysmon" reads the owner's step state before announcing the retake (the
    /// real Processor announces first, then reads). The owner can then pin the P between that read and the
    /// announcement, and both believe they own it; the checker must find that, with the invariant checked per step.
    /// </summary>
    [Fact]
    public void FindsTheDoubleOwnerOfAHandshakeInTheWrongOrder()
    {
        var e = Assert.Throws<ModelCheckException>(() => ModelChecker.Explore(new ModelOptions { PreemptionBound = 2 }, () =>
        {
            int step = 1; // 1 running, 2 busy
            bool announced = false, retaken = false, ownerPinned = false;
            return new ModelRun
            {
                Invariant = () =>
                {
                    if (ownerPinned && retaken) throw new InvalidOperationException("two owners: the owner is pinned Busy on a P that sysmon retook");
                },
            }
            .Thread("owner", () =>
            {
                ModelChecker.Point("store busy");
                step = 2;
                ModelChecker.Point("read announcement");
                if (!announced)
                {
                    ownerPinned = true;
                    ModelChecker.Point("pinned");
                    ownerPinned = false;
                }
                ModelChecker.Point("store running");
                step = 1;
            })
            .Thread("sysmon", () =>
            {
                ModelChecker.Point("read step");
                bool running = step == 1;
                ModelChecker.Point("announce");
                announced = true;
                if (running)
                {
                    ModelChecker.Point("retake");
                    retaken = true;
                }
            });
        }));
        Assert.Contains("two owners", e.Message);
    }

    /// <summary>Every thread waiting on a condition nobody will make true is reported as a deadlock, not a hang.</summary>
    [Fact]
    public void ReportsADeadlock()
    {
        var e = Assert.Throws<ModelCheckException>(() => ModelChecker.Explore(new ModelOptions(), () =>
        {
            bool a = false, b = false;
            return new ModelRun()
                .Thread("x", () => { ModelChecker.WaitUntil(() => b, "x waits for b"); a = true; })
                .Thread("y", () => { ModelChecker.WaitUntil(() => a, "y waits for a"); b = true; });
        }));
        Assert.Contains("Deadlock", e.Message);
        Assert.Contains("x waits for b", e.Message);
    }

    /// <summary>A ring whose consumers claim the head without a CAS: the bug the harness must find.</summary>
    private sealed class ToyQueue
    {
        private readonly int[] _ring = new int[4];
        private int _head, _tail;

        public void Push(int x)
        {
            _ring[_tail & 3] = x;
            _tail++;
        }

        public int? Pop()
        {
            ModelChecker.Point("read head");
            int h = _head;
            if (h == _tail) return null;
            ModelChecker.Point("read slot");
            int x = _ring[h & 3];
            ModelChecker.Point("write head");
            _head = h + 1; // the bug: a CAS from h would fail for the second consumer
            return x;
        }
    }
}
