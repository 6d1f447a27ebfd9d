using Weft.Threading;

namespace Weft;

public static partial class Go
{
    private static ThreadPoolExecutor? s_blockingExecutor;
    private static readonly Lock s_blockingLock = new();

    /// <summary>
    /// The bounded, named pool on which <see cref="BlockingAsync{T}(Func{T}, CancellationToken)"/> runs blocking calls.
    /// By default a pool named <c>weft-blocking</c> that starts threads on demand (up to 512, each retiring after 30 s
    /// idle) and, when all are busy, runs the call on the caller's thread (where sysmon hands its processor on).
    /// Point it at your own <see cref="ThreadPoolExecutor"/> to bound or name blocking work differently.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    /// <example><code>Go.BlockingExecutor = new ThreadPoolExecutor(new ThreadPoolExecutorOptions { Name = "db", CorePoolSize = 4, MaximumPoolSize = 16, QueueCapacity = 1000 });</code></example>
    public static ThreadPoolExecutor BlockingExecutor
    {
        get
        {
            var e = Volatile.Read(ref s_blockingExecutor);
            if (e is not null) return e;
            lock (s_blockingLock)
            {
                return s_blockingExecutor ??= new ThreadPoolExecutor(new ThreadPoolExecutorOptions
                {
                    Name = "weft-blocking",
                    CorePoolSize = 0,
                    MaximumPoolSize = 512,
                    QueueCapacity = 0,
                    KeepAlive = TimeSpan.FromSeconds(30),
                    RejectionPolicy = RejectionPolicy.CallerRuns,
                });
            }
        }
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            Volatile.Write(ref s_blockingExecutor, value);
        }
    }

    /// <summary>
    /// Runs <paramref name="call"/>, known to block its thread, on <see cref="BlockingExecutor"/>; only the calling
    /// goroutine parks until it returns, so no scheduler thread is blocked at all.
    /// </summary>
    /// <remarks>
    /// A call the executor does not run is never dropped silently and never waited on forever: after
    /// <c>Go.BlockingExecutor.Shutdown()</c> every call fails with a <see cref="RejectedExecutionException"/> that names
    /// the pool and says it is shut down (set <see cref="BlockingExecutor"/> to a running executor to go on), and a
    /// call that an executor of your own discards (policy Discard or DiscardOldest) fails with one that says so.
    /// A call that <see cref="ThreadPoolExecutor.ShutdownNow"/> removes before it starts fails the same way, and
    /// will not run even if ShutdownNow's caller runs the tasks it returned; a call that had started is waited for.
    /// </remarks>
    /// <typeparam name="T">The call's result type.</typeparam>
    /// <param name="call">The blocking call.</param>
    /// <param name="cancellationToken">Stops waiting for the result (the call itself keeps running on its pool thread).</param>
    /// <returns>The call's result, or its exception, when awaited.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the call returned.</exception>
    /// <exception cref="RejectedExecutionException">The executor did not run the call: it is shut down, or it rejected
    /// or discarded the call by its rejection policy.</exception>
    /// <example><code>string text = await Go.BlockingAsync(() => LegacyClient.Fetch(id));</code></example>
    public static async Task<T> BlockingAsync<T>(Func<T> call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        var executor = BlockingExecutor;
        var blocking = new BlockingCall<T>(call);
        var task = executor.Submit(blocking.Run);
        await blocking.WaitAsync(executor, task, cancellationToken);
        return task.Result; // completed successfully: WaitAsync threw otherwise
    }

    /// <summary>Runs <paramref name="call"/>, known to block, on <see cref="BlockingExecutor"/>; only the calling goroutine parks.</summary>
    /// <remarks>As for <see cref="BlockingAsync{T}(Func{T}, CancellationToken)"/>: a call the executor does not run fails
    /// with a <see cref="RejectedExecutionException"/>, never silently and never by waiting forever.</remarks>
    /// <param name="call">The blocking call.</param>
    /// <param name="cancellationToken">Stops waiting (the call itself keeps running on its pool thread).</param>
    /// <returns>A task that completes when the call returns, with its exception if it threw.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the call returned.</exception>
    /// <exception cref="RejectedExecutionException">The executor did not run the call: it is shut down, or it rejected
    /// or discarded the call by its rejection policy.</exception>
    /// <example><code>await Go.BlockingAsync(() => File.Copy(src, dst));</code></example>
    public static async Task BlockingAsync(Action call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        await BlockingAsync<object?>(() => { call(); return null; }, cancellationToken);
    }

    /// <summary>
    /// One <see cref="BlockingAsync{T}(Func{T}, CancellationToken)"/> call. It runs at most once, and only while its
    /// waiter still waits for it: ShutdownNow hands never-started tasks back to its own caller (Java's rule), so a
    /// waiter that saw ShutdownNow before the call started gives it up, says so, and the call will not run later.
    /// </summary>
    private sealed class BlockingCall<T>(Func<T> call)
    {
        private const int Queued = 0, Started = 1, GivenUp = 2;
        private int _state; // Queued -> Started (CAS, the thread that runs it) or Queued -> GivenUp (CAS, the waiter)

        public T Run()
        {
            if (Interlocked.CompareExchange(ref _state, Started, Queued) != Queued)
            {
                throw new RejectedExecutionException(
                    "A Go.BlockingAsync call removed by ShutdownNow was given up by its caller; it is not run.");
            }
            return call();
        }

        public async Task WaitAsync(ThreadPoolExecutor executor, Task<T> task, CancellationToken cancellationToken)
        {
            var shutdownNow = executor.ShutdownNowToken;
            using (var either = cancellationToken.CanBeCanceled
                       ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, shutdownNow) : null)
            {
                try
                {
                    await task.WaitAsync(either?.Token ?? shutdownNow);
                    return;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // ShutdownNow, or a call the policy discarded (canceled): sorted out below.
                    if (!task.IsCompleted && Interlocked.CompareExchange(ref _state, GivenUp, Queued) == Queued)
                    {
                        throw new RejectedExecutionException(
                            $"Pool '{executor.Name}' (Go.BlockingExecutor) was shut down with ShutdownNow before the " +
                            "blocking call started; the call will not run.");
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    cancellationToken.ThrowIfCancellationRequested(); // with the caller's token, not the linked one
                }
            }
            // Completed, or started before ShutdownNow: its outcome is the caller's.
            try
            {
                if (cancellationToken.CanBeCanceled) await task.WaitAsync(cancellationToken);
                else await task;
            }
            catch (OperationCanceledException e) when (task.IsCanceled && !cancellationToken.IsCancellationRequested &&
                                                       e.CancellationToken != shutdownNow)
            {
                // A policy's discard ends the task canceled with no token: not the caller's cancellation.
                string state = executor.IsShutdown ? "it is shut down" : "its queue and threads were full";
                throw new RejectedExecutionException(
                    $"Pool '{executor.Name}' (Go.BlockingExecutor) discarded a blocking call without running it: {state}, " +
                    "and its rejection policy drops work.", e);
            }
        }
    }
}
