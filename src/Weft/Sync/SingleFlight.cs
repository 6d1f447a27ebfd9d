// SingleFlight — Go's golang.org/x/sync/singleflight: concurrent callers with the same key share one run.
//
// The table maps a key to the task of its flight in progress; guarded by _lock, which is held only to look up, add
// or remove an entry, never while f runs. The caller that finds no entry is the leader: it runs f itself (in its
// own goroutine or thread, as in Go), removes the entry when f ends, and only then publishes the result, so a call
// made after a flight ended starts a new one instead of reading a stale value.

namespace Weft.Sync;

/// <summary>
/// Suppresses duplicate work (Go's <c>singleflight.Group</c>): while a call for a key is in flight, other callers with
/// the same key wait for it and get its result (or its exception) instead of running the function again.
/// </summary>
/// <typeparam name="TKey">The key's type.</typeparam>
/// <typeparam name="TValue">The result's type.</typeparam>
/// <remarks>A crawler uses it so that one URL asked for by many goroutines at once is fetched once.</remarks>
/// <example>
/// <code>
/// var flights = new SingleFlight&lt;string, string&gt;();
/// string page = await flights.DoAsync(url, () =&gt; http.GetStringAsync(url));
/// </code>
/// </example>
public sealed class SingleFlight<TKey, TValue> where TKey : notnull
{
    private readonly Dictionary<TKey, Task<TValue>> _flights; // guarded by _lock
    private readonly Lock _lock = new();

    /// <summary>Creates an empty group.</summary>
    /// <param name="comparer">Compares keys; the default comparer if null.</param>
    /// <example><code>var flights = new SingleFlight&lt;string, byte[]&gt;(StringComparer.OrdinalIgnoreCase);</code></example>
    public SingleFlight(IEqualityComparer<TKey>? comparer = null) => _flights = new Dictionary<TKey, Task<TValue>>(comparer);

    /// <summary>Runs <paramref name="f"/> for <paramref name="key"/> unless a run for that key is in flight, and returns that run's result.</summary>
    /// <param name="key">Identifies the work.</param>
    /// <param name="f">The work; run by the first caller only, in that caller's goroutine or async flow.</param>
    /// <param name="cancellationToken">Stops this caller's wait; the flight itself goes on for the others.</param>
    /// <returns>The shared result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the flight ended.</exception>
    /// <exception cref="Exception">Whatever <paramref name="f"/> threw, rethrown to every caller of that flight.</exception>
    /// <example><code>var user = await flights.DoAsync(id, () =&gt; db.LoadUserAsync(id), ct);</code></example>
    public Task<TValue> DoAsync(TKey key, Func<Task<TValue>> f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(f);
        var flight = Join(key, out var lead);
        if (lead is not null) _ = Lead(key, f, lead);
        return cancellationToken.CanBeCanceled ? flight.WaitAsync(cancellationToken) : flight;
    }

    /// <summary>The blocking form of <see cref="DoAsync"/>: the leader runs <paramref name="f"/> on its thread, the others block until it ends.</summary>
    /// <param name="key">Identifies the work.</param>
    /// <param name="f">The work; run by the first caller only.</param>
    /// <param name="cancellationToken">
    /// Stops this caller's wait for another caller's flight, which goes on for the others. A caller that leads runs
    /// <paramref name="f"/> on its own thread and is not interrupted (f takes no token); a token already cancelled on
    /// entry throws before joining or starting a flight.
    /// </param>
    /// <returns>The shared result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the flight ended (or on entry).</exception>
    /// <exception cref="Exception">Whatever <paramref name="f"/> threw, rethrown to every caller of that flight.</exception>
    /// <remarks>A waiting caller inside a goroutine blocks its thread, handing its processor on (<see cref="Weft.Go.Blocking(Action)"/>).</remarks>
    /// <example><code>var cfg = flights.Do("config", LoadConfig, ct);</code></example>
    public TValue Do(TKey key, Func<TValue> f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(f);
        cancellationToken.ThrowIfCancellationRequested();
        var flight = Join(key, out var lead);
        if (lead is not null)
        {
            TValue v;
            try { v = f(); }
            catch (Exception e)
            {
                Land(key, lead);
                lead.SetException(e);
                throw;
            }
            Land(key, lead);
            lead.SetResult(v);
            return v;
        }
        if (!flight.IsCompleted)
        {
            if (cancellationToken.CanBeCanceled)
            {
                // Waits for either; the flight's handle wins a tie, so a finished flight is never reported as cancelled.
                var handles = new[] { ((IAsyncResult)flight).AsyncWaitHandle, cancellationToken.WaitHandle };
                int which = 0;
                Weft.Go.Blocking(() => which = WaitHandle.WaitAny(handles));
                if (which != 0 && !flight.IsCompleted) ThrowHelper.Canceled(cancellationToken);
            }
            else
            {
                Weft.Go.Blocking(() => ((IAsyncResult)flight).AsyncWaitHandle.WaitOne());
            }
        }
        return flight.GetAwaiter().GetResult();
    }

    /// <summary>Forgets the flight for <paramref name="key"/>: the next call runs the function again, while callers already waiting keep waiting for the old run.</summary>
    /// <param name="key">The key.</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <example><code>flights.Forget(url);</code></example>
    public void Forget(TKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock) _flights.Remove(key);
    }

    private Task<TValue> Join(TKey key, out TaskCompletionSource<TValue>? lead)
    {
        lock (_lock)
        {
            if (_flights.TryGetValue(key, out var flight))
            {
                lead = null;
                return flight;
            }
            lead = new TaskCompletionSource<TValue>(TaskCreationOptions.RunContinuationsAsynchronously);
            _flights.Add(key, lead.Task);
            return lead.Task;
        }
    }

    private async Task Lead(TKey key, Func<Task<TValue>> f, TaskCompletionSource<TValue> lead)
    {
        TValue v;
        try
        {
            v = await f();
        }
        catch (Exception e)
        {
            Land(key, lead);
            lead.SetException(e);
            return;
        }
        Land(key, lead);
        lead.SetResult(v);
    }

    /// <summary>Removes the flight's entry, unless Forget already replaced it with a newer flight.</summary>
    private void Land(TKey key, TaskCompletionSource<TValue> lead)
    {
        lock (_lock)
        {
            if (_flights.TryGetValue(key, out var t) && t == lead.Task) _flights.Remove(key);
        }
    }
}
