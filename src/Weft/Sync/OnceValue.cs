// OnceValue — Go 1.21's sync.OnceValue, and the core of the Once family (OnceFunc and OnceValues wrap it).
//
// A Once runs Run, which takes the function out of _f before calling it, so once the one run has started nothing
// here refers to the function or to what it captured (Go 1.21 drops it the same way): a lazy value held for the life
// of the process does not keep its factory's captures alive. Clearing _f before the call, not after, also drops it
// when the function throws. Rejected: keeping the function for a retry — the Once family never retries (the failure
// is rethrown instead, see Once).
//
// Fast path: Once.Do's volatile read of its done flag, then _value (written under the Once before it was marked
// done, so the read that saw done also sees the value). No allocation per call: the delegates handed to the Once are
// created once, in the constructor.

namespace Weft.Sync;

/// <summary>
/// A value computed once, on first use, however many goroutines or threads ask (Go 1.21's <c>sync.OnceValue</c>).
/// </summary>
/// <typeparam name="T">The value's type.</typeparam>
/// <remarks>
/// Built on <see cref="Once"/>: concurrent first callers wait for the one computing the value. If the function
/// throws, every call rethrows that exception, and the function never runs again (Go re-panics the same way). Once it
/// has been called the function is dropped, so what it captured can be collected.
/// </remarks>
/// <example>
/// <code>
/// private static readonly OnceValue&lt;Config&gt; s_config = new(() =&gt; Config.Load("app.json"));
/// var port = s_config.Value.Port;
/// </code>
/// </example>
public sealed class OnceValue<T>
{
    private readonly Once _once = new();
    private readonly Action _run;
    private readonly Func<Task> _runAsync;
    private Func<T>? _f; // read and cleared by the one run, under the Once; null from then on
    private T _value = default!; // written once under the Once, before it is done

    /// <summary>Creates the lazy value; <paramref name="f"/> is not called yet.</summary>
    /// <param name="f">Computes the value, on first use. Dropped once called.</param>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <example><code>var v = new OnceValue&lt;int&gt;(() =&gt; Expensive());</code></example>
    public OnceValue(Func<T> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        _f = f;
        _run = Run;
        _runAsync = RunAsync;
    }

    /// <summary>The value, computed by the first caller (which may block the thread while another computes it).</summary>
    /// <exception cref="Exception">Whatever the function threw, on every access.</exception>
    /// <example><code>int v = lazy.Value;</code></example>
    public T Value
    {
        get
        {
            _once.Do(_run);
            return _value;
        }
    }

    /// <summary>The value; while another caller computes it, parks only the calling goroutine or async method.</summary>
    /// <param name="cancellationToken">Stops waiting for another caller's computation; it does not cancel one in progress.</param>
    /// <returns>The value.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting.</exception>
    /// <exception cref="Exception">Whatever the function threw, on every call.</exception>
    /// <example><code>int v = await lazy.GetAsync(ct);</code></example>
    public async ValueTask<T> GetAsync(CancellationToken cancellationToken = default)
    {
        await _once.DoAsync(_runAsync, cancellationToken);
        return _value;
    }

    private void Run()
    {
        var f = _f!;
        _f = null;
        _value = f();
    }

    private Task RunAsync()
    {
        Run();
        return Task.CompletedTask;
    }
}
