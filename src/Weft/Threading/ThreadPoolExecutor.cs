// ThreadPoolExecutor: a classic bounded thread pool for blocking work (Java's ThreadPoolExecutor model).
//
// Why it exists. .NET's shared ThreadPool adds threads slowly once its minimum is blocked (about one or two a
// second), and .NET declined to offer separate pool instances (dotnet/runtime#24439). Work that blocks (file and
// database calls, native libraries, Go.Blocking later) wants a dedicated pool whose size the user bounds and names.
//
// Glossary
//   core      CorePoolSize: threads started eagerly, one per task, and kept while idle (unless AllowCoreThreadTimeOut).
//   max       MaximumPoolSize: the hard cap on threads. Threads above core start only when the queue is full.
//   queue     the work queue, QueueCapacity long. Capacity 0 is a direct hand-off: a task is queued only together
//             with a claim on an idle worker, so it never waits for a thread that is busy.
//   ctl       the tail word of the WorkQueue (see its essay), a lock-free ring: as in Java, the lifecycle state in the
//             top bits over the position of the next task. One CAS there checks "admit only while Running", claims
//             a slot and counts the task, so no task slips in after ShutdownNow has drained it; Queued = tail - head.
//             A reader that sees Queued > 0 but an unpublished slot spins until the producer's write lands (no user
//             code in between).
//   idle      _idle counts workers parked on _wake that nobody has claimed. A producer claims one (CAS _idle down)
//             and releases one _wake permit; a worker whose keep-alive expires un-claims itself the same way, or, if
//             it lost that race, takes the permit meant for it. So permits == claims not yet consumed, always.
//
// Admission (Execute/Submit), in exactly Java's order:
//   1. fewer than core threads -> start a thread with this task as its first task;
//   2. else offer to the queue (capacity 0: only if an idle worker can be claimed);
//   3. else, fewer than max threads -> start a thread with this task;
//   4. else reject through the RejectionPolicy.
//
// Invariants
//   - A thread starts only while PoolSize < MaximumPoolSize, so PoolSize <= MaximumPoolSize except after the maximum
//     was lowered, until the surplus threads finish their tasks and exit. LargestPoolSize is the maximum PoolSize
//     ever had. 0 <= CorePoolSize <= MaximumPoolSize always. (Kept under _lock.)
//   - State only moves forward: Running -> ShuttingDown -> Stopping -> Terminated (ShuttingDown may be skipped).
//   - Nothing is enqueued once the state is past Running, so the queued count only falls after Shutdown.
//   - A queued task always has a worker that will take it or a ShutdownNow that will return it: see the two
//     Dekker pairs in TryOffer and Deregister (enqueue-then-read-idle / register-idle-then-read-count, and
//     enqueue-then-read-PoolSize / retire-then-read-count).
//   - Terminated happens once, when state >= ShuttingDown, nothing is queued and no worker is left; the terminated
//     hook runs before AwaitTermination returns.
//   - An exception never kills a worker: task, hook and Submit exceptions are all caught in RunItem.
//   - No user code runs under _lock: hooks, tasks, rejection policies and token callbacks all run outside it.
//
// Lock order: _lock is the only lock the executor takes; SemaphoreSlim's internal lock is only taken without it.
//
// Rejected alternatives
//   - One lock around a Queue<object>, Monitor.Wait/Pulse per task (the textbook version). Simple, but the producer
//     and every worker take one lock per task, and a preempted holder stalls them all (3 threads on 2 cores is the
//     benchmark's normal case). The WorkQueue keeps Execute lock-free.
//   - A queued count that producers increment and workers decrement (the first version of this file). Producer and
//     workers then write one cache line per task. Splitting it into reserved (producers) and dequeued (workers)
//     totals helped; making the queue's own head and
//     tail those totals (WorkQueue) removed one more atomic operation on each side.
//   - Timed polling for keep-alive (sleep, check, repeat). Idle workers block on the semaphore with keep-alive as
//     the timeout, so an idle pool costs almost no CPU. The one exception: no wait is longer than s_recheckPeriod
//     (1 s), because the run-time setters wake idle workers through the shared semaphore and a permit can reach
//     the wrong worker; an idle thread thus wakes at most once a second to re-read the settings.
//   - An injectable clock for keep-alive. A virtual clock would need a timer per idle period to wake the kernel wait
//     (an allocation on the hot path every time a worker goes idle); tests use short keep-alives and wait on the
//     PoolSize metric instead. The ScheduledExecutor, whose whole job is time, does take a TimeProvider.
//   - A Task per Execute (Task.Run style). Execute queues the caller's Action itself; only Submit allocates, once
//     for its TaskCompletionSource and once for its Task.
//   - Interlocked counters for active and completed tasks. They would be two more contended writes per task; each
//     worker instead owns its counters and the metrics sum them under _lock (as Java does).
//   - Unwrapping async work as Task.Run does (start the delegate, return a proxy for its task, free the thread at the
//     first await). Execute(Func<Task>)/Submit(Func<Task<T>>) and their ValueTask forms instead wait for the task on
//     the worker: the pool's bounds then hold for the whole work, ActiveCount counts it, and AwaitTermination cannot
//     return while it still runs. Without these overloads an async lambda bound to Execute(Action) as async void
//     (ending at its first await) or to Submit<T>(Func<T>) as a Task of a Task, and its exception was lost.
//   - Flowing ExecutionContext. Like ThreadPool.UnsafeQueueUserWorkItem and Java, tasks do not inherit AsyncLocals
//     from the submitter; this keeps Execute allocation-free.

using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Weft.Threading;

/// <summary>
/// A bounded pool of named, dedicated threads for blocking work, with Java's <c>ThreadPoolExecutor</c> semantics:
/// core and maximum sizes, keep-alive, a work queue of chosen capacity (0 = direct hand-off), rejection policies,
/// before/after/terminated hooks, an orderly <see cref="Shutdown"/> and an abrupt <see cref="ShutdownNow"/>.
/// </summary>
/// <remarks>
/// <para>A task is admitted in this order: while fewer than <see cref="CorePoolSize"/> threads exist, a new thread is
/// started for it; otherwise it is queued; if the queue is full and fewer than <see cref="MaximumPoolSize"/> threads
/// exist, a new thread is started for it; otherwise it is rejected through the configured
/// <see cref="RejectionPolicy"/>.</para>
/// <para>Tasks do not flow the submitter's <see cref="ExecutionContext"/> (AsyncLocal values), like
/// <see cref="ThreadPool.UnsafeQueueUserWorkItem(IThreadPoolWorkItem, bool)"/>.</para>
/// <para>Thread-safe: every member may be called from any thread.</para>
/// </remarks>
/// <example>
/// <code>
/// var pool = new ThreadPoolExecutor(corePoolSize: 4, maximumPoolSize: 16, keepAlive: TimeSpan.FromSeconds(30),
///                                   queueCapacity: 100, RejectionPolicy.CallerRuns);
/// int rows = await pool.Submit(() => database.CountRows());   // blocking call, off the shared ThreadPool
/// pool.Shutdown();
/// await pool.AwaitTerminationAsync(TimeSpan.FromSeconds(10));
/// </code>
/// </example>
public sealed partial class ThreadPoolExecutor : IDisposable
{
    private const int StateRunning = 0;
    private const int StateShuttingDown = 1;
    private const int StateStopping = 2;
    private const int StateTerminated = 3;
    private const int SpinsBeforeCountCheck = 8;
    private const int SpinsBeforePark = 30;
    private static readonly TimeSpan s_recheckPeriod = TimeSpan.FromSeconds(1);

    /// <summary>The largest allowed <see cref="ThreadPoolExecutorOptions.MaximumPoolSize"/>.</summary>
    public const int MaxThreads = short.MaxValue;

    private static int s_poolSequence;

    // The four run-time settings (ThreadPoolExecutor.Sizing.cs): written under _lock, read racily elsewhere.
    private int _core;
    private int _max;
    private long _keepAliveTicks;
    private bool _allowCoreTimeOut;
    private readonly int _capacity;
    private readonly bool _isBackground;
    private readonly RejectionPolicy _policy;
    private readonly Action<Thread, Delegate>? _beforeExecute;
    private readonly Action<Delegate, Exception?>? _afterExecute;
    private readonly Action? _terminatedHook;

    // The queue, whose tail word also holds the lifecycle state (see WorkQueue). Its capacity is enforced here.
    private readonly WorkQueue _queue;

    // Unclaimed parked workers; see "idle" in the essay. Changed only by Interlocked operations. Padded: producers
    // read it on every Execute, so its writes (on park) must not evict the config fields next to it.
    private PaddedCounter _idle;

    // One permit per claim. Idle workers park here; SemaphoreSlim spins briefly before it blocks in the kernel.
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);

    private readonly Lock _lock = new();

    // Guarded by _lock for writes; read racily on the admission path: a stale value only sends the producer to
    // _lock to recheck (rule 1) or to EnsureQueueServed, which rechecks under _lock.
    private int _poolSize;

    private int _largestPoolSize;               // guarded by _lock
    private readonly List<Worker> _workers = []; // guarded by _lock
    private long _completedByExited;            // guarded by _lock
    private int _threadSequence;                // guarded by _lock
    private bool _terminating;                  // guarded by _lock
    private long _rejected;                     // Interlocked
    private int _spinning;                      // 1 while a worker spins for work (SpinForWork); CAS to claim

    private readonly CancellationTokenSource _shutdownNow = new();
    private readonly TaskCompletionSource _terminated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates an executor from <paramref name="options"/> (defaults when null).</summary>
    /// <param name="options">The configuration; validated here.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is outside its allowed range; the message names the
    /// setting, the range and the value.</exception>
    /// <exception cref="ArgumentNullException"><see cref="ThreadPoolExecutorOptions.RejectionPolicy"/> is null.</exception>
    public ThreadPoolExecutor(ThreadPoolExecutorOptions? options = null)
    {
        options ??= new ThreadPoolExecutorOptions();
        Validate(options);
        _core = options.CorePoolSize;
        _max = options.MaximumPoolSize;
        _keepAliveTicks = options.KeepAlive.Ticks;
        _allowCoreTimeOut = options.AllowCoreThreadTimeOut;
        _capacity = options.QueueCapacity;
        _queue = new WorkQueue(_capacity);
        _isBackground = options.IsBackground;
        _policy = options.RejectionPolicy;
        _beforeExecute = options.BeforeExecute;
        _afterExecute = options.AfterExecute;
        _terminatedHook = options.Terminated;
        Name = options.Name ?? $"weft-pool-{Interlocked.Increment(ref s_poolSequence)}";
        RegisterMetrics();
    }

    /// <summary>Creates an executor with Java's constructor arguments; other settings take their defaults.</summary>
    /// <param name="corePoolSize">See <see cref="ThreadPoolExecutorOptions.CorePoolSize"/>.</param>
    /// <param name="maximumPoolSize">See <see cref="ThreadPoolExecutorOptions.MaximumPoolSize"/>.</param>
    /// <param name="keepAlive">See <see cref="ThreadPoolExecutorOptions.KeepAlive"/>.</param>
    /// <param name="queueCapacity">See <see cref="ThreadPoolExecutorOptions.QueueCapacity"/>.</param>
    /// <param name="rejectionPolicy">See <see cref="ThreadPoolExecutorOptions.RejectionPolicy"/>; null means Abort.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its allowed range.</exception>
    public ThreadPoolExecutor(int corePoolSize, int maximumPoolSize, TimeSpan keepAlive, int queueCapacity,
                              RejectionPolicy? rejectionPolicy = null)
        : this(new ThreadPoolExecutorOptions
        {
            CorePoolSize = corePoolSize,
            MaximumPoolSize = maximumPoolSize,
            KeepAlive = keepAlive,
            QueueCapacity = queueCapacity,
            RejectionPolicy = rejectionPolicy ?? RejectionPolicy.Abort,
        })
    {
    }

    /// <summary>The pool's name, used for its threads and as the <c>weft.pool.name</c> metric tag.</summary>
    public string Name { get; }

    /// <summary>See <see cref="ThreadPoolExecutorOptions.QueueCapacity"/>.</summary>
    public int QueueCapacity => _capacity;

    /// <summary>
    /// Canceled by <see cref="ShutdownNow"/>. Running tasks that should stop early observe it (Java interrupts the
    /// thread instead). A <c>Submit</c> task that throws <see cref="OperationCanceledException"/> for this token
    /// ends canceled rather than faulted.
    /// </summary>
    public CancellationToken ShutdownNowToken => _shutdownNow.Token;

    /// <summary>True once <see cref="Shutdown"/> or <see cref="ShutdownNow"/> has been called.</summary>
    public bool IsShutdown => _queue.State != StateRunning;

    /// <summary>True once the executor has shut down, run every task it will run, and lost all its threads.</summary>
    public bool IsTerminated => _queue.State == StateTerminated;

    /// <summary>
    /// Runs <paramref name="action"/> on a pool thread, admitted by the rule in the remarks. Allocates nothing when a
    /// thread is idle. If the action throws, the exception goes to the after-execute hook (or standard error when
    /// none is set) and the worker carries on.
    /// </summary>
    /// <param name="action">The work.</param>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="RejectedExecutionException">The task was rejected and the policy is Abort.</exception>
    /// <remarks>Under CallerRuns, an action passed after shutdown is dropped silently (Java's rule; see
    /// <see cref="RejectionPolicy.CallerRuns"/>).</remarks>
    /// <example><code>pool.Execute(() => File.WriteAllText(path, text));</code></example>
    public void Execute(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Admit(action);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a pool thread and returns a task for its result; its exception faults that task
    /// (and never reaches the worker). Continuations on the task run asynchronously, never on the pool's thread.
    /// </summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="work">The work.</param>
    /// <returns>A task that completes with the result; canceled if a Discard policy drops it, or if the work throws
    /// <see cref="OperationCanceledException"/> for <see cref="ShutdownNowToken"/>; faulted with
    /// <see cref="RejectedExecutionException"/> if CallerRuns refuses it because the executor is shut down.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="RejectedExecutionException">The task was rejected and the policy is Abort.</exception>
    /// <example><code>byte[] data = await pool.Submit(() => File.ReadAllBytes(path));</code></example>
    public Task<T> Submit<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var submission = new Submission<T>(work, WorkShape.Sync, _shutdownNow.Token);
        Admit(submission);
        return submission.Task;
    }

    /// <summary>Runs <paramref name="work"/> on a pool thread and returns a task that completes when it has run.</summary>
    /// <param name="work">The work.</param>
    /// <returns>A task that completes when the work returns, faulted with its exception if it throws; canceled or
    /// rejected as for <see cref="Submit{T}(Func{T})"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="RejectedExecutionException">The task was rejected and the policy is Abort.</exception>
    /// <example><code>await pool.Submit(() => Thread.Sleep(100));</code></example>
    public Task Submit(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var submission = new Submission<object?>(work, WorkShape.Sync, _shutdownNow.Token);
        Admit(submission);
        return submission.Task;
    }

    /// <summary>
    /// Runs the async <paramref name="action"/> on a pool thread, which waits for its task to complete: the work holds
    /// its thread, counts in <see cref="ActiveCount"/> and delays termination until it has really ended, as blocking
    /// work does. Its exception (the task's own, not an AggregateException) goes to the after-execute hook, or to
    /// standard error when none is set.
    /// </summary>
    /// <param name="action">The work; an <c>async</c> lambda, or one that returns a <see cref="Task"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="RejectedExecutionException">The task was rejected and the policy is Abort.</exception>
    /// <remarks>
    /// This overload keeps an <c>async</c> lambda from binding to <see cref="Execute(Action)"/> as an <c>async void</c>
    /// method, which would end (and free its thread) at its first await. The continuations after each await run on the
    /// .NET ThreadPool, not on this pool; the pool thread only waits. For work that is mostly async I/O, a goroutine
    /// (<see cref="Weft.Go.Run(Func{Task}, string, int)"/>) costs no thread at all.
    /// </remarks>
    /// <example><code>pool.Execute(async () =&gt; await File.WriteAllTextAsync(path, text));</code></example>
    // Priority 1: an async lambda converts to both this and the ValueTask overload, and C# finds neither better (CS0121);
    // the priority settles it for Task. Priority only ranks overloads that apply, so a lambda that returns a ValueTask
    // (which no Func<Task> accepts) still binds to the ValueTask overload.
    [OverloadResolutionPriority(1)]
    public void Execute(Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Admit(new AsyncExecution(action));
    }

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="action"/> on a pool thread, which waits for it to complete.</summary>
    /// <param name="action">The work.</param>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="RejectedExecutionException">The task was rejected and the policy is Abort.</exception>
    /// <remarks>As <see cref="Execute(Func{Task})"/>.</remarks>
    /// <example><code>pool.Execute(() =&gt; channel.SendAsync(item));</code></example>
    public void Execute(Func<ValueTask> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Admit(new AsyncExecution(action));
    }

    /// <summary>
    /// Runs the async <paramref name="work"/> on a pool thread, which waits for it, and returns a task for its result
    /// (not a task of a task): <c>await pool.Submit(async () =&gt; { await Step(); return 1; })</c> gives 1, once the
    /// work has ended.
    /// </summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="work">The work.</param>
    /// <returns>A task that completes with the async work's result, or its exception; canceled or rejected as for
    /// <see cref="Submit{T}(Func{T})"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="RejectedExecutionException">The task was rejected and the policy is Abort.</exception>
    /// <remarks>The pool thread is held until the work ends, as in <see cref="Execute(Func{Task})"/>.</remarks>
    /// <example><code>string body = await pool.Submit(async () =&gt; await File.ReadAllTextAsync(path));</code></example>
    [OverloadResolutionPriority(1)]
    public Task<T> Submit<T>(Func<Task<T>> work) => SubmitAsync<T>(work, WorkShape.Task);

    /// <summary>Runs the <see cref="ValueTask{TResult}"/>-returning <paramref name="work"/> on a pool thread, which waits for it, and returns a task for its result.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="work">The work.</param>
    /// <returns>A task that completes with the work's result, or its exception; canceled or rejected as for
    /// <see cref="Submit{T}(Func{T})"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="RejectedExecutionException">The task was rejected and the policy is Abort.</exception>
    /// <remarks>As <see cref="Submit{T}(Func{Task{T}})"/>.</remarks>
    /// <example><code>int n = await pool.Submit(() =&gt; counts.ReceiveAsync());</code></example>
    public Task<T> Submit<T>(Func<ValueTask<T>> work) => SubmitAsync<T>(work, WorkShape.ValueTask);

    /// <summary>
    /// Runs the async <paramref name="work"/> on a pool thread, which waits for it, and returns a task that completes
    /// when the work has ended: <c>await pool.Submit(async () =&gt; await Task.Delay(200))</c> takes 200 ms.
    /// </summary>
    /// <param name="work">The work.</param>
    /// <returns>A task that completes when the async work ends, faulted with its exception if it fails; canceled or
    /// rejected as for <see cref="Submit{T}(Func{T})"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="RejectedExecutionException">The task was rejected and the policy is Abort.</exception>
    /// <remarks>As <see cref="Submit{T}(Func{Task{T}})"/>.</remarks>
    /// <example><code>await pool.Submit(async () =&gt; await File.WriteAllTextAsync(path, text));</code></example>
    [OverloadResolutionPriority(1)]
    public Task Submit(Func<Task> work) => SubmitAsync<object?>(work, WorkShape.Task);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="work"/> on a pool thread, which waits for it, and returns a task that completes when it has ended.</summary>
    /// <param name="work">The work.</param>
    /// <returns>A task that completes when the work ends, faulted with its exception if it fails; canceled or rejected
    /// as for <see cref="Submit{T}(Func{T})"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="RejectedExecutionException">The task was rejected and the policy is Abort.</exception>
    /// <remarks>As <see cref="Submit{T}(Func{Task{T}})"/>.</remarks>
    /// <example><code>await pool.Submit(() =&gt; channel.SendAsync(item));</code></example>
    public Task Submit(Func<ValueTask> work) => SubmitAsync<object?>(work, WorkShape.ValueTask);

    private Task<T> SubmitAsync<T>(Delegate work, WorkShape shape)
    {
        ArgumentNullException.ThrowIfNull(work);
        var submission = new Submission<T>(work, shape, _shutdownNow.Token);
        Admit(submission);
        return submission.Task;
    }

    /// <summary>Same as <see cref="Shutdown"/>: accepts nothing new and lets queued tasks finish; does not wait.</summary>
    public void Dispose() => Shutdown();

    private void Admit(object item)
    {
        // Rule 1. A stale _poolSize only costs a trip to _lock, where TryAddWorker rechecks.
        if (Volatile.Read(ref _poolSize) < Volatile.Read(ref _core) && TryAddWorker(item, core: true)) return;
        // Rule 2.
        if (TryOffer(item)) return;
        // Rule 3.
        if (TryAddWorker(item, core: false)) return;
        // Rule 4.
        Reject(item);
    }

    /// <summary>Queues <paramref name="item"/> if the queue (or, for capacity 0, an idle worker) has room.</summary>
    internal bool TryOffer(object item)
    {
        if (_capacity == 0)
        {
            // Direct hand-off: the claim on an idle worker is the "room". The claimed worker may lose the item to a
            // worker that just finished a task; it then finds the queue empty and parks again.
            if (!TryClaimIdle()) return false;
            if (!_queue.TryEnqueue(item, int.MaxValue))
            {
                _wake.Release(); // shut down meanwhile: wake the claimed worker, which will see the state and exit
                return false;
            }
            _wake.Release();
            return true;
        }

        if (!_queue.TryEnqueue(item, _capacity)) return false;
        // Dekker pair 1: the enqueue's CAS on the tail word is a full fence before this read of _idle; a parking worker
        // increments _idle (full fence) before it reads the queued count. So either we see it and wake it, or it sees our
        // task and does not park.
        if (Volatile.Read(ref _idle.Value) > 0 && TryClaimIdle()) _wake.Release();
        // Dekker pair 2: a retiring worker decrements _poolSize before it reads the count (Deregister). Either it
        // sees our task and replaces itself, or we see PoolSize == 0 here.
        if (Volatile.Read(ref _poolSize) == 0) EnsureQueueServed();
        return true;
    }

    /// <summary>Takes the oldest queued task, if any. Spins only across a producer's claim-to-publish window.</summary>
    private bool TryTake(out object item)
    {
        var spinner = new SpinWait();
        while (true)
        {
            if (_queue.TryDequeue(out item)) return true;
            // A miss with Count > 0 is a producer between its claim and its publish. Retry the slot a few times
            // before reading the count: the tail word is the producers' line, and a worker that reads it after every
            // miss forces each producer's next CAS to fetch the line back.
            if (spinner.Count >= SpinsBeforeCountCheck && Queued() == 0) return false;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Tasks enqueued (or claimed and being written) and not yet taken; never negative.</summary>
    private long Queued() => _queue.Count;

    /// <summary>For DiscardOldest: the oldest queued task, never one in a direct hand-off (Java's poll on a SynchronousQueue).</summary>
    internal bool TryTakeQueued(out object item)
    {
        if (_capacity == 0)
        {
            item = null!;
            return false;
        }
        return TryTake(out item);
    }

    private bool TryClaimIdle()
    {
        long idle = Volatile.Read(ref _idle.Value);
        while (idle > 0)
        {
            long seen = Interlocked.CompareExchange(ref _idle.Value, idle - 1, idle);
            if (seen == idle) return true;
            idle = seen;
        }
        return false;
    }

    private void Reject(object item)
    {
        Interlocked.Increment(ref _rejected);
        string reason = IsShutdown
            ? "the executor is shut down"
            : $"all {MaximumPoolSize} threads are busy and the queue is full (capacity {_capacity})";
        _policy.Reject(item, this, reason);
    }

    // The exceptions below name the option the caller set (ThreadPoolExecutorOptions.QueueCapacity, the KeepAlive and
    // pool-size properties), not a parameter of these helpers: that is what the caller has to fix.
#pragma warning disable CA2208
    private static void Validate(ThreadPoolExecutorOptions o)
    {
        if (o.MaximumPoolSize is < 1 or > MaxThreads) ThrowMaxOutOfRange(o.MaximumPoolSize);
        if (o.CorePoolSize < 0 || o.CorePoolSize > o.MaximumPoolSize) ThrowCoreOutOfRange(o.CorePoolSize, o.MaximumPoolSize);
        ValidateKeepAlive(o.KeepAlive, o.AllowCoreThreadTimeOut);
        if (o.QueueCapacity < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(o.QueueCapacity), o.QueueCapacity,
                $"QueueCapacity must be between 0 and {int.MaxValue}; it was {o.QueueCapacity}.");
        }
        ArgumentNullException.ThrowIfNull(o.RejectionPolicy, nameof(o.RejectionPolicy));
    }

    private static void ValidateKeepAlive(TimeSpan keepAlive, bool allowCoreTimeOut)
    {
        // No upper bound: a huge keep-alive (TimeSpan.MaxValue) means never, as infinite does. The worker only ever
        // subtracts the idle time from it and waits at most s_recheckPeriod at a time, so nothing can overflow.
        if (keepAlive != Timeout.InfiniteTimeSpan && keepAlive < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlive), keepAlive,
                $"KeepAlive must be zero or more (TimeSpan.MaxValue: never), or Timeout.InfiniteTimeSpan; it was {keepAlive}.");
        }
        if (allowCoreTimeOut && keepAlive <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlive), keepAlive,
                $"KeepAlive must be greater than 0 when AllowCoreThreadTimeOut is set; it was {keepAlive}.");
        }
    }

    private static void ThrowMaxOutOfRange(int value) =>
        throw new ArgumentOutOfRangeException(nameof(MaximumPoolSize), value,
            $"MaximumPoolSize must be between 1 and {MaxThreads}; it was {value}.");

    private static void ThrowCoreOutOfRange(int value, int max) =>
        throw new ArgumentOutOfRangeException(nameof(CorePoolSize), value,
            $"CorePoolSize must be between 0 and MaximumPoolSize ({max}); it was {value}.");
#pragma warning restore CA2208

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "Invariants are checked under _lock.");
        Debug.Assert(0 <= _core && _core <= _max, "CorePoolSize is between 0 and MaximumPoolSize.");
        Debug.Assert(_poolSize <= MaxThreads, "The pool never has more than MaxThreads threads.");
        Debug.Assert(_poolSize == _workers.Count, "PoolSize counts exactly the registered workers.");
        Debug.Assert(_largestPoolSize >= _poolSize, "LargestPoolSize is the largest PoolSize ever had.");
    }
}
