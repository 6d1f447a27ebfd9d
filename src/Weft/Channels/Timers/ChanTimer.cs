// ChanTimer — the engine behind Timer, Ticker, Go.After and Go.Tick: a per-P timer-heap entry that delivers the time
// on a receive-only channel. TimerEngine (the arming rules it shares with Go.AfterFunc's FuncTimer) is at the end.
//
// Go 1.23 rules, and how they are kept
//   * The channel behaves as unbuffered: no stale value is received after Stop or Reset returns. Delivery (Fire)
//     and Stop/Reset both run under _gate; Stop/Reset also drain the channel's one-slot buffer under it. So a value
//     is either received before Stop/Reset returns or never.
//   * A Ticker drops ticks for a slow receiver: a tick that finds the slot full is discarded, and the next deadline
//     skips the periods already missed.
//   * A timer or ticker that nothing references is collected, even unstopped (below).
//
// Collecting dropped timers
//   The heap holds this node strongly; the user holds the channel (Go.After, Go.Tick) or a Timer/Ticker that holds
//   it. So the node reaches its channel only through a weak reference (_channel): once the user drops the channel,
//   the collector frees it, the node is Abandoned, and the heap's Purge drops the node (Timers.cs says when).
//   One case must stay strong: a receiver parked on the channel that nothing else roots. A goroutine is rooted (the
//   registry, then its park source, then the channel), and so is a blocked thread (its stack); an async method
//   outside Weft that awaits `Go.After(d).ReceiveAsync()` and whose Task nobody holds is not: its state machine is
//   reachable only from the channel's wait queue, and the timer is the only thing that will ever wake it. So every
//   receiver that parks on a timer channel pins it (Chan.PinTimerLocked: Pin = the channel, under the channel's
//   lock), and the heap then reaches the channel, its queue and the receiver. A pin outlives its receiver (a select
//   case that lost, a cancelled receive) only until the next Purge, which releases it if no receiver is parked
//   (ReleaseIdlePin, whose comment proves the race with a new receiver harmless); the collection after that frees
//   the channel.
//   Fire with a collected channel does nothing; a periodic node is then not re-armed.
//
// Rejected
//   * Go 1.23's own design: a timer channel's timer is in the heap only while a goroutine is blocked on the channel,
//     and every non-blocking receive (and len) first runs an expired timer by hand. Exact, but it needs a hook in
//     every receive path (try, blocking, async, select poll, readiness) and in every dequeue; here the collector
//     answers "does anyone still hold this channel?" and the channel code has one hook, where a receiver parks.
//   * A finalizer on the user's object that stops the timer: the channel is the user's object (Go.After returns only
//     the channel) and a parked receiver must keep it alive, so the heap would have to reach it anyway.
//   * A weak reference alone: loses the un-rooted async receiver described above.
//
// A fired node can race a re-arm: the heap pops the node and calls Fire outside its lock, and Reset may re-add the
// same node before Fire takes _gate. Fire therefore acts only if the node is armed and not back in a heap
// (Heap is written under the heap's lock, and every write relevant here happens under _gate or, for the pop,
// on this thread before Fire). Lock order: _gate, then the heap's lock or the channel's lock, never both. Pin is
// written under the channel's lock (or, by Purge, under the heap's lock, racily: see ReleaseIdlePin).
// Known limit: Scheduler.Resize moves timers between heaps (TimerHeap.MoveAllTo) without _gate; a Reset in that
// window can double-add. Go has the same class of race closed by its timer state machine; not needed here yet.

using Weft.Channels;
using Weft.Runtime;

namespace Weft;

internal sealed class ChanTimer : TimerEngine
{
    private readonly WeakReference<Chan<DateTime>> _channel;
    private object? _pin; // the channel, while a receiver may be parked on it; see the essay
    private readonly SynctestBubble? _bubble = SynctestBubble.Current; // virtual time for the values it sends

    private ChanTimer(out Chan<DateTime> channel)
    {
        channel = new Chan<DateTime>(this);
        _channel = new WeakReference<Chan<DateTime>>(channel);
    }

    /// <summary>A new, unarmed timer channel; its engine is reachable from the channel only.</summary>
    public static Chan<DateTime> NewChannel(out ChanTimer engine)
    {
        engine = new ChanTimer(out var channel);
        return channel;
    }

    /// <summary>Called by the channel, under its lock, right after a receiver parked on it.</summary>
    internal void PinLocked(object channel) => Volatile.Write(ref _pin, channel); // release: the enqueue is visible to whoever reads this pin

    internal override bool Abandoned => !_channel.TryGetTarget(out _);

    /// <summary>
    /// Under the heap's lock, not the channel's. Race with a receiver R that parks meanwhile (R enqueues, then writes
    /// the pin with a release store, both under the channel's lock): if R's pin store comes after our exchange, the
    /// pin stays. If it comes before, our exchange reads it (exchange is a full fence), so our second look sees R
    /// queued and restores the pin. Between the two, <c>c</c> on this stack keeps the channel and R alive.
    /// </summary>
    internal override void ReleaseIdlePin()
    {
        if (Volatile.Read(ref _pin) is not Chan<DateTime> c || c.HasReceiveWaiters) return;
        Interlocked.Exchange(ref _pin, null);
        if (c.HasReceiveWaiters) Volatile.Write(ref _pin, c);
    }

    /// <summary>Test hook: whether a receiver pin holds the channel now.</summary>
    internal bool IsPinned => Volatile.Read(ref _pin) is not null;

    private protected override bool DiscardLocked() => _channel.TryGetTarget(out var c) && c.DrainTimer();

    internal override void Fire(long now)
    {
        Sudog? wake;
        lock (_gate)
        {
            if (!_channel.TryGetTarget(out var c))
            {
                DisarmLocked(); // nobody can ever receive: do not re-arm a ticker
                return;
            }
            if (!ClaimFireLocked(now)) return;
            wake = c.OfferFromTimer(_bubble is { } b ? b.Now.UtcDateTime : DateTime.UtcNow);
        }
        Sudog.WakeAll(wake);
    }
}

/// <summary>
/// The arming rules shared by a timer channel (ChanTimer) and Go.AfterFunc's FuncTimer: Start/Stop under _gate, a
/// fire that acts only if still armed and not re-added, and a periodic re-arm that drops missed periods.
/// </summary>
internal abstract class TimerEngine : TimerNode
{
    private protected readonly Lock _gate = new();
    private bool _armed;   // guarded by _gate
    private long _period;  // guarded by _gate; 0 for a one-shot timer

    /// <summary>(Re)arms: first fire after <paramref name="d"/>, then every <paramref name="period"/> ticks if positive. Returns whether it was active.</summary>
    public bool Start(TimeSpan d, long period)
    {
        lock (_gate)
        {
            bool wasActive = StopLocked();
            _armed = true;
            _period = period;
            Scheduler.AddTimer(this, Clock.Deadline(Scheduler.TimerNow(), d));
            return wasActive;
        }
    }

    /// <summary>Disarms and drops any undelivered value. True if something was still to come (Go 1.23's Stop result).</summary>
    public bool Stop()
    {
        lock (_gate) return StopLocked();
    }

    private bool StopLocked()
    {
        bool wasArmed = _armed;
        _armed = false;
        Heap?.Remove(this);
        bool drained = DiscardLocked();
        return wasArmed || drained;
    }

    /// <summary>Drops a delivered value nobody received yet; true if there was one. Under _gate.</summary>
    private protected virtual bool DiscardLocked() => false;

    private protected void DisarmLocked() => _armed = false;

    /// <summary>
    /// Under _gate, in Fire: true if this firing counts (armed, and not re-armed since the heap popped it). A periodic
    /// timer is re-added for its next period, skipping the periods already missed; a one-shot one disarms.
    /// </summary>
    private protected bool ClaimFireLocked(long now)
    {
        if (!_armed || Heap is not null) return false;
        if (_period > 0 && When < Clock.FarFuture - _period)
        {
            long next = When + _period;
            if (next <= now) next += (now - next) / _period * _period + _period; // drop missed ticks
            Scheduler.AddTimer(this, next < 0 || next > Clock.FarFuture ? Clock.FarFuture : next);
        }
        else
        {
            _armed = false;
        }
        return true;
    }
}

/// <summary>Go.AfterFunc's engine: runs the function in a goroutine of its own when it fires. The heap holds it strongly: the function is still to run.</summary>
internal sealed class FuncTimer(Delegate f) : TimerEngine
{
    internal override void Fire(long now)
    {
        lock (_gate)
        {
            if (!ClaimFireLocked(now)) return;
        }
        if (f is Func<Task> async) Go.Run(async);
        else Go.Run((Action)f);
    }
}
