namespace Weft.Sync;

/// <summary>
/// Two values computed together once, on first use, however many goroutines or threads ask (Go 1.21's
/// <c>sync.OnceValues</c>, whose function returns a value and an error; in .NET the error is an exception, so the
/// pair here is any two values).
/// </summary>
/// <typeparam name="T1">The first value's type.</typeparam>
/// <typeparam name="T2">The second value's type.</typeparam>
/// <remarks>
/// A <see cref="OnceValue{T}"/> of the tuple: concurrent first callers wait for the one computing it; if the function
/// throws, every call rethrows that exception and the function never runs again; once called, the function is
/// dropped so that what it captured can be collected.
/// </remarks>
/// <example>
/// <code>
/// var conn = new OnceValues&lt;string, int&gt;(() =&gt; (Env("HOST"), int.Parse(Env("PORT"))));
/// var (host, port) = conn.Values;
/// </code>
/// </example>
public sealed class OnceValues<T1, T2>
{
    private readonly OnceValue<(T1, T2)> _values;

    /// <summary>Creates the lazy pair; <paramref name="f"/> is not called yet.</summary>
    /// <param name="f">Computes both values, on first use. Dropped once called.</param>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <example><code>var v = new OnceValues&lt;int, int&gt;(() =&gt; (1, 2));</code></example>
    public OnceValues(Func<(T1, T2)> f) => _values = new OnceValue<(T1, T2)>(f);

    /// <summary>The pair, computed by the first caller (which may block the thread while another computes it).</summary>
    /// <exception cref="Exception">Whatever the function threw, on every access.</exception>
    /// <example><code>var (a, b) = pair.Values;</code></example>
    public (T1, T2) Values => _values.Value;

    /// <summary>The pair; while another caller computes it, parks only the calling goroutine or async method.</summary>
    /// <param name="cancellationToken">Stops waiting for another caller's computation; it does not cancel one in progress.</param>
    /// <returns>The pair.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting.</exception>
    /// <exception cref="Exception">Whatever the function threw, on every call.</exception>
    /// <example><code>var (a, b) = await pair.GetAsync(ct);</code></example>
    public ValueTask<(T1, T2)> GetAsync(CancellationToken cancellationToken = default) => _values.GetAsync(cancellationToken);
}
