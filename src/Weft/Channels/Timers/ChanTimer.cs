// ChanTimer — the engine behind Timer, Ticker and Go.After: a per-P timer-heap entry that delivers the time on a
// receive-only channel.
//
// Go 1.23 rules, and how they are kept
//   * The channel behaves as unbuffered: no stale value is received after Stop or Reset returns. Delivery (Fire)
//     and Stop/Reset both run under _gate; Stop/Reset also drain the channel's one-slot buffer under it. So a value
//     is either received before Stop/Reset returns or never.
//   * A Ticker drops ticks for a slow receiver: a tick that finds the slot full is discarded, and the next deadline
//     skips the periods already missed.
//
// A fired node can race a re-arm: the heap pops the node and calls Fire outside its lock, and Reset may re-add the
// same node before Fire takes _gate. Fire therefore acts only if the node is armed and not back in a heap
// (Heap is written under the heap's lock, and every write relevant here happens under _gate or, for the pop,
// on this thread before Fire). Lock order: _gate, then the heap's lock or the channel's lock, never both.
// Known limit: Scheduler.Resize moves timers between heaps (TimerHeap.MoveAllTo) without _gate; a Reset in that
// window can double-add. Go has the same class of race closed by its timer state machine; not needed here yet.

using Weft.Channels;
using Weft.Runtime;

namespace Weft;

internal sealed class ChanTimer : TimerNode
{
    private readonly Lock _gate = new();
    private bool _armed;   // guarded by _gate
    private long _period;  // guarded by _gate; 0 for a one-shot timer

    public readonly Chan<DateTime> C = new(timer: true);
    private readonly Weft.Testing.Bubble? _bubble = Weft.Testing.Bubble.Current; // virtual time for the values it sends

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

    /// <summary>Disarms and drops any undelivered value. True if a value was still to come (Go 1.23's Stop result).</summary>
    public bool Stop()
    {
        lock (_gate) return StopLocked();
    }

    private bool StopLocked()
    {
        bool wasArmed = _armed;
        _armed = false;
        Heap?.Remove(this);
        bool drained = C.DrainTimer();
        return wasArmed || drained;
    }

    internal override void Fire(long now)
    {
        Sudog? wake;
        lock (_gate)
        {
            if (!_armed || Heap is not null) return; // stopped, or re-armed since this firing was popped
            if (_period > 0)
            {
                long next = When + _period;
                if (next <= now) next += (now - next) / _period * _period + _period; // drop missed ticks
                Scheduler.AddTimer(this, next);
            }
            else
            {
                _armed = false;
            }
            wake = C.OfferFromTimer(_bubble is { } b ? b.Now.UtcDateTime : DateTime.UtcNow);
        }
        Sudog.WakeAll(wake);
    }
}
