// The select models' world (ParkModelTests.Select_*): the real Select.Wait.cs (WaitAsync's deferred branch,
// CommitDeferred, TryUncommit, Finish, LockAll/UnlockAll) and SelectCore.cs (the done word, its Shut state, CommitTo,
// TryReclaim, Signal), compiled here, over receive cases on one-slot sources (ModelCase). The rest of Select (its
// fields and constructor, Select.cs) is the stand-in part below; a sender's Sudog.DequeueClaimed is transcribed in
// ModelSource.Send (dequeue nodes under the source's lock until one's claim wins, dropping losers).

using Weft.Channels;
using Weft.ModelCheck.Harness;
using Weft.Runtime;

namespace Weft.Channels
{
    internal static class ThrowHelper
    {
        public static void StaleValueTask() => throw new InvalidOperationException("A stale ValueTask token in a model.");

        public static void NotCompleted() => throw new InvalidOperationException("GetResult before the select completed, in a model.");
    }

    /// <summary>A wake list: the model's cases complete nobody while locked (a receive from a slot), so it stays empty.</summary>
    internal abstract class Sudog
    {
        internal static Sudog? Concat(Sudog? first, Sudog? second) => first ?? second;

        internal static void WakeAll(Sudog? s)
        {
            if (s is not null) throw new InvalidOperationException("A model case returned a wake list.");
        }
    }
}

namespace Weft
{
    /// <summary>The stand-in part of Select (Select.cs): its fields, a constructor, and a way to add model cases.</summary>
    public sealed partial class Select
    {
        private SelectCase[] _cases = new SelectCase[4];
        private LockSlot[] _lockOrder = new LockSlot[4];
        private int[] _pollOrder = new int[4];
        private int _count;
        private int _defaultIndex = -1;
        private bool _hasHooks;
        private bool _yielded;
        private int _busy;
        private uint _rng = 1; // a fixed seed: replays must see the same poll order
        private SelectCase? _anchor;
        private readonly SelectCore _core;

        internal Select() => _core = new SelectCore(this);

        internal bool IsWaiting => Volatile.Read(ref _busy) != 0;

        internal SelectCore Core => _core;

        internal IEnumerable<ModelCase> AllCases => _cases.Take(_count).Cast<ModelCase>();

        internal ModelCase[] Cases => [.. AllCases];

        internal ModelCase Receive(ModelSource source)
        {
            var c = new ModelCase(_count, source) { Owner = this };
            _cases[_count++] = c;
            return c;
        }
    }

    /// <summary>A source: a value slot and the queue of select nodes waiting on it, under a model lock.</summary>
    internal sealed class ModelSource(long id)
    {
        public readonly long Id = id;
        public WordLock Lock;
        public int? Slot;
        public readonly List<ModelCase> Queue = [];
        public int LosersDropped, StaleDropped, Taken; // by a sender; by a commit's cleanup; by the select itself

        /// <summary>A send: the first queued node whose claim wins takes the value (losers are dropped), else the slot.</summary>
        public void Send(int value)
        {
            ModelChecker.WaitUntil(() => Slot is null, "Send waits for the slot");
            Lock.Enter();
            while (Queue.Count > 0)
            {
                var node = Queue[0];
                Queue.RemoveAt(0);
                node.Queued = false;
                if (!node.Core!.TryClaim(node.Index))
                {
                    LosersDropped++; // its select was decided (or shut) already
                    continue;
                }
                node.Value = value;
                Lock.Exit();
                node.Core.Signal();
                return;
            }
            Slot = value;
            Lock.Exit();
        }
    }

    /// <summary>A receive case on a <see cref="ModelSource"/>; it is its own node (Go's sudog) on the source.</summary>
    internal sealed class ModelCase(int index, ModelSource source) : SelectCase(index)
    {
        public readonly ModelSource Source = source;
        public SelectCore? Core;
        public bool Queued; // under the source's lock; read racily by Dequeue, as the real cases read Sudog.Queued
        public int? Value;

        internal override bool IsActive => true;

        internal override long SelectId => Source.Id;

        internal override void Lock() => Source.Lock.Enter();

        internal override void Unlock() => Source.Lock.Exit();

        internal override bool Peek()
        {
            ModelChecker.Point("ModelCase.Peek");
            return Source.Slot is not null;
        }

        internal override OpStatus TryLocked(out Sudog? wake)
        {
            wake = null;
            if (Source.Slot is not { } v) return OpStatus.NotReady;
            Source.Slot = null;
            Source.Taken++;
            Value = v;
            return OpStatus.Done;
        }

        internal override Sudog? EnqueueLocked(SelectCore core)
        {
            if (Queued || Source.Queue.Contains(this)) throw new InvalidOperationException($"Case {Index}'s node is queued twice on its source.");
            Core = core;
            Queued = true;
            Source.Queue.Add(this);
            return null;
        }

        internal override void DequeueLocked()
        {
            if (Source.Queue.Remove(this)) Source.StaleDropped++;
            Queued = false;
        }

        internal override void Dequeue()
        {
            ModelChecker.Point("ModelCase.Dequeue");
            if (!Queued) return;
            Lock();
            Source.Queue.Remove(this);
            Queued = false;
            Unlock();
        }
    }
}
