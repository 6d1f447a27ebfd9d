// ErrGroup — Go's golang.org/x/sync/errgroup: structured concurrency for goroutines that can fail.
//
// Parts: a WaitGroup counts the running functions; a Weft Semaphore (only after SetLimit) bounds them; the first
// exception is kept by CAS and cancels Token. Token also ends when Wait returns, as errgroup's context does, so
// work that outlives the group is told to stop. The parent token is linked by a registration that Wait disposes,
// so a long-lived parent does not keep finished groups alive.

using System.Runtime.ExceptionServices;

namespace Weft.Sync;

/// <summary>
/// Runs functions in goroutines, waits for them all, and reports the first failure (Go's <c>errgroup.Group</c>
/// with <c>WithContext</c>).
/// </summary>
/// <remarks>
/// An exception thrown by a function is the group's "error": the first one is kept, <see cref="Token"/> is cancelled
/// so the others can stop early, and <see cref="Wait"/>/<see cref="WaitAsync"/> rethrow it once every function has
/// returned. Exceptions after the first (typically <see cref="OperationCanceledException"/> from <see cref="Token"/>)
/// are dropped.
/// </remarks>
/// <example>
/// <code>
/// var g = new ErrGroup(ct);
/// g.SetLimit(8);
/// foreach (var url in urls)
///     await g.GoAsync(async () =&gt; await Fetch(url, g.Token));
/// await g.WaitAsync(); // throws the first fetch failure
/// </code>
/// </example>
public sealed class ErrGroup
{
    private readonly WaitGroup _wg = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly CancellationTokenRegistration _parent;
    private Semaphore? _limit;
    private ExceptionDispatchInfo? _error; // first one wins, by CAS

    /// <summary>Creates a group whose <see cref="Token"/> is cancelled by the first failure, by <paramref name="cancellationToken"/>, or when Wait returns.</summary>
    /// <param name="cancellationToken">A parent token; its cancellation cancels <see cref="Token"/> too.</param>
    /// <example><code>var g = new ErrGroup(requestAborted);</code></example>
    public ErrGroup(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.CanBeCanceled)
            _parent = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _cts);
    }

    /// <summary>Cancelled on the first failure, when the parent token is cancelled, or when Wait returns. Pass it to the functions.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>Limits the group to <paramref name="n"/> functions running at once; <see cref="Go"/> then waits for a free slot.</summary>
    /// <param name="n">The limit, at least 1; or -1 for no limit.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is 0 or less than -1.</exception>
    /// <exception cref="InvalidOperationException">Functions of the group are running.</exception>
    /// <example><code>g.SetLimit(4);</code></example>
    public void SetLimit(int n)
    {
        if (n == 0 || n < -1) throw new ArgumentOutOfRangeException(nameof(n), n, "The limit must be at least 1, or -1 for no limit.");
        if (_wg.Count != 0) throw new InvalidOperationException("SetLimit may not be called while functions of the group are running.");
        _limit = n < 0 ? null : new Semaphore(n);
    }

    /// <summary>Runs <paramref name="f"/> in a new goroutine; with a limit set, blocks the calling thread until a slot is free.</summary>
    /// <param name="f">The function. An exception it throws is the group's error if it is the first.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started.</param>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a slot was free; <paramref name="f"/> was not started.</exception>
    /// <remarks>Inside a goroutine, with a limit, prefer <see cref="GoAsync"/>, which parks instead of blocking.</remarks>
    /// <example><code>g.Go(async () =&gt; await Work(g.Token));</code></example>
    public void Go(Func<Task> f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(f);
        _limit?.Acquire(1, cancellationToken);
        Start(f);
    }

    /// <summary>Runs <paramref name="f"/> in a new goroutine once a slot is free (at once without a limit), parking only the caller meanwhile.</summary>
    /// <param name="f">The function.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started.</param>
    /// <returns>A <see cref="ValueTask"/> that completes when <paramref name="f"/> has been started.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a slot was free (thrown when awaited).</exception>
    /// <example><code>await g.GoAsync(async () =&gt; await Work(g.Token), ct);</code></example>
    public async ValueTask GoAsync(Func<Task> f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (_limit is { } limit) await limit.AcquireAsync(1, cancellationToken);
        Start(f);
    }

    /// <summary>Runs <paramref name="f"/> in a new goroutine only if a slot is free now.</summary>
    /// <param name="f">The function.</param>
    /// <returns>True if <paramref name="f"/> was started.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <example><code>if (!g.TryGo(() =&gt; Work(g.Token))) Console.WriteLine("busy");</code></example>
    public bool TryGo(Func<Task> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (_limit is { } limit && !limit.TryAcquire()) return false;
        Start(f);
        return true;
    }

    /// <summary>Blocks the calling thread until every function has returned, then rethrows the first exception, if any.</summary>
    /// <param name="cancellationToken">Stops waiting; the functions keep running and <see cref="Token"/> is not cancelled by this.</param>
    /// <exception cref="Exception">The first exception thrown by a function of the group.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the group finished.</exception>
    /// <remarks>Cancels <see cref="Token"/> before returning normally. Inside a goroutine prefer <see cref="WaitAsync"/>.</remarks>
    /// <example><code>g.Wait(ct);</code></example>
    public void Wait(CancellationToken cancellationToken = default)
    {
        _wg.Wait(cancellationToken);
        Finish();
    }

    /// <summary>Waits, parking only the caller, until every function has returned, then rethrows the first exception, if any.</summary>
    /// <param name="cancellationToken">Stops waiting; the functions keep running and <see cref="Token"/> is not cancelled by this.</param>
    /// <returns>A task that completes when the group is done.</returns>
    /// <exception cref="Exception">The first exception thrown by a function of the group.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the group finished.</exception>
    /// <example><code>await g.WaitAsync();</code></example>
    public async ValueTask WaitAsync(CancellationToken cancellationToken = default)
    {
        await _wg.WaitAsync(cancellationToken);
        Finish();
    }

    private void Finish()
    {
        _parent.Dispose();
        _cts.Cancel();
        Volatile.Read(ref _error)?.Throw();
    }

    private void Start(Func<Task> f)
    {
        _wg.Add(1);
        Weft.Go.Run(async () =>
        {
            try
            {
                await f();
            }
            catch (Exception e)
            {
                if (Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null) is null)
                    _cts.Cancel();
            }
            finally
            {
                _limit?.Release();
                _wg.Done();
            }
        });
    }
}
