using Weft.Runtime;

namespace Weft;

/// <summary>
/// Delivers the time (UTC) on <see cref="C"/> every period (Go's <c>time.Ticker</c>). A slow receiver does not build
/// a backlog: ticks that find the previous one unreceived are dropped.
/// </summary>
/// <remarks>
/// After <see cref="Stop"/> or <see cref="Reset"/> returns, no tick from before the call is received. A ticker that
/// nothing references any more is collected, even if it was never stopped (Go 1.23). A period too large to add to
/// the clock saturates: such a ticker never ticks.
/// </remarks>
/// <example><code>
/// var tick = Go.NewTicker(TimeSpan.FromMilliseconds(100));
/// for (int i = 0; i &lt; 10; i++) await tick.C.ReceiveAsync();
/// tick.Stop();
/// </code></example>
public sealed class Ticker
{
    private readonly Chan<DateTime> _channel;
    private readonly ChanTimer _engine;

    /// <summary>Starts a ticker with period <paramref name="period"/>.</summary>
    /// <param name="period">The interval between ticks.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="period"/> is not positive.</exception>
    public Ticker(TimeSpan period)
    {
        _channel = ChanTimer.NewChannel(out _engine);
        Reset(period);
    }

    /// <summary>The channel on which ticks are delivered. Receive-only.</summary>
    public ReceiveOnlyChan<DateTime> C => _channel;

    /// <summary>Stops the ticker; an unreceived tick is discarded.</summary>
    public void Stop() => _engine.Stop();

    /// <summary>Restarts the ticker with a new period; the next tick comes one <paramref name="period"/> from now.</summary>
    /// <param name="period">The new interval.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="period"/> is not positive.</exception>
    public void Reset(TimeSpan period)
    {
        if (period <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(period), period, "A ticker's period must be positive (Go panics with \"non-positive interval\").");
        _engine.Start(period, Math.Max(1, Clock.FromTimeSpan(period)));
    }
}
