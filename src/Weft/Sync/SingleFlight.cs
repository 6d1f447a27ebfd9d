// SingleFlight — Go's golang.org/x/sync/singleflight: concurrent callers with the same key share one run.
//
// Glossary
//   flight   one run of a function for a key, and everything waiting for it: a TaskCompletionSource completed when
//            the run ended, the result, the number of callers that joined (dups), and the DoChan channels to fill.
//   leader   the caller that found no flight for its key and started one. It runs the function itself (in its own
//            goroutine, thread or async flow, as in Go) — except DoChan's leader, which starts a goroutine for it.
//   land     the end of a flight: its entry leaves the table, the result is published, the channels are filled.
//
// The table maps a key to its flight in progress; guarded by _lock, which is held only to look up, add or remove an
// entry (and count a joiner), never while the function runs or a waiter is woken. Invariants:
//   * A caller joins a flight only through the table, under _lock. So once a flight has left the table (landed, or
//     forgotten) its dups and channels are final; the leader reads them under _lock at landing.
//   * The leader removes the entry before it publishes the result, so a call made after a flight landed starts a new
//     one instead of reading a stale value. It removes only its own entry: after Forget the key may name a newer
//     flight, which must stay (Go's TestForget).
//   * The result fields are written, and sent to every DoChan channel of the flight, before the completion source
//     completes; every reader reads them after (the task's completion orders the two). So a caller that saw the
//     flight end finds each of its channels already holding the result.
// Shared (Go's `shared`) is dups > 0, the same for every caller of a flight: a joiner always counts itself, so only
// a leader alone sees false. DoChan's channels have room for the one result each, so the leader's send never waits.
// A failure is the function's exception: rethrown to every caller of Do/DoAsync, carried as a value by DoResult,
// DoResultAsync and DoChan (Go crashes the program when a DoChan function panics; see docs/go-differences.md).

using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Weft.Sync;

/// <summary>
/// Suppresses duplicate work (Go's <c>singleflight.Group</c>): while a call for a key is in flight, other callers with
/// the same key wait for it and get its result (or its exception) instead of running the function again.
/// </summary>
/// <typeparam name="TKey">The key's type.</typeparam>
/// <typeparam name="TValue">The result's type.</typeparam>
/// <remarks>
/// A crawler uses it so that one URL asked for by many goroutines at once is fetched once.
/// <see cref="DoResultAsync"/> also says whether the result was shared (Go's <c>shared</c>), <see cref="DoChan"/>
/// delivers the result on a channel (so it can be a <see cref="Select"/> case) and <see cref="Forget"/> makes the
/// next call run the function again.
/// </remarks>
/// <example>
/// <code>
/// var flights = new SingleFlight&lt;string, string&gt;();
/// string page = await flights.DoAsync(url, () =&gt; http.GetStringAsync(url));
/// </code>
/// </example>
public sealed class SingleFlight<TKey, TValue> where TKey : notnull
{
    private readonly Dictionary<TKey, Flight> _flights; // guarded by _lock
    private readonly Lock _lock = new();

    /// <summary>Creates an empty group.</summary>
    /// <param name="comparer">Compares keys; the default comparer if null.</param>
    /// <example><code>var flights = new SingleFlight&lt;string, byte[]&gt;(StringComparer.OrdinalIgnoreCase);</code></example>
    public SingleFlight(IEqualityComparer<TKey>? comparer = null) => _flights = new Dictionary<TKey, Flight>(comparer);

    /// <summary>Runs <paramref name="f"/> for <paramref name="key"/> unless a run for that key is in flight, and returns that run's result.</summary>
    /// <param name="key">Identifies the work.</param>
    /// <param name="f">The work; run by the first caller only, in that caller's goroutine or async flow.</param>
    /// <param name="cancellationToken">Stops this caller's wait; the flight itself goes on for the others (also when this caller started it).</param>
    /// <returns>The shared result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the flight ended.</exception>
    /// <exception cref="Exception">Whatever <paramref name="f"/> threw, rethrown to every caller of that flight.</exception>
    /// <example><code>var user = await flights.DoAsync(id, () =&gt; db.LoadUserAsync(id), ct);</code></example>
    public Task<TValue> DoAsync(TKey key, Func<Task<TValue>> f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(f);
        return ValueAsync(JoinOrLead(key, f), cancellationToken);
    }

    /// <summary>
    /// <see cref="DoAsync"/> that returns the result as a value (Go's <c>Do</c> with its three results): the value or
    /// the exception, and whether it was shared with other callers.
    /// </summary>
    /// <param name="key">Identifies the work.</param>
    /// <param name="f">The work; run by the first caller only, in that caller's goroutine or async flow.</param>
    /// <param name="cancellationToken">Stops this caller's wait; the flight itself goes on for the others.</param>
    /// <returns>The result; an exception thrown by <paramref name="f"/> is in <see cref="SingleFlightResult{TValue}.Exception"/>, not thrown.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the flight ended.</exception>
    /// <example>
    /// <code>
    /// var r = await flights.DoResultAsync(url, () =&gt; FetchAsync(url), ct);
    /// if (r.Shared) metrics.Deduplicated++;
    /// </code>
    /// </example>
    public Task<SingleFlightResult<TValue>> DoResultAsync(TKey key, Func<Task<TValue>> f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(f);
        return ResultAsync(JoinOrLead(key, f), cancellationToken);
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
    public TValue Do(TKey key, Func<TValue> f, CancellationToken cancellationToken = default) => DoResult(key, f, cancellationToken).Value;

    /// <summary>The blocking form of <see cref="DoResultAsync"/> (Go's <c>Do</c>): the result as a value, with whether it was shared.</summary>
    /// <param name="key">Identifies the work.</param>
    /// <param name="f">The work; run by the first caller only, on its own thread.</param>
    /// <param name="cancellationToken">As for <see cref="Do"/>.</param>
    /// <returns>The result; an exception thrown by <paramref name="f"/> is in <see cref="SingleFlightResult{TValue}.Exception"/>, not thrown.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the flight ended (or on entry).</exception>
    /// <remarks>A waiting caller inside a goroutine blocks its thread, handing its processor on (<see cref="Weft.Go.Blocking(Action)"/>).</remarks>
    /// <example><code>var r = flights.DoResult("config", LoadConfig); if (!r.Shared) log.Info("loaded the config");</code></example>
    public SingleFlightResult<TValue> DoResult(TKey key, Func<TValue> f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(f);
        cancellationToken.ThrowIfCancellationRequested();
        var flight = Join(key, null, out bool lead);
        if (lead)
        {
            // Runs f to completion on this thread: nothing in Lead waits on an incomplete task.
            _ = Lead(key, () => Task.FromResult(f()), flight);
        }
        else if (!flight.Task.IsCompleted)
        {
            var done = ((IAsyncResult)flight.Task).AsyncWaitHandle;
            if (cancellationToken.CanBeCanceled)
            {
                // Waits for either; the flight's handle wins a tie, so a finished flight is never reported as cancelled.
                var handles = new[] { done, cancellationToken.WaitHandle };
                Weft.Go.Blocking(() => WaitHandle.WaitAny(handles));
                if (!flight.Task.IsCompleted) ThrowHelper.Canceled(cancellationToken); // woken by the token alone
            }
            else
            {
                Weft.Go.Blocking(() => done.WaitOne());
            }
        }
        return flight.Result;
    }

    /// <summary>
    /// Like <see cref="DoResultAsync"/>, but returns at once with a channel that will receive the result (Go's
    /// <c>DoChan</c>), so that the wait can be a <see cref="Select"/> case beside timeouts and other channels.
    /// </summary>
    /// <param name="key">Identifies the work.</param>
    /// <param name="f">The work; if this call starts the flight, run in a new goroutine.</param>
    /// <returns>
    /// A receive-only channel of capacity 1 that receives exactly one result (an exception thrown by
    /// <paramref name="f"/> is in <see cref="SingleFlightResult{TValue}.Exception"/>) and is never closed.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="f"/> is null.</exception>
    /// <remarks>
    /// There is no token: to stop waiting, stop receiving (select on a timeout or a cancellation channel too); the
    /// flight goes on for the others and its result stays in the channel's buffer. Go crashes the program when a
    /// DoChan function panics; Weft delivers the exception instead (see docs/go-differences.md).
    /// </remarks>
    /// <example>
    /// <code>
    /// var sel = new Select();
    /// var page = sel.Receive(flights.DoChan(url, () =&gt; FetchAsync(url)));
    /// var timeout = sel.Timeout(TimeSpan.FromSeconds(5));
    /// if (await sel.WaitAsync() == page.Index) Use(page.Value.Value);
    /// </code>
    /// </example>
    public ReceiveOnlyChan<SingleFlightResult<TValue>> DoChan(TKey key, Func<Task<TValue>> f)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(f);
        var ch = new Chan<SingleFlightResult<TValue>>(1);
        var flight = Join(key, ch, out bool lead);
        if (lead) Weft.Go.Run(() => Lead(key, f, flight));
        return ch;
    }

    /// <summary>
    /// Forgets the flight for <paramref name="key"/> (Go's <c>Forget</c>): the next call runs the function again, while
    /// callers already waiting keep waiting for the old run and get its result.
    /// </summary>
    /// <param name="key">The key; nothing happens if no flight for it is in progress.</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <example><code>flights.Forget(url); // the page changed: the next DoAsync fetches it again</code></example>
    public void Forget(TKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock) _flights.Remove(key);
    }

    /// <summary>How many callers joined the flight in progress for <paramref name="key"/> (0 if none is): for tests that must know a caller has joined.</summary>
    internal int JoinedForTests(TKey key)
    {
        lock (_lock) return _flights.TryGetValue(key, out var flight) ? flight.Dups : 0;
    }

    /// <summary>Joins the flight for <paramref name="key"/>, or starts one with this caller as its leader.</summary>
    private Flight Join(TKey key, Chan<SingleFlightResult<TValue>>? ch, out bool lead)
    {
        lock (_lock)
        {
            lead = !_flights.TryGetValue(key, out var flight);
            if (lead)
            {
                flight = new Flight();
                _flights.Add(key, flight);
            }
            else
            {
                flight!.Dups++;
            }
            if (ch is not null) (flight.Chans ??= []).Add(ch);
            return flight;
        }
    }

    private Flight JoinOrLead(TKey key, Func<Task<TValue>> f)
    {
        var flight = Join(key, null, out bool lead);
        if (lead) _ = Lead(key, f, flight);
        return flight;
    }

    private static async Task<TValue> ValueAsync(Flight flight, CancellationToken cancellationToken)
    {
        await flight.Task.WaitAsync(cancellationToken);
        return flight.Result.Value;
    }

    private static async Task<SingleFlightResult<TValue>> ResultAsync(Flight flight, CancellationToken cancellationToken)
    {
        await flight.Task.WaitAsync(cancellationToken);
        return flight.Result;
    }

    /// <summary>The leader's part: runs <paramref name="f"/>, then lands the flight with its value or its exception. Never faults.</summary>
    private async Task Lead(TKey key, Func<Task<TValue>> f, Flight flight)
    {
        try
        {
            flight.Value = await f();
        }
        catch (Exception e)
        {
            flight.Error = ExceptionDispatchInfo.Capture(e);
        }
        List<Chan<SingleFlightResult<TValue>>>? chans;
        lock (_lock)
        {
            // Only our own entry: after Forget the key may name a newer flight (see the file header).
            if (_flights.TryGetValue(key, out var current) && current == flight) _flights.Remove(key);
            flight.Shared = flight.Dups > 0; // final: out of the table, no caller can join any more
            chans = flight.Chans;
        }
        // The channels first: whoever sees the flight completed may count on every channel holding its result.
        foreach (var ch in CollectionsMarshal.AsSpan(chans)) ch.TrySend(flight.Result); // capacity 1, one send each: never full
        flight.SetResult();
    }

    /// <summary>One run for a key: see the glossary in the file header. The task completes when the flight lands.</summary>
    private sealed class Flight() : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public int Dups; // guarded by _lock; final once the flight left the table
        public List<Chan<SingleFlightResult<TValue>>>? Chans; // likewise
        public TValue Value = default!; // written by the leader before the task completes
        public ExceptionDispatchInfo? Error; // likewise
        public bool Shared; // likewise

        public SingleFlightResult<TValue> Result => new(Value, Error, Shared);
    }
}
