// Once — Go's sync.Once, with Go 1.21 OnceFunc's answer to a failing function: the failure is remembered and
// every call rethrows it (Go's plain Once would silently report success, which hides the bug).
//
// Fast path: one volatile read of _done (written last, after _error, by the caller that ran the function). Slow
// path: a Weft Mutex, so concurrent first callers wait for the one that runs the function, in a goroutine without
// holding a thread when they use DoAsync.

using System.Runtime.ExceptionServices;

namespace Weft.Sync;

/// <summary>Runs a function exactly once, however many goroutines or threads ask (Go's <c>sync.Once</c>).</summary>
/// <remarks>
/// Every caller returns only after the function has finished. If it threw, that call and every later one rethrow the
/// same exception, and the function never runs again. The function must not call this Once's <see cref="Do"/>: that
/// deadlocks, as in Go.
/// </remarks>
/// <example>
/// <code>
/// private static readonly Once s_init = new();
/// s_init.Do(() =&gt; LoadConfig());
/// </code>
/// </example>
public sealed class Once
{
    private readonly Mutex _mu = new();
    private ExceptionDispatchInfo? _error; // written before _done, under _mu
    private volatile bool _done;

    /// <summary>True once the function has run (whether it returned or threw).</summary>
    public bool IsDone => _done;

    /// <summary>Runs <paramref name="f"/> if no call of this Once has run a function yet; otherwise waits for that run to finish.</summary>
    /// <param name="f">The function; only the first caller's is run.</param>
    /// <param name="cancellationToken">Stops waiting for another caller's run; it does not cancel a run in progress.</param>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting for another caller's run; <paramref name="f"/> was not run by this call.</exception>
    /// <exception cref="Exception">Whatever the function threw, on this and every later call.</exception>
    /// <remarks>Blocks the thread while another caller runs the function; in a goroutine prefer <see cref="DoAsync"/>.</remarks>
    /// <example><code>once.Do(() =&gt; Console.WriteLine("only once"));</code></example>
    public void Do(Action f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (!_done)
        {
            _mu.Lock(cancellationToken);
            try
            {
                if (!_done) Run(f);
            }
            finally
            {
                _mu.Unlock();
            }
        }
        _error?.Throw();
    }

    /// <summary>Runs the async <paramref name="f"/> if no call of this Once has run a function yet; otherwise waits, parking only the caller, for that run to finish.</summary>
    /// <param name="f">The function; only the first caller's is run.</param>
    /// <param name="cancellationToken">Stops waiting for another caller's run; it does not cancel a run in progress.</param>
    /// <returns>A task that completes when the function has finished.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled while waiting for another caller's run.</exception>
    /// <exception cref="Exception">Whatever the function threw, on this and every later call.</exception>
    /// <example><code>await once.DoAsync(async () =&gt; await ConnectAsync());</code></example>
    public async ValueTask DoAsync(Func<Task> f, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (!_done)
        {
            await _mu.LockAsync(cancellationToken);
            try
            {
                if (!_done)
                {
                    try { await f(); }
                    catch (Exception e) { _error = ExceptionDispatchInfo.Capture(e); }
                    _done = true;
                }
            }
            finally
            {
                _mu.Unlock();
            }
        }
        _error?.Throw();
    }

    private void Run(Action f)
    {
        try { f(); }
        catch (Exception e) { _error = ExceptionDispatchInfo.Capture(e); }
        _done = true;
    }
}
