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
    /// <typeparam name="T">The call's result type.</typeparam>
    /// <param name="call">The blocking call.</param>
    /// <param name="cancellationToken">Stops waiting for the result (the call itself keeps running on its pool thread).</param>
    /// <returns>The call's result, or its exception, when awaited.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the call returned.</exception>
    /// <exception cref="RejectedExecutionException">The executor rejected the call (its rejection policy is Abort).</exception>
    /// <example><code>string text = await Go.BlockingAsync(() => LegacyClient.Fetch(id));</code></example>
    public static async Task<T> BlockingAsync<T>(Func<T> call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        var task = BlockingExecutor.Submit(call);
        return cancellationToken.CanBeCanceled ? await task.WaitAsync(cancellationToken) : await task;
    }

    /// <summary>Runs <paramref name="call"/>, known to block, on <see cref="BlockingExecutor"/>; only the calling goroutine parks.</summary>
    /// <param name="call">The blocking call.</param>
    /// <param name="cancellationToken">Stops waiting (the call itself keeps running on its pool thread).</param>
    /// <returns>A task that completes when the call returns, with its exception if it threw.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the call returned.</exception>
    /// <example><code>await Go.BlockingAsync(() => File.Copy(src, dst));</code></example>
    public static async Task BlockingAsync(Action call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        var task = BlockingExecutor.Submit(call);
        if (cancellationToken.CanBeCanceled) await task.WaitAsync(cancellationToken);
        else await task;
    }
}
