namespace Weft;

public static partial class Go
{
    /// <summary>A channel that receives the time (UTC) once, after <paramref name="d"/> (Go's <c>time.After</c>).</summary>
    /// <param name="d">The delay; zero or negative is ready at once, one too large to represent never.</param>
    /// <returns>A receive-only channel.</returns>
    /// <remarks>
    /// Dropping the channel unreceived is fine: the timer is collected with it (Go 1.23), so a select loop that
    /// makes one per iteration stays bounded. <see cref="Select.Timeout"/> reuses one timer instead.
    /// </remarks>
    /// <example><code>var sel = new Select(); var r = sel.Receive(results); var late = sel.Receive(Go.After(TimeSpan.FromSeconds(1)));</code></example>
    public static ReceiveOnlyChan<DateTime> After(TimeSpan d)
    {
        var c = ChanTimer.NewChannel(out var engine);
        engine.Start(d, 0);
        return c;
    }

    /// <summary>Starts a <see cref="Timer"/> that fires once after <paramref name="d"/> (Go's <c>time.NewTimer</c>).</summary>
    /// <param name="d">The delay; zero or negative fires at once, one too large to represent never.</param>
    /// <returns>The timer.</returns>
    /// <example><code>var t = Go.NewTimer(TimeSpan.FromSeconds(1));</code></example>
    public static Timer NewTimer(TimeSpan d) => new(d);

    /// <summary>
    /// Runs <paramref name="f"/> in a goroutine of its own after <paramref name="d"/> (Go's <c>time.AfterFunc</c>).
    /// </summary>
    /// <param name="d">The delay; zero or negative starts <paramref name="f"/> at once, one too large to represent never.</param>
    /// <param name="f">The function. An exception that escapes it is unhandled, as in any goroutine (<see cref="UnhandledException"/>).</param>
    /// <returns>
    /// The timer: <see cref="Timer.Stop"/> returns true if it kept <paramref name="f"/> from being started,
    /// <see cref="Timer.Reset"/> true if <paramref name="f"/> was still to be started, and starts it again after the new
    /// delay either way. Its <see cref="Timer.C"/> is the default value (Go's nil channel). Inside a test bubble the
    /// goroutine starts in the bubble, on its virtual clock.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <example><code>var t = Go.AfterFunc(TimeSpan.FromSeconds(5), () => Console.WriteLine("too slow"));
    /// await DoWorkAsync();
    /// t.Stop();</code></example>
    public static Timer AfterFunc(TimeSpan d, Action f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Timer.AfterFunc(d, f);
    }

    /// <summary>
    /// Runs the async <paramref name="f"/> in a goroutine of its own after <paramref name="d"/>: <see cref="AfterFunc(TimeSpan, Action)"/>
    /// for a body that awaits. The goroutine ends when the returned task completes; a fault is unhandled.
    /// </summary>
    /// <param name="d">The delay; zero or negative starts <paramref name="f"/> at once, one too large to represent never.</param>
    /// <param name="f">The goroutine's body.</param>
    /// <returns>The timer, with the same <see cref="Timer.Stop"/> and <see cref="Timer.Reset"/> results.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <example><code>Go.AfterFunc(TimeSpan.FromSeconds(1), async () => await results.SendAsync(Fallback()));</code></example>
    public static Timer AfterFunc(TimeSpan d, Func<Task> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Timer.AfterFunc(d, f);
    }

    /// <summary>Starts a <see cref="Ticker"/> (Go's <c>time.NewTicker</c>).</summary>
    /// <param name="period">The interval between ticks.</param>
    /// <returns>The ticker.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="period"/> is not positive.</exception>
    /// <example><code>var t = Go.NewTicker(TimeSpan.FromSeconds(1));</code></example>
    public static Ticker NewTicker(TimeSpan period) => new(period);

    /// <summary>
    /// A channel that receives the time (UTC) every <paramref name="period"/> (Go's <c>time.Tick</c>): a ticker that
    /// nobody can stop. Once dropped it is collected, with its ticker (Go 1.23).
    /// </summary>
    /// <param name="period">The interval between ticks.</param>
    /// <returns>
    /// The ticker's channel; for a zero or negative <paramref name="period"/>, the default value, Go's nil channel, as
    /// Go returns nil there: never ready as a select case, and any other operation on it throws
    /// <see cref="InvalidOperationException"/> (docs/go-differences.md).
    /// </returns>
    /// <example><code>await foreach (var now in Go.Tick(TimeSpan.FromSeconds(1))) Console.WriteLine(now);</code></example>
    public static ReceiveOnlyChan<DateTime> Tick(TimeSpan period) => period <= TimeSpan.Zero ? default : new Ticker(period).C;
}
