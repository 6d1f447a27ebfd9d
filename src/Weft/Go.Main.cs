using System.Runtime.CompilerServices;
using Weft.Runtime;

namespace Weft;

public static partial class Go
{
    private static int s_mainStarted;

    /// <summary>
    /// Runs <paramref name="main"/> as the program's main goroutine and blocks the calling thread until it returns:
    /// the entry point of a program that is a Go program. Under it, deadlock detection is exact, as in Go: when every
    /// goroutine (the main one included) is asleep and nothing else in the process can wake them, the program prints
    /// <c>fatal error: all goroutines are asleep - deadlock!</c> with a grouped goroutine summary and exits with code 2.
    /// </summary>
    /// <param name="main">The main function; it runs as a goroutine (its awaits resume on Weft).</param>
    /// <param name="file">Filled in by the compiler: the main goroutine's origin in dumps.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <returns>0 when <paramref name="main"/> returns: the program's exit code, for <c>static int Main</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="InvalidOperationException">
    /// Called a second time in the process (a program has one main goroutine), from a goroutine or from a bubble.
    /// </exception>
    /// <remarks>
    /// <para>
    /// As in Go, the program ends when <paramref name="main"/> returns, even if other goroutines still run: Weft's
    /// threads are background threads, so returning the exit code from <c>Main</c> ends the process (unless the
    /// program started foreground threads of its own, which .NET waits for).
    /// </para>
    /// <para>
    /// An exception that escapes <paramref name="main"/> is rethrown from <c>Go.Main</c> with its original stack
    /// trace; uncaught, .NET ends the process as it does for any unhandled exception. This includes an
    /// <see cref="OperationCanceledException"/>: the main function decides what cancellation means for the program.
    /// </para>
    /// <para>
    /// "Nothing else can wake them" means: no goroutine is runnable or waits on a foreign await (I/O, a
    /// <see cref="Task"/>), no Weft or .NET timer is pending, no .NET ThreadPool work is queued or running, and no thread
    /// exists besides Weft's, the .NET runtime's own, idle ThreadPool workers and the thread blocked in
    /// <c>Go.Main</c>. A plain thread that is alive, a <see cref="Task.Delay(int)"/> or an HTTP server awaited by a
    /// goroutine therefore keeps the program alive. What Weft cannot see is an asynchronous operation that no
    /// goroutine awaits and no thread waits for (a fire-and-forget task whose only pending step is a socket read):
    /// await such work from a goroutine. <see cref="Weft.DeadlockDetection"/> (<c>WEFT_DEADLOCK</c>) selects
    /// <c>Fail</c> (the default: exit code 2), <c>Report</c> (print and keep running) or <c>Off</c>;
    /// <see cref="DeadlockDetected"/> routes the report elsewhere. Detection needs Linux's <c>/proc</c>: elsewhere
    /// Weft cannot prove that no other thread exists, and reports nothing.
    /// </para>
    /// </remarks>
    /// <example>
    /// <code>
    /// static int Main() => Go.Main(async () =>
    /// {
    ///     var results = new Chan&lt;int&gt;();
    ///     Go.Run(async () => await results.SendAsync(42));
    ///     Console.WriteLine(await results.ReceiveAsync());
    /// });
    /// </code>
    /// </example>
    public static int Main(Func<Task> main, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(main);
        return StartMain(async () => { await (main() ?? throw NullMainTask()).ConfigureAwait(true); return 0; }, file, line, callerBlocks: true).GetAwaiter().GetResult();
    }

    /// <summary>Like <see cref="Main(Func{Task}, string, int)"/>, for a main function that returns the exit code.</summary>
    /// <param name="main">The main function; its result is the program's exit code.</param>
    /// <param name="file">Filled in by the compiler.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <returns>What <paramref name="main"/> returned.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Called a second time, from a goroutine or from a bubble.</exception>
    /// <example><code>static int Main(string[] args) => Go.Main(async () => args.Length == 0 ? 1 : await Work(args));</code></example>
    public static int Main(Func<Task<int>> main, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(main);
        return StartMain(main, file, line, callerBlocks: true).GetAwaiter().GetResult();
    }

    /// <summary>
    /// The asynchronous form of <see cref="Main(Func{Task}, string, int)"/>, for <c>static Task&lt;int&gt; Main</c>: starts
    /// <paramref name="main"/> as the main goroutine and returns a task that completes when it returns.
    /// </summary>
    /// <param name="main">The main function.</param>
    /// <param name="file">Filled in by the compiler.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <returns>A task with the exit code (0), or the exception that escaped <paramref name="main"/>, with its original stack trace.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Called a second time, from a goroutine or from a bubble.</exception>
    /// <remarks>
    /// The thread that calls it (the process's main thread, in <c>static Task&lt;int&gt; Main</c>) is taken to wait for
    /// the returned task and nothing else, as .NET's generated entry point does: do not do other work on it.
    /// </remarks>
    /// <example><code>static Task&lt;int&gt; Main() => Go.RunMain(async () => await Serve());</code></example>
    public static Task<int> RunMain(Func<Task> main, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(main);
        return StartMain(async () => { await (main() ?? throw NullMainTask()).ConfigureAwait(true); return 0; }, file, line, callerBlocks: false);
    }

    /// <summary>Like <see cref="RunMain(Func{Task}, string, int)"/>, for a main function that returns the exit code.</summary>
    /// <param name="main">The main function; its result is the program's exit code.</param>
    /// <param name="file">Filled in by the compiler.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <returns>A task with what <paramref name="main"/> returned.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="main"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Called a second time, from a goroutine or from a bubble.</exception>
    /// <example><code>static Task&lt;int&gt; Main() => Go.RunMain(async () => await Serve() ? 0 : 1);</code></example>
    public static Task<int> RunMain(Func<Task<int>> main, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(main);
        return StartMain(main, file, line, callerBlocks: false);
    }

    private static InvalidOperationException NullMainTask() =>
        new("The main function passed to Go.Main returned a null Task; an async lambda never does.");

    private static Task<int> StartMain(Func<Task<int>> main, string file, int line, bool callerBlocks)
    {
        if (Goroutine.Current is not null || SynctestBubble.Current is not null)
            throw new InvalidOperationException("Go.Main and Go.RunMain are a program's entry point: call them from Main, not from a goroutine or a bubble.");
        if (Interlocked.Exchange(ref s_mainStarted, 1) != 0)
            throw new InvalidOperationException("Go.Main or Go.RunMain was already called in this process: a program has one main goroutine.");
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        DeadlockDetector.EnterMain(callerBlocks || !Thread.CurrentThread.IsThreadPoolThread);
        // The main goroutine catches everything itself: what escapes main belongs to Main's caller, with its stack.
        // A typed local, so the call binds to the Func<Task> overload whatever other overloads Run gains.
        Func<Task> mainGoroutine = async () =>
        {
            try
            {
                done.TrySetResult(await (main() ?? throw NullMainTask()).ConfigureAwait(true));
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
            finally
            {
                DeadlockDetector.ExitMain();
            }
        };
        Run(mainGoroutine, file, line);
        return done.Task;
    }
    /// <summary>
    /// Raised when Weft finds every goroutine asleep with nothing left that could wake them (Go's
    /// <c>all goroutines are asleep - deadlock!</c>), before it prints the report. A handler that writes the report
    /// itself (to a logger) sets <see cref="DeadlockDetectedEventArgs.Handled"/>, and Weft then prints nothing.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Raised at most once per episode (a new episode starts when a goroutine runs again), on Weft's monitor thread,
    /// and only where the detection is certain: in a program that runs under <see cref="Main(Func{Task}, string, int)"/>
    /// or <see cref="RunMain(Func{Task}, string, int)"/>, never in one that does not (see <see cref="Weft.DeadlockDetection"/>),
    /// and never with <see cref="Weft.DeadlockDetection.Off"/>. Whether the program goes
    /// on or ends afterwards is <see cref="DeadlockDetectedEventArgs.Mode"/>'s business, not the handler's.
    /// </para>
    /// <para>An exception thrown by a handler is treated as an unhandled goroutine exception (<see cref="UnhandledException"/>).</para>
    /// </remarks>
    /// <example>
    /// <code>
    /// Go.DeadlockDetected += (_, e) =>
    /// {
    ///     logger.LogCritical("{Report}", e.Report);
    ///     e.Handled = true;
    /// };
    /// </code>
    /// </example>
    public static event EventHandler<DeadlockDetectedEventArgs>? DeadlockDetected;

    /// <summary>Raises <see cref="DeadlockDetected"/>; true if a handler handled the report.</summary>
    internal static bool OnDeadlockDetected(DeadlockDetectedEventArgs e)
    {
        var handler = DeadlockDetected;
        if (handler is null) return false;
        try
        {
            handler(null, e);
        }
        catch (Exception fromHandler)
        {
            OnUnhandled(new AggregateException("Go.DeadlockDetected's handler threw.", fromHandler), null);
        }
        return e.Handled;
    }
}
