// ErrGroup — Go's golang.org/x/sync/errgroup: structured concurrency for goroutines that can fail.
//
// Parts: a WaitGroup counts the running functions; a Weft Semaphore (only after SetLimit) bounds them; the first
// exception is kept by CAS and cancels Token. Token also ends when Wait returns, as errgroup's context does, so
// work that outlives the group is told to stop. The parent token is linked by a registration that Wait disposes,
// so a long-lived parent does not keep finished groups alive.
//
// Cause (Go's context.Cause of the group's context): whoever cancels Token first records why, by CAS on _cause, and
// only then cancels. So Token cancelled implies Cause set, for every reader: the first function's exception, the
// parent's cancellation, or Wait's return. Rejected: passing the cause as the inner exception of the
// OperationCanceledException thrown by the token itself — .NET creates that exception in the code that observes the
// token (CancellationToken.ThrowIfCancellationRequested, Task.Delay, a Weft channel op), so the group cannot attach
// anything to it. ThrowIfCancellationRequested offers that form for the group's own callers.
//
// Limit: SetLimit(n) installs a semaphore of n slots; each started function captures the semaphore it took its slot
// from and gives it back there, so a later SetLimit can never make a function release into the wrong one. SetLimit(0)
// is Go's "no new goroutine": a one-slot semaphore whose slot is taken at once and never given back, so Go waits
// (until its token is cancelled) and TryGo fails, through the semaphore's own wait (parked, cancellable, seen by the
// deadlock detector) rather than a special case.
//
// Overloads: Go, GoAsync and TryGo each take four delegate shapes (with or without the group's token, returning Task or
// ValueTask), so that an async lambda, a ValueTask-returning call and a function that wants Token all bind to an
// overload that awaits them (a ValueTask can never be dropped through an Action overload: there is none). Priority 1
// on the Task shapes settles async lambdas, which convert to both. The shape is dispatched once, in Invoke; every
// overload records the caller's file and line as the goroutine's origin.

using System.Runtime.CompilerServices;
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
/// are dropped. <see cref="Cause"/> says why <see cref="Token"/> was cancelled (Go's <c>context.Cause</c>).
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
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Go's errgroup has no Close: a group is used once and dropped. Its CancellationTokenSource has no timer, so dropping it undisposed leaks nothing.")]
public sealed class ErrGroup
{
    private readonly WaitGroup _wg = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly CancellationTokenRegistration _parent;
    private Semaphore? _limit; // written by SetLimit, which may not run while functions are active
    private ExceptionDispatchInfo? _error; // first one wins, by CAS
    private Exception? _cause; // first canceller wins, by CAS, before it cancels _cts: see "Cause" in the file header

    /// <summary>Creates a group whose <see cref="Token"/> is cancelled by the first failure, by <paramref name="cancellationToken"/>, or when Wait returns.</summary>
    /// <param name="cancellationToken">A parent token; its cancellation cancels <see cref="Token"/> too.</param>
    /// <example><code>var g = new ErrGroup(requestAborted);</code></example>
    public ErrGroup(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.CanBeCanceled)
            _parent = cancellationToken.UnsafeRegister(
                static (s, token) => ((ErrGroup)s!).Cancel(new OperationCanceledException("The parent token of the group was cancelled.", token)),
                this);
    }

    /// <summary>Cancelled on the first failure, when the parent token is cancelled, or when Wait returns. Pass it to the functions.</summary>
    /// <remarks><see cref="Cause"/> says which of the three it was.</remarks>
    public CancellationToken Token => _cts.Token;

    /// <summary>
    /// Why <see cref="Token"/> was cancelled (Go's <c>context.Cause</c> of the group's context): null while it is not;
    /// otherwise the first exception thrown by a function of the group if that cancelled it, or an
    /// <see cref="OperationCanceledException"/> if the parent token was cancelled first or Wait returned first.
    /// </summary>
    /// <remarks>Set before the token is cancelled, so code that sees the token cancelled always sees the cause. It never changes once set.</remarks>
    /// <example>
    /// <code>
    /// try { await Go.Sleep(TimeSpan.FromMinutes(1), g.Token); }
    /// catch (OperationCanceledException) { log.Warn($"stopped because {g.Cause?.Message}"); throw; }
    /// </code>
    /// </example>
    public Exception? Cause => Volatile.Read(ref _cause);

    /// <summary>
    /// Throws if <see cref="Token"/> is cancelled, with <see cref="Cause"/> as the inner exception: the form of
    /// <see cref="CancellationToken.ThrowIfCancellationRequested"/> that says why.
    /// </summary>
    /// <exception cref="OperationCanceledException">The group's token is cancelled; its <see cref="Exception.InnerException"/> is <see cref="Cause"/> and its token is <see cref="Token"/>.</exception>
    /// <example><code>g.Go(async () =&gt; { foreach (var x in items) { g.ThrowIfCancellationRequested(); await Handle(x); } });</code></example>
    public void ThrowIfCancellationRequested()
    {
        if (_cts.IsCancellationRequested)
            throw new OperationCanceledException("The group's token was cancelled; the inner exception is why.", Cause, _cts.Token);
    }

    /// <summary>
    /// Limits the group to <paramref name="n"/> functions running at once: <see cref="Go(Func{Task}, CancellationToken, string, int)"/> then waits for a free slot
    /// and <see cref="TryGo(Func{Task}, string, int)"/> fails while there is none. A limit of 0 admits no new function (every Go waits until its
    /// token is cancelled, every TryGo fails); a negative one removes the limit.
    /// </summary>
    /// <param name="n">The limit: 0 or more; or any negative value for no limit.</param>
    /// <exception cref="InvalidOperationException">
    /// <paramref name="n"/> is 0 or more while functions of the group are running (Go panics the same way: the limit
    /// must not be changed while goroutines of the group are active). Removing the limit is allowed at any time, as in Go.
    /// </exception>
    /// <remarks>
    /// Go only notices the misuse when the old limit counted the running goroutines; Weft counts every running
    /// function, so setting a limit on a busy group without one is refused too (in Go it would later deadlock).
    /// A Go or GoAsync already waiting for a slot keeps waiting on the old limit.
    /// </remarks>
    /// <example><code>g.SetLimit(4);</code></example>
    public void SetLimit(int n)
    {
        if (n < 0)
        {
            _limit = null;
            return;
        }
        int active = _wg.Count;
        if (active != 0)
            throw new InvalidOperationException($"ErrGroup.SetLimit({n}) while {active} functions of the group are still running: change the limit only before Go or after Wait returned (removing it, with a negative value, is allowed at any time).");
        var limit = new Semaphore(Math.Max(n, 1));
        if (n == 0) limit.TryAcquire(); // the one slot, taken for ever: see "Limit" in the file header
        _limit = limit;
    }

    /// <summary>Runs <paramref name="f"/> in a new goroutine; with a limit set, blocks the calling thread until a slot is free.</summary>
    /// <param name="f">The function. An exception it throws is the group's error if it is the first.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started. With a limit of 0 only this ends the wait.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a slot was free; <paramref name="f"/> was not started.</exception>
    /// <remarks>
    /// Inside a goroutine, with a limit, prefer <see cref="GoAsync(Func{Task}, CancellationToken, string, int)"/>, which
    /// parks instead of blocking. The overloads that take a <see cref="CancellationToken"/> parameter pass the function
    /// <see cref="Token"/>, so it need not capture the group.
    /// </remarks>
    /// <example><code>g.Go(async () =&gt; await Work(g.Token));</code></example>
    // Priority 1: an async lambda converts to both this and the ValueTask overload, and C# finds neither better (CS0121);
    // the priority settles it for Task. Priority only ranks overloads that apply, so a lambda that returns a ValueTask
    // (which no Func<Task> accepts) still binds to the ValueTask overload.
    [OverloadResolutionPriority(1)]
    public void Go(Func<Task> f, CancellationToken cancellationToken = default, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        GoCore(f, file, line, cancellationToken);

    /// <summary>Runs <paramref name="f"/>(<see cref="Token"/>) in a new goroutine; with a limit set, blocks the calling thread until a slot is free.</summary>
    /// <param name="f">The function; it receives the group's <see cref="Token"/>.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started. With a limit of 0 only this ends the wait.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <inheritdoc cref="Go(Func{Task}, CancellationToken, string, int)" path="/exception|/remarks"/>
    /// <example><code>g.Go(async token =&gt; await client.GetStringAsync(url, token));</code></example>
    [OverloadResolutionPriority(1)]
    public void Go(Func<CancellationToken, Task> f, CancellationToken cancellationToken = default, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        GoCore(f, file, line, cancellationToken);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="f"/> to completion in a new goroutine; with a limit set, blocks the calling thread until a slot is free.</summary>
    /// <param name="f">The function, e.g. <c>() =&gt; results.SendAsync(x)</c>.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started. With a limit of 0 only this ends the wait.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <inheritdoc cref="Go(Func{Task}, CancellationToken, string, int)" path="/exception|/remarks"/>
    /// <example><code>g.Go(() =&gt; results.SendAsync(42));</code></example>
    public void Go(Func<ValueTask> f, CancellationToken cancellationToken = default, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        GoCore(f, file, line, cancellationToken);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="f"/>(<see cref="Token"/>) to completion in a new goroutine; with a limit set, blocks the calling thread until a slot is free.</summary>
    /// <param name="f">The function; it receives the group's <see cref="Token"/>.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started. With a limit of 0 only this ends the wait.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <inheritdoc cref="Go(Func{Task}, CancellationToken, string, int)" path="/exception|/remarks"/>
    /// <example><code>g.Go(token =&gt; results.SendAsync(42, token));</code></example>
    public void Go(Func<CancellationToken, ValueTask> f, CancellationToken cancellationToken = default, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        GoCore(f, file, line, cancellationToken);

    /// <summary>Runs <paramref name="f"/> in a new goroutine once a slot is free (at once without a limit), parking only the caller meanwhile.</summary>
    /// <param name="f">The function.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started. With a limit of 0 only this ends the wait.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <returns>A <see cref="ValueTask"/> that completes when <paramref name="f"/> has been started.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a slot was free (thrown when awaited).</exception>
    /// <example><code>await g.GoAsync(async () =&gt; await Work(g.Token), ct);</code></example>
    [OverloadResolutionPriority(1)]
    public ValueTask GoAsync(Func<Task> f, CancellationToken cancellationToken = default, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        GoAsyncCore(f, file, line, cancellationToken);

    /// <summary>Runs <paramref name="f"/>(<see cref="Token"/>) in a new goroutine once a slot is free, parking only the caller meanwhile.</summary>
    /// <param name="f">The function; it receives the group's <see cref="Token"/>.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started. With a limit of 0 only this ends the wait.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <inheritdoc cref="GoAsync(Func{Task}, CancellationToken, string, int)" path="/returns|/exception"/>
    /// <example><code>await g.GoAsync(async token =&gt; await Work(token), ct);</code></example>
    [OverloadResolutionPriority(1)]
    public ValueTask GoAsync(Func<CancellationToken, Task> f, CancellationToken cancellationToken = default, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        GoAsyncCore(f, file, line, cancellationToken);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="f"/> to completion in a new goroutine once a slot is free, parking only the caller meanwhile.</summary>
    /// <param name="f">The function.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started. With a limit of 0 only this ends the wait.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <inheritdoc cref="GoAsync(Func{Task}, CancellationToken, string, int)" path="/returns|/exception"/>
    /// <example><code>await g.GoAsync(() =&gt; results.SendAsync(42), ct);</code></example>
    public ValueTask GoAsync(Func<ValueTask> f, CancellationToken cancellationToken = default, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        GoAsyncCore(f, file, line, cancellationToken);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="f"/>(<see cref="Token"/>) to completion in a new goroutine once a slot is free, parking only the caller meanwhile.</summary>
    /// <param name="f">The function; it receives the group's <see cref="Token"/>.</param>
    /// <param name="cancellationToken">Stops waiting for a slot; <paramref name="f"/> is then not started. With a limit of 0 only this ends the wait.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <inheritdoc cref="GoAsync(Func{Task}, CancellationToken, string, int)" path="/returns|/exception"/>
    /// <example><code>await g.GoAsync(token =&gt; results.SendAsync(42, token), ct);</code></example>
    public ValueTask GoAsync(Func<CancellationToken, ValueTask> f, CancellationToken cancellationToken = default, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) =>
        GoAsyncCore(f, file, line, cancellationToken);

    /// <summary>Runs <paramref name="f"/> in a new goroutine only if a slot is free now (always without a limit, never with a limit of 0).</summary>
    /// <param name="f">The function.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <returns>True if <paramref name="f"/> was started.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <example><code>if (!g.TryGo(() =&gt; Work(g.Token))) Console.WriteLine("busy");</code></example>
    [OverloadResolutionPriority(1)]
    public bool TryGo(Func<Task> f, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) => TryGoCore(f, file, line);

    /// <summary>Runs <paramref name="f"/>(<see cref="Token"/>) in a new goroutine only if a slot is free now.</summary>
    /// <param name="f">The function; it receives the group's <see cref="Token"/>.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <inheritdoc cref="TryGo(Func{Task}, string, int)" path="/returns|/exception"/>
    /// <example><code>if (!g.TryGo(token =&gt; Work(token))) Console.WriteLine("busy");</code></example>
    [OverloadResolutionPriority(1)]
    public bool TryGo(Func<CancellationToken, Task> f, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) => TryGoCore(f, file, line);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="f"/> to completion in a new goroutine only if a slot is free now.</summary>
    /// <param name="f">The function.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <inheritdoc cref="TryGo(Func{Task}, string, int)" path="/returns|/exception"/>
    /// <example><code>if (!g.TryGo(() =&gt; results.SendAsync(42))) Console.WriteLine("busy");</code></example>
    public bool TryGo(Func<ValueTask> f, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) => TryGoCore(f, file, line);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="f"/>(<see cref="Token"/>) to completion in a new goroutine only if a slot is free now.</summary>
    /// <param name="f">The function; it receives the group's <see cref="Token"/>.</param>
    /// <param name="file">Filled in by the compiler: the goroutine dump names this line as the goroutine's origin.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <inheritdoc cref="TryGo(Func{Task}, string, int)" path="/returns|/exception"/>
    /// <example><code>if (!g.TryGo(token =&gt; results.SendAsync(42, token))) Console.WriteLine("busy");</code></example>
    public bool TryGo(Func<CancellationToken, ValueTask> f, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0) => TryGoCore(f, file, line);

    // The twelve public overloads above differ only in the delegate's shape; the shape is dispatched once, in Run.
    private void GoCore(Delegate f, string file, int line, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(f);
        var limit = _limit;
        limit?.Acquire(1, cancellationToken);
        Start(f, limit, file, line);
    }

    private async ValueTask GoAsyncCore(Delegate f, string file, int line, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(f);
        var limit = _limit;
        if (limit is not null) await limit.AcquireAsync(1, cancellationToken);
        Start(f, limit, file, line);
    }

    private bool TryGoCore(Delegate f, string file, int line)
    {
        ArgumentNullException.ThrowIfNull(f);
        var limit = _limit;
        if (limit is not null && !limit.TryAcquire()) return false;
        Start(f, limit, file, line);
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
        Cancel(new OperationCanceledException("The group's Wait returned.", _cts.Token));
        Volatile.Read(ref _error)?.Throw();
    }

    /// <summary>Records <paramref name="cause"/> unless another canceller got in first, then cancels the token.</summary>
    private void Cancel(Exception cause)
    {
        Interlocked.CompareExchange(ref _cause, cause, null);
        _cts.Cancel();
    }

    /// <summary>Runs <paramref name="f"/> in a goroutine that gives its slot back to <paramref name="limit"/> (the semaphore it was taken from) when it ends.</summary>
    private void Start(Delegate f, Semaphore? limit, string file, int line)
    {
        _wg.Add(1);
        Weft.Go.Run((Group: this, F: f, Limit: limit), static async s =>
        {
            try
            {
                await s.Group.Invoke(s.F);
            }
            catch (Exception e)
            {
                if (Interlocked.CompareExchange(ref s.Group._error, ExceptionDispatchInfo.Capture(e), null) is null)
                    s.Group.Cancel(e);
            }
            finally
            {
                s.Limit?.Release();
                s.Group._wg.Done();
            }
        }, file, line);
    }

    /// <summary>Calls <paramref name="f"/>, one of the four shapes the public overloads accept.</summary>
    private ValueTask Invoke(Delegate f) => f switch
    {
        Func<Task> a => new ValueTask(a()),
        Func<CancellationToken, Task> b => new ValueTask(b(_cts.Token)),
        Func<ValueTask> c => c(),
        _ => ((Func<CancellationToken, ValueTask>)f)(_cts.Token),
    };
}
