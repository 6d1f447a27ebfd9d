// Bubble — deterministic concurrency tests (Go 1.25's testing/synctest, plus seeds): the public facade of
// Runtime/Synctest.cs, which holds the bubble's scheduler, clock and loop. This type adds only what a test touches:
// Run, Explore, Current, the seed, the clock, its TimeProvider, WaitIdleAsync and Dump.

using System.Runtime.CompilerServices;
using Weft.Runtime;

namespace Weft.Testing;

/// <summary>
/// A deterministic, virtual-time runtime for concurrency tests (Go's <c>testing/synctest</c>, with seeds). The body
/// and every goroutine it starts run one at a time on a private thread; the order, and every <c>select</c> choice,
/// comes from a seeded generator, so the same seed replays the same interleaving.
/// </summary>
/// <remarks>
/// <para>
/// Time is virtual: it starts at <see cref="Epoch"/> and jumps to the next timer when every goroutine in the bubble
/// is durably blocked (on channels, sleeps, sync primitives). <c>Go.Sleep</c>, <c>Go.After</c>, timers, tickers and
/// <see cref="TimeProvider"/> all use it, so a bubble that sleeps an hour finishes in milliseconds.
/// </para>
/// <para>
/// Foreign awaits (real I/O, <see cref="Task.Delay(int)"/>) are allowed; while one is pending, time stands still and
/// replays are no longer guaranteed. If every goroutine is durably blocked and no timer is pending, the bubble fails
/// with a <see cref="DeadlockException"/> that lists every goroutine, what it waits for and where it was started.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// await Bubble.Run(async bubble =>
/// {
///     var ch = new Chan&lt;int&gt;(0);
///     Go.Run(async () => { await Go.Sleep(TimeSpan.FromHours(1)); await ch.SendAsync(1); });
///     Assert.Equal(1, await ch.ReceiveAsync());
///     Assert.Equal(Bubble.Epoch + TimeSpan.FromHours(1), bubble.Now);   // instant in real time
/// }, seed: 42);
/// </code>
/// </example>
public sealed class Bubble
{
    /// <summary>Where every bubble's virtual clock starts: 2000-01-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset Epoch = SynctestBubble.Epoch;

    private Bubble(int seed)
    {
        Core = new SynctestBubble(seed, this, static (s, message) => new DeadlockException(s, message));
        TimeProvider = new BubbleTimeProvider(Core);
    }

    /// <summary>The runtime's side of this bubble.</summary>
    internal SynctestBubble Core { get; }

    /// <summary>The bubble the calling code runs in, or null outside bubbles.</summary>
    public static Bubble? Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => SynctestBubble.Current is { } b ? (Bubble)b.Facade : null;
    }

    /// <summary>The seed this bubble's choices come from.</summary>
    public int Seed => Core.Seed;

    /// <summary>The virtual time.</summary>
    public DateTimeOffset Now => Core.Now;

    /// <summary>A <see cref="System.TimeProvider"/> on the virtual clock, for code under test that takes one.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>
    /// Runs <paramref name="body"/> in a new bubble and completes when it and every goroutine it started have finished.
    /// </summary>
    /// <param name="body">The test body; it runs as a goroutine in the bubble and receives the bubble.</param>
    /// <param name="seed">Seeds run order and select choices. The same seed gives the same interleaving.</param>
    /// <param name="file">Filled in by the compiler: where the bubble was started, for dumps.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <returns>A task that fails with the body's exception, the first unhandled goroutine exception, or a <see cref="DeadlockException"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <example><code>await Bubble.Run(async b => { await Go.Sleep(TimeSpan.FromDays(1)); }, seed: 7);</code></example>
    public static Task Run(Func<Bubble, Task> body, int seed = 0, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        var bubble = new Bubble(seed);
        return bubble.Core.Start(() => body(bubble), file, line);
    }

    /// <inheritdoc cref="Run(Func{Bubble, Task}, int, string, int)"/>
    public static Task Run(Func<Task> body, int seed = 0, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Run(_ => body(), seed, file, line);
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a fresh bubble for each seed from <paramref name="firstSeed"/> on, and stops at
    /// the first failure with a <see cref="BubbleSeedException"/> that names the seed that reproduces it.
    /// </summary>
    /// <param name="body">The test body.</param>
    /// <param name="seeds">How many seeds to try (at least 1).</param>
    /// <param name="firstSeed">The first seed.</param>
    /// <returns>The number of seeds that passed (all of them, when it returns).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="seeds"/> is less than 1.</exception>
    /// <exception cref="BubbleSeedException">A seed failed (thrown when awaited); <c>Seed</c> replays it.</exception>
    /// <example><code>await Bubble.Explore(async b => await RacyTransfer(), seeds: 1000);</code></example>
    public static async Task<int> Explore(Func<Bubble, Task> body, int seeds = 1000, int firstSeed = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(seeds, 1);
        for (int i = 0; i < seeds; i++)
        {
            int seed = firstSeed + i;
            try
            {
                await Run(body, seed).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                throw new BubbleSeedException(seed, i + 1, ex);
            }
        }
        return seeds;
    }

    /// <summary>
    /// Waits until every other goroutine in this bubble is durably blocked (Go's <c>synctest.Wait</c>). Time does not
    /// move while it waits.
    /// </summary>
    /// <returns>A task that completes once the bubble is idle apart from the caller.</returns>
    /// <exception cref="InvalidOperationException">Called from outside this bubble.</exception>
    /// <example><code>Go.Run(async () => await ch.SendAsync(1)); await bubble.WaitIdleAsync(); Assert.Equal(1, ch.Len);</code></example>
    public ValueTask WaitIdleAsync() => Core.WaitIdleAsync();

    /// <summary>A string of every live goroutine in the bubble, like <see cref="Go.Dump()"/>.</summary>
    /// <returns>One line per goroutine: number, state, wait reason, virtual time waited, where it was started.</returns>
    public string Dump() => Core.Dump();
}
