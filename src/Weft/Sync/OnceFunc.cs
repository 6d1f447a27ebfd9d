namespace Weft.Sync;

/// <summary>
/// A function that runs only the first time it is invoked, however many goroutines or threads invoke it (Go 1.21's
/// <c>sync.OnceFunc</c>).
/// </summary>
/// <remarks>
/// Every invocation returns only after the one run has finished. If the function threw, that invocation and every
/// later one rethrow the same exception, and the function never runs again: Go's <c>OnceFunc</c> re-panics the same
/// way (unlike Go's plain <c>Once</c>; Weft's <see cref="Once"/> rethrows too). Once invoked, the function is dropped,
/// so what it captured can be collected. It must not invoke itself: that deadlocks, as in Go.
/// </remarks>
/// <example>
/// <code>
/// var init = new OnceFunc(() =&gt; Console.WriteLine("initialised"));
/// init.Invoke(); // prints
/// init.Invoke(); // does nothing
/// </code>
/// </example>
public sealed class OnceFunc
{
    private readonly OnceValue<object?> _once; // the value is unused: a OnceFunc is a OnceValue run for its effect

    /// <summary>Wraps <paramref name="f"/>; it is not called yet.</summary>
    /// <param name="f">The function, run on the first invocation. Dropped once called.</param>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <example><code>var close = new OnceFunc(conn.Close);</code></example>
    public OnceFunc(Action f)
    {
        ArgumentNullException.ThrowIfNull(f);
        _once = new OnceValue<object?>(() =>
        {
            f();
            return null;
        });
    }

    /// <summary>Runs the function if this is the first invocation; otherwise waits for that run to finish.</summary>
    /// <exception cref="Exception">Whatever the function threw, on this and every later invocation.</exception>
    /// <remarks>Blocks the thread while another caller runs the function; in a goroutine prefer <see cref="InvokeAsync"/>.</remarks>
    /// <example><code>close.Invoke();</code></example>
    public void Invoke() => _ = _once.Value;

    /// <summary>Runs the function if this is the first invocation; otherwise parks only the caller until that run has finished.</summary>
    /// <param name="cancellationToken">Stops waiting for another caller's run; it does not cancel a run in progress.</param>
    /// <returns>A task that completes when the function has run.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting for another caller's run.</exception>
    /// <exception cref="Exception">Whatever the function threw, on this and every later invocation.</exception>
    /// <example><code>await close.InvokeAsync(ct);</code></example>
    public async ValueTask InvokeAsync(CancellationToken cancellationToken = default) => await _once.GetAsync(cancellationToken);
}
