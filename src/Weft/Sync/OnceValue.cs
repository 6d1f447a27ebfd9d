namespace Weft.Sync;

/// <summary>
/// A value computed once, on first use, however many goroutines or threads ask (Go 1.21's <c>sync.OnceValue</c>).
/// </summary>
/// <typeparam name="T">The value's type.</typeparam>
/// <remarks>
/// Built on <see cref="Once"/>: concurrent first callers wait for the one computing the value. If the function
/// throws, every call rethrows that exception, and the function never runs again.
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
    private readonly Func<T> _f;
    private readonly Action _run;
    private readonly Func<Task> _runAsync;
    private T _value = default!; // written once under the Once, before it is done

    /// <summary>Creates the lazy value; <paramref name="f"/> is not called yet.</summary>
    /// <param name="f">Computes the value, on first use.</param>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <example><code>var v = new OnceValue&lt;int&gt;(() =&gt; Expensive());</code></example>
    public OnceValue(Func<T> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        _f = f;
        _run = () => _value = _f();
        _runAsync = () =>
        {
            _value = _f();
            return Task.CompletedTask;
        };
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
    /// <param name="cancellationToken">Stops waiting for another caller's computation.</param>
    /// <returns>The value.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting.</exception>
    /// <exception cref="Exception">Whatever the function threw, on every call.</exception>
    /// <example><code>int v = await lazy.GetAsync(ct);</code></example>
    public async ValueTask<T> GetAsync(CancellationToken cancellationToken = default)
    {
        await _once.DoAsync(_runAsync, cancellationToken);
        return _value;
    }
}
