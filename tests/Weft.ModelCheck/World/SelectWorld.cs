// The select model's world (ParkModelTests.Select_*): the real SelectCore (src/Weft/Channels/Select/SelectCore.cs:
// the done word, its Shut state, CommitTo, TryReclaim, Signal) over a stand-in Select of two receive cases on two
// one-slot sources, A (first in the lock order: the anchor a poster's claim locks) and B. The stand-in transcribes
// Select.Wait.cs's CommitDeferred (lock both in order, drop stale nodes, reopen, try each case, else mail, else
// commit and queue a node on each), TryUncommit (the anchor's lock around TryReclaim) and Finish (drop the losers),
// and a sender's Sudog.DequeueClaimed (dequeue nodes under the source's lock until one's claim wins).

using Weft.Channels;
using Weft.ModelCheck.Harness;
using Weft.ModelCheck.World;
using Weft.Runtime;

namespace Weft.Channels
{
    /// <summary>A blocked thread's parker: no model waits with Select.Wait.</summary>
    internal sealed class ThreadParker
    {
        public void Unpark() => throw new NotSupportedException("ThreadParker.Unpark is not part of the model world (tests/Weft.ModelCheck/World).");
    }

    internal static class ThrowHelper
    {
        public static void StaleValueTask() => throw new InvalidOperationException("A stale ValueTask token in a model.");

        public static void NotCompleted() => throw new InvalidOperationException("GetResult before the select completed, in a model.");
    }
}

namespace Weft
{
    /// <summary>One source of the select: a value slot and the queue of select nodes (case index), under a model lock.</summary>
    internal sealed class SelectSource(int caseIndex)
    {
        public readonly int CaseIndex = caseIndex;
        public WordLock Lock;
        public int? Slot;
        public readonly List<SelectCore> Queue = [];

        /// <summary>A send: the first queued node whose claim wins takes the value (losers are dropped), else the slot.</summary>
        public void Send(Select select, int value)
        {
            ModelChecker.WaitUntil(() => Slot is null, "Send waits for the slot");
            Lock.Enter();
            while (Queue.Count > 0)
            {
                var core = Queue[0];
                Queue.RemoveAt(0);
                if (!core.TryClaim(CaseIndex))
                {
                    select.LosersDropped++; // a loser: its select was decided (or shut) already
                    continue;
                }
                select.Values[CaseIndex] = value;
                Lock.Exit();
                core.Signal();
                return;
            }
            Slot = value;
            Lock.Exit();
        }
    }

    /// <summary>The stand-in select: two receive cases, on sources A (index 0, the anchor) and B (index 1).</summary>
    internal sealed class Select
    {
        public readonly SelectSource[] Sources = [new(0), new(1)];
        public readonly int?[] Values = new int?[2];
        public readonly SelectCore Core;
        public int LosersDropped, StaleDropped; // by a sender; by the next commit
        private readonly ParkWorld _world;

        public Select(ParkWorld world)
        {
            _world = world;
            Core = new SelectCore(this);
        }

        /// <summary>Select.WaitAsync's deferred branch and the await of its ValueTask, in G's step.</summary>
        public void DeferAndAwait(Goroutine g)
        {
            if (!ReferenceEquals(SynchronizationContext.Current, g) || !g.CanDefer) throw new InvalidOperationException("The select starts outside G's step, or G has a deferred wait.");
            Core.PrepareDeferred(g);
            Core.HoldSpare(g);
            g.Defer(Core);
            Core.OnCompleted(s_onDone, this, Core.Version, System.Threading.Tasks.Sources.ValueTaskSourceOnCompletedFlags.UseSchedulingContext);
        }

        private static readonly Action<object?> s_onDone = static o =>
        {
            var select = (Select)o!;
            int i = select.Core.GetResult(select.Core.Version);
            if (select.Values[i] is not { } v) throw new InvalidOperationException($"Case {i} won with no value.");
            select._world.Ended.Add((WaitEnd.Delivered, v));
        };

        /// <summary>Select.CommitDeferred for the two cases (poll order A, B).</summary>
        internal ParkOutcome CommitDeferred(Goroutine? owner)
        {
            foreach (var s in Sources) s.Lock.Enter();
            foreach (var s in Sources)
                if (s.Queue.Remove(Core)) StaleDropped++; // nodes a poster's claim left queued as losers
            Core.Reopen();
            ParkOutcome outcome;
            int won = Array.FindIndex(Sources, s => s.Slot is not null);
            if (won >= 0)
            {
                Values[won] = Sources[won].Slot;
                Sources[won].Slot = null;
                Core.Decide(won);
                outcome = ParkOutcome.Completed;
            }
            else if (owner is not null && owner.HasMail)
            {
                outcome = ParkOutcome.Mail;
            }
            else
            {
                Core.CommitTo(owner);
                foreach (var s in Sources)
                {
                    if (s.Queue.Contains(Core)) throw new InvalidOperationException("A select node is queued twice on one source.");
                    s.Queue.Add(Core);
                }
                outcome = ParkOutcome.Parked;
            }
            _world.Outcomes[(int)outcome]++;
            for (int i = Sources.Length - 1; i >= 0; i--) Sources[i].Lock.Exit();
            return outcome;
        }

        /// <summary>Select.TryUncommit: the claim under the anchor's lock.</summary>
        internal bool TryUncommit(Goroutine owner)
        {
            var anchor = Sources[0];
            anchor.Lock.Enter();
            bool mine = Core.TryReclaim(owner);
            if (mine) _world.Claims++; else _world.ClaimsRefused++;
            anchor.Lock.Exit();
            return mine;
        }

        /// <summary>Select.Finish: the losers leave their sources; then the winner is reported.</summary>
        internal int Finish(int winner, CancellationToken token)
        {
            for (int i = 0; i < Sources.Length; i++)
            {
                if (i == winner) continue;
                var s = Sources[i];
                s.Lock.Enter();
                s.Queue.Remove(Core);
                s.Lock.Exit();
            }
            if (winner < 0) throw new InvalidOperationException("A select with no cancellable token reports a cancellation.");
            return winner;
        }
    }
}
