
namespace Weft;

/// <summary>
/// A single event: after a duration, the current time (UTC) is delivered on <see cref="C"/> (Go's <c>time.Timer</c>,
/// with Go 1.23 semantics), or, for a timer from <see cref="Go.AfterFunc(TimeSpan, Action)"/>, a function runs in its own goroutine.
/// Backed by the scheduler's per-processor timer heaps, not a .NET timer.
/// </summary>
/// <remarks>
/// After <see cref="Stop"/> or <see cref="Reset"/> returns, no value from the earlier arming is received: the
/// channel behaves as unbuffered. <see cref="C"/> is a <see cref="ReceiveOnlyChan{T}"/>, so a send on it does not
/// compile. A timer that nothing references any more is collected, even if it was never stopped (Go 1.23); one
/// made by <see cref="Go.AfterFunc(TimeSpan, Action)"/> stays until its function has been started or it is stopped.
/// A duration too large to add to the clock saturates: such a timer never fires. A zero or negative one fires at once.
/// The name clashes with <see cref="System.Threading.Timer"/> under implicit usings; <see cref="Go.NewTimer"/> with
/// <c>var</c> avoids spelling it.
/// </remarks>
/// <example><code>
/// var t = Go.NewTimer(TimeSpan.FromSeconds(1));
/// await t.C.ReceiveAsync();
/// </code></example>
public sealed class Timer
{
    private readonly Chan<DateTime>? _channel; // null for an AfterFunc timer
    private readonly TimerEngine _engine;

    private Timer()
    {
        _channel = ChanTimer.NewChannel(out var engine);
        _engine = engine;
    }

    private Timer(Delegate f) => _engine = new FuncTimer(f);

    /// <summary>Starts a timer that fires once after <paramref name="d"/>.</summary>
    /// <param name="d">The delay; zero or negative fires at the next scheduling point, one too large to represent never.</param>
    public Timer(TimeSpan d) : this() => _engine.Start(d, 0);

    internal static Timer CreateStopped() => new();

    internal static Timer AfterFunc(TimeSpan d, Delegate f)
    {
        var t = new Timer(f);
        t._engine.Start(d, 0);
        return t;
    }

    /// <summary>
    /// The channel on which the time is delivered. Receive-only. For a timer made by <see cref="Go.AfterFunc(TimeSpan, Action)"/> it is
    /// the default value (Go's nil channel), as Go's <c>Timer.C</c> is nil there.
    /// </summary>
    public ReceiveOnlyChan<DateTime> C => _channel;

    /// <summary>The channel itself, for Select.Timeout's case.</summary>
    internal Chan<DateTime> Channel => _channel!;

    /// <summary>Prevents the timer from firing; any value not yet received is discarded.</summary>
    /// <returns>
    /// True if this call stopped a value from being delivered (for <see cref="Go.AfterFunc(TimeSpan, Action)"/>: stopped the function
    /// from being started); false if it had already been received (started) or the timer was stopped.
    /// </returns>
    /// <example><code>if (!t.Stop()) { /* already fired and received */ }</code></example>
    public bool Stop() => _engine.Stop();

    /// <summary>Re-arms the timer to fire after <paramref name="d"/>; any value from the earlier arming not yet received is discarded.</summary>
    /// <param name="d">The new delay; zero or negative fires at once, one too large to represent never.</param>
    /// <returns>True if the timer was active (a value was still to be delivered, or the function still to be started) before the call.</returns>
    /// <example><code>t.Reset(TimeSpan.FromMilliseconds(50));</code></example>
    public bool Reset(TimeSpan d) => _engine.Start(d, 0);
}
