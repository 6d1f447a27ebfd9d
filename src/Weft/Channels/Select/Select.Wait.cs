// Select, waiting: the three passes of the algorithm described in Select.cs.

using Weft.Channels;
using Weft.Runtime;

namespace Weft;

public sealed partial class Select
{
    /// <summary>
    /// Waits until one case can proceed, performs it, and returns that case's <see cref="SelectCase.Index"/>. With a
    /// default case, returns the default's index at once when no case is ready. Among ready cases the choice is
    /// uniformly random.
    /// </summary>
    /// <param name="cancellationToken">Gives up the wait; then no case was performed.</param>
    /// <returns>The index of the case performed.</returns>
    /// <exception cref="ChannelClosedException">The chosen case was a send on a closed channel.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before any case proceeded. A token already cancelled at the call wins even over a ready case: no case is performed (as in System.Threading.Channels).</exception>
    /// <exception cref="InvalidOperationException">Another wait on this select is in progress, on any thread (one waiter at a time; thrown at the call).</exception>
    /// <remarks>Allocates nothing in steady state when <paramref name="cancellationToken"/> cannot be cancelled.</remarks>
    /// <example><code>switch (await sel.WaitAsync()) { case 0: Use(a.Value); break; case 1: return; }</code></example>
    public ValueTask<int> WaitAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        Claim();
        int i = Poll(out OpStatus status, out var wake);
        if (i == NothingReady)
        {
            if (!cancellationToken.CanBeCanceled && !_hasHooks && Goroutine.Current is { CanDefer: true } g
                && FirstInLockOrder() is { } anchor)
            {
                // A goroutine parks on the select with a commit (Runtime/Park.cs): the locked pass runs when its
                // step ends (CommitDeferred), not now.
                _anchor = anchor;
                _core.PrepareDeferred(g);
                _core.HoldSpare(g);
                g.Defer(_core);
                return new ValueTask<int>(_core, _core.Version);
            }
            i = LockAndEnqueue(parker: null, out status, out wake);
            if (i == Enqueued)
            {
                short version = _core.Version;
                _core.Arm(cancellationToken);
                return new ValueTask<int>(_core, version);
            }
        }
        if (status != OpStatus.Done) return ValueTask.FromException<int>(new ChannelClosedException(ClosedByChoice));
        Sudog.WakeAll(wake);
        return new ValueTask<int>(i);
    }

    /// <summary>Like <see cref="WaitAsync"/>, blocking the calling thread. For plain threads; goroutines use WaitAsync.</summary>
    /// <param name="cancellationToken">Gives up the wait; then no case was performed.</param>
    /// <returns>The index of the case performed.</returns>
    /// <exception cref="ChannelClosedException">The chosen case was a send on a closed channel.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before any case proceeded. A token already cancelled at the call wins even over a ready case: no case is performed (as in System.Threading.Channels).</exception>
    /// <exception cref="InvalidOperationException">Called inside a <see cref="Weft.Testing.Bubble"/> when the wait would block (use WaitAsync there), or another wait on this select is in progress, on any thread.</exception>
    /// <remarks>
    /// Parks the thread on its own reusable event, which the completer sets directly: no Task, no ThreadPool hop,
    /// nothing allocated in steady state. From a goroutine, the goroutine's processor is handed to another thread
    /// while it blocks.
    /// </remarks>
    /// <example><code>int i = sel.Wait();</code></example>
    public int Wait(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var parker = Parker.Current;
        Claim();
        int i = Poll(out OpStatus status, out var wake);
        if (i == NothingReady)
        {
            i = LockAndEnqueue(parker, out status, out wake);
            if (i == Enqueued)
            {
                _core.Arm(cancellationToken);
                parker.Park(WaitReason.Select);
                return _core.FinishBlocking();
            }
        }
        if (status != OpStatus.Done) throw new ChannelClosedException(ClosedByChoice);
        Sudog.WakeAll(wake);
        return i;
    }

    private const int Enqueued = -1, NothingReady = -2;
    private const string ClosedByChoice = "Send on a closed channel (chosen by a select).";

    /// <summary>Starts a wait: takes _busy atomically, so that of two racing waiters exactly one proceeds.</summary>
    private void Claim()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0) ThrowBusy();
    }

    /// <summary>Ends a wait (every return and throw after Claim). Nothing of this wait is touched after it.</summary>
    private void Release() => Volatile.Write(ref _busy, 0);

    private static void ThrowBusy() => throw new InvalidOperationException("A select serves one waiter at a time: another wait on it is in progress.");

    /// <summary>
    /// Pass 1 of the algorithm, with _busy claimed: a lock-free peek, then one lock per candidate. Returns the index of
    /// the case performed (status Done, or Closed for a send on a closed channel; <paramref name="wake"/> is the
    /// counterparty to resume) or the default's index, releasing _busy; else <see cref="NothingReady"/>, keeping it.
    /// </summary>
    private int Poll(out OpStatus status, out Sudog? wake)
    {
        int n = _count;
        Shuffle(n);
        for (int k = 0; k < n; k++)
        {
            var c = _cases[_pollOrder[k]];
            if (!c.IsActive || !c.Peek()) continue;
            c.Lock();
            status = c.TryLocked(out wake);
            c.Unlock();
            if (status != OpStatus.NotReady)
            {
                Release();
                return c.Index;
            }
        }
        wake = null;
        status = OpStatus.Done;
        if (_defaultIndex >= 0)
        {
            Release();
            return _defaultIndex;
        }
        return NothingReady;
    }

    /// <summary>
    /// Pass 2, with _busy claimed and nothing ready in pass 1: every source locked in the global order; try again,
    /// else park a node on each. Returns the index of the case performed (releasing _busy), or
    /// <see cref="Enqueued"/> when a node now waits on every active case (then Arm and wait on the core; Finish
    /// releases _busy).
    /// </summary>
    private int LockAndEnqueue(Parker? parker, out OpStatus status, out Sudog? wake)
    {
        int n = _count;
        if (parker is not null && SynctestBubble.Current is not null)
        {
            Release();
            Parker.CheckNotInBubble();
        }
        if (_hasHooks)
            for (int i = 0; i < n; i++) _cases[i].BeforeBlock();
        int locked = LockAll(n);
        int won = TryAllLocked(n, out status, out wake);
        if (won >= 0)
        {
            UnlockAll(locked);
            if (_hasHooks)
                for (int i = 0; i < n; i++) _cases[i].AfterBlock();
            Release();
            return won;
        }
        _core.Prepare(parker);
        var ready = EnqueueAllLocked(n);
        UnlockAll(locked);
        Sudog.WakeAll(ready); // readiness waiters (ChannelReader/Writer adapters) of the channels this select parked on
        if (_hasHooks)
            for (int i = 0; i < n; i++) _cases[i].AfterEnqueue(_core); // outside every lock: a callback may claim at once
        return Enqueued;
    }

    /// <summary>Under every lock: tries each active case in poll order. Returns the index of the one performed, or -1.</summary>
    private int TryAllLocked(int n, out OpStatus status, out Sudog? wake)
    {
        for (int k = 0; k < n; k++)
        {
            var c = _cases[_pollOrder[k]];
            if (!c.IsActive) continue;
            status = c.TryLocked(out wake);
            if (status != OpStatus.NotReady) return c.Index;
        }
        status = OpStatus.NotReady;
        wake = null;
        return -1;
    }

    /// <summary>Under every lock: parks a node on each active case, in poll order (see step 3 in Select.cs). Returns readiness waiters to wake.</summary>
    private Sudog? EnqueueAllLocked(int n)
    {
        Sudog? ready = null;
        for (int k = 0; k < n; k++)
        {
            var c = _cases[_pollOrder[k]];
            if (c.IsActive) ready = Sudog.Concat(ready, c.EnqueueLocked(_core));
        }
        return ready;
    }

    /// <summary>
    /// The commit of a deferred wait (SelectCore.CommitPark and CommitLoose; Runtime/Park.cs): pass 2 at the end of
    /// the owner's step. <paramref name="owner"/> is the goroutine published as parked, or null for a loose commit.
    /// </summary>
    internal ParkOutcome CommitDeferred(Goroutine? owner)
    {
        // The yield before parking (Select.cs, step 3): nothing is locked or queued yet, so nobody has seen this wait.
        // At most once per commit: the commit that follows a yield does not yield (a post that interrupts a commit
        // starts a new one).
        if (_yielded) _yielded = false;
        else if (owner is { Bubble: null } && Scheduler.NextIsWaiting())
        {
            _yielded = true;
            return ParkOutcome.Yield;
        }
        int n = _count;
        int locked = LockAll(n);
        // Nodes that a poster's claim (TryUncommit) left queued as losers leave before the done word reopens.
        for (int i = 0; i < n; i++)
            if (_cases[i].IsActive) _cases[i].DequeueLocked();
        _core.Reopen();
        int won = TryAllLocked(n, out _, out var wake);
        if (won >= 0)
        {
            _core.Decide(won);
            UnlockAll(locked);
            Sudog.WakeAll(wake);
            return ParkOutcome.Completed;
        }
        if (owner is not null && owner.HasMail)
        {
            UnlockAll(locked);
            return ParkOutcome.Mail;
        }
        _core.CommitTo(owner);
        var ready = EnqueueAllLocked(n);
        UnlockAll(locked);
        Sudog.WakeAll(ready);
        return ParkOutcome.Parked;
    }

    /// <summary>
    /// A poster's claim of <paramref name="owner"/>'s committed park on this select, under the lock of the source the
    /// commit locked first (so the claim is ordered before or after the whole commit). The done word's CAS decides
    /// between the claim and a completer; the nodes stay queued as losers until the next commit removes them.
    /// </summary>
    internal bool TryUncommit(Goroutine owner)
    {
        var anchor = Volatile.Read(ref _anchor);
        if (anchor is null) return false;
        anchor.Lock();
        bool mine = _core.TryReclaim(owner);
        anchor.Unlock();
        return mine;
    }

    /// <summary>The active case whose source comes first in the global lock order (what a commit locks first), or null.</summary>
    private SelectCase? FirstInLockOrder()
    {
        SelectCase? first = null;
        for (int i = 0; i < _count; i++)
        {
            var c = _cases[i];
            if (c.IsActive && (first is null || c.SelectId < first.SelectId)) first = c;
        }
        return first;
    }

    /// <summary>The owner's side of a blocked wait, from SelectCore.GetResult: dequeue the losers, then report.</summary>
    internal int Finish(int winner, CancellationToken token)
    {
        int n = _count;
        for (int i = 0; i < n; i++)
        {
            var c = _cases[i];
            if (c.IsActive && i != winner) c.Dequeue();
        }
        if (_hasHooks)
            for (int i = 0; i < n; i++) _cases[i].AfterBlock();
        bool failedClosed = winner != SelectCore.Cancelled && _cases[winner].FailedClosed;
        Release();
        if (winner == SelectCore.Cancelled) throw new OperationCanceledException(token);
        if (failedClosed) throw new ChannelClosedException("Send on a closed channel (closed while a select waited to send).");
        return winner;
    }

    /// <summary>Locks every distinct active source in ascending SelectId (the global lock order). Returns how many were locked.</summary>
    private int LockAll(int n)
    {
        var order = _lockOrder;
        int m = 0;
        for (int i = 0; i < n; i++)
        {
            var c = _cases[i];
            if (!c.IsActive) continue;
            // Insertion sort: n is small, and the order barely changes between waits.
            long id = c.SelectId;
            int j = m++;
            while (j > 0 && order[j - 1].Case.SelectId > id)
            {
                order[j] = order[j - 1];
                j--;
            }
            order[j].Case = c;
        }
        int locked = 0;
        long last = long.MinValue;
        for (int i = 0; i < m; i++)
        {
            var c = order[i].Case;
            long id = c.SelectId;
            if (id == last) continue; // two cases on one channel: lock it once
            last = id;
            c.Lock();
            order[locked++].Case = c;
        }
        return locked;
    }

    private void UnlockAll(int locked)
    {
        // Each slot is cleared before its unlock, never after: a deferred commit's last unlock publishes the select's
        // nodes, and a completer may then ready the goroutine on another M, whose next wait on this select rewrites
        // _lockOrder (LockAll). A store after that unlock could null the other M's entry (a NullReferenceException in
        // its UnlockAll, with the source left locked). Found by tests/Weft.ModelCheck (ParkModelTests.Select_TwoMs_*).
        var order = _lockOrder;
        for (int i = locked - 1; i >= 0; i--)
        {
            var c = order[i].Case;
            order[i].Case = null!;
            ModelPoint.Here();
            c.Unlock();
        }
    }

    /// <summary>
    /// A slot of the lock order. SelectCase is an abstract class, so every store into a SelectCase[] is a covariant
    /// array store that the runtime type-checks; LockAll's sort and compaction and UnlockAll's clearing store on every
    /// commit of a parking select, and a struct slot needs no check.
    /// </summary>
    private struct LockSlot
    {
        public SelectCase Case;
    }

    /// <summary>A uniformly random permutation of 0..n-1 into _pollOrder (Fisher–Yates over xorshift32).</summary>
    private void Shuffle(int n)
    {
        var order = _pollOrder;
        uint x = _rng;
        for (int i = 0; i < n; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            int j = (int)(((ulong)x * (uint)(i + 1)) >> 32);
            order[i] = order[j];
            order[j] = i;
        }
        _rng = x;
    }
}
