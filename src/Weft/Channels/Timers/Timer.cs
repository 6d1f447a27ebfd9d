using Weft.Runtime;

namespace Weft;

/// <summary>
/// A single event: after a duration, the current time (UTC) is delivered on <see cref="C"/> (Go's <c>time.Timer</c>,
/// with Go 1.23 semantics). Backed by the scheduler's per-processor timer heaps, not a .NET timer.
/// </summary>
/// <remarks>
/// After <see cref="Stop"/> or <see cref="Reset"/> returns, no value from the earlier arming is received: the
/// channel behaves as unbuffered. <see cref="C"/> is receive-only: sending or closing throws.
/// The name clashes with <see cref="System.Threading.Timer"/> under implicit usings; <see cref="Go.NewTimer"/> with
/// <c>var</c> avoids spelling it.
/// </remarks>
/// <example><code>
/// var t = Go.NewTimer(TimeSpan.FromSeconds(1));
/// await t.C.ReceiveAsync();
/// </code></example>
public sealed class Timer
{
    private readonly ChanTimer _engine = new();

    private Timer() { }

    /// <summary>Starts a timer that fires once after <paramref name="d"/>.</summary>
    /// <param name="d">The delay; zero or negative fires at the next scheduling point.</param>
    public Timer(TimeSpan d) => _engine.Start(d < TimeSpan.Zero ? TimeSpan.Zero : d, 0);

    internal static Timer CreateStopped() => new();

    /// <summary>The channel on which the time is delivered. Receive-only.</summary>
    public Chan<DateTime> C => _engine.C;

    /// <summary>Prevents the timer from firing; any value not yet received is discarded.</summary>
    /// <returns>True if this call stopped a value from being delivered; false if it had already been received or the timer was stopped.</returns>
    /// <example><code>if (!t.Stop()) { /* already fired and received */ }</code></example>
    public bool Stop() => _engine.Stop();

    /// <summary>Re-arms the timer to fire after <paramref name="d"/>; any value from the earlier arming not yet received is discarded.</summary>
    /// <param name="d">The new delay.</param>
    /// <returns>True if the timer was active (a value was still to be delivered) before the call.</returns>
    /// <example><code>t.Reset(TimeSpan.FromMilliseconds(50));</code></example>
    public bool Reset(TimeSpan d) => _engine.Start(d < TimeSpan.Zero ? TimeSpan.Zero : d, 0);
}
