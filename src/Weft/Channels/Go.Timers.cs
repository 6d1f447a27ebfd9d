namespace Weft;

public static partial class Go
{
    /// <summary>A channel that receives the time (UTC) once, after <paramref name="d"/> (Go's <c>time.After</c>).</summary>
    /// <param name="d">The delay.</param>
    /// <returns>A receive-only channel.</returns>
    /// <remarks>In a select loop prefer <see cref="Select.Timeout"/>, which reuses one timer instead of creating one per call.</remarks>
    /// <example><code>var sel = new Select(); var r = sel.Receive(results); var late = sel.Receive(Go.After(TimeSpan.FromSeconds(1)));</code></example>
    public static Chan<DateTime> After(TimeSpan d) => new Timer(d).C;

    /// <summary>Starts a <see cref="Timer"/> that fires once after <paramref name="d"/> (Go's <c>time.NewTimer</c>).</summary>
    /// <param name="d">The delay.</param>
    /// <returns>The timer.</returns>
    /// <example><code>var t = Go.NewTimer(TimeSpan.FromSeconds(1));</code></example>
    public static Timer NewTimer(TimeSpan d) => new(d);

    /// <summary>Starts a <see cref="Ticker"/> (Go's <c>time.NewTicker</c>).</summary>
    /// <param name="period">The interval between ticks.</param>
    /// <returns>The ticker.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="period"/> is not positive.</exception>
    /// <example><code>var t = Go.NewTicker(TimeSpan.FromSeconds(1));</code></example>
    public static Ticker NewTicker(TimeSpan period) => new(period);
}
