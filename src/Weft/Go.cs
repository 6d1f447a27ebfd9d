using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text;
using Weft.Runtime;

namespace Weft;

/// <summary>
/// Goroutines: start them, yield, sleep, block safely, and tune the M:N scheduler that runs them.
/// </summary>
/// <remarks>
/// <para>
/// A goroutine is an async (or synchronous) delegate run by Weft's own scheduler: <see cref="MaxProcs"/> processors
/// (Go's GOMAXPROCS), each with a local run queue, on as many OS threads as blocked code needs. Every <c>await</c>
/// inside a goroutine resumes on Weft, foreign awaits (<see cref="Task.Delay(int)"/>, sockets, <c>HttpClient</c>,
/// files) included, because the goroutine runs under its own <see cref="SynchronizationContext"/>.
/// <c>ConfigureAwait(false)</c> opts out of that: the rest of the method then runs on the .NET ThreadPool.
/// </para>
/// <para>
/// As in Go there is no handle and no id: use channels, <c>WaitGroup</c> or <c>ErrGroup</c> to learn when work ends.
/// A goroutine cannot be preempted: code that loops without awaiting keeps its thread, and after
/// <see cref="BlockingThreshold"/> the scheduler gives that thread's processor to another thread, so the other
/// goroutines keep running.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var done = new TaskCompletionSource();
/// Go.Run(async () =>
/// {
///     await Go.Sleep(TimeSpan.FromMilliseconds(10));
///     done.SetResult();
/// });
/// await done.Task;
/// </code>
/// </example>
public static partial class Go
{
    /// <summary>
    /// Starts a goroutine that runs <paramref name="body"/> and returns at once.
    /// </summary>
    /// <param name="body">The goroutine's code; an <c>async</c> lambda picks the <see cref="Func{Task}"/> overload.</param>
    /// <param name="file">Filled in by the compiler: where the goroutine was started, for diagnostics.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A <c>WEFT_*</c> environment variable holds an invalid value.</exception>
    /// <remarks>An exception that escapes the body is unhandled: see <see cref="UnhandledException"/>.</remarks>
    /// <example><code>Go.Run(() => Console.WriteLine("hello from a goroutine"));</code></example>
    public static void Run(Action body, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Spawn(Goroutine.StartAction, body, null, file, line);
    }

    /// <summary>Starts a goroutine that runs the async <paramref name="body"/> and returns at once.</summary>
    /// <param name="body">The goroutine's code.</param>
    /// <param name="file">Filled in by the compiler: where the goroutine was started, for diagnostics.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A <c>WEFT_*</c> environment variable holds an invalid value.</exception>
    /// <remarks>
    /// The goroutine ends when the returned task completes. If it faults, the exception is unhandled: see
    /// <see cref="UnhandledException"/>. Cancellation is the body's own business: a body that ends because its token
    /// was cancelled should return, not throw.
    /// </remarks>
    /// <example><code>Go.Run(async () => { await Go.Sleep(TimeSpan.FromSeconds(1)); Console.WriteLine("later"); });</code></example>
    // Priority 1: an async lambda converts to both this and the ValueTask overload, and C# finds neither better (CS0121);
    // the priority settles it for Task. Priority only ranks overloads that apply, so a lambda that returns a ValueTask
    // (which no Func<Task> accepts) still binds to the ValueTask overload.
    [OverloadResolutionPriority(1)]
    public static void Run(Func<Task> body, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Spawn(Goroutine.StartFunc, body, null, file, line);
    }

    /// <summary>Starts a goroutine that runs the <see cref="ValueTask"/>-returning <paramref name="body"/> to completion and returns at once.</summary>
    /// <param name="body">The goroutine's code, e.g. <c>() =&gt; ch.SendAsync(1)</c>.</param>
    /// <param name="file">Filled in by the compiler: where the goroutine was started, for diagnostics.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A <c>WEFT_*</c> environment variable holds an invalid value.</exception>
    /// <remarks>
    /// This overload exists so that a lambda returning a <see cref="ValueTask"/> (a Weft channel send, a
    /// <c>WaitAsync</c>) is awaited rather than bound to <see cref="Run(Action, string, int)"/>, which would drop the
    /// task and its exception. The goroutine ends when the task completes; if it faults, the exception is unhandled,
    /// as for <see cref="Run(Func{Task}, string, int)"/>.
    /// </remarks>
    /// <example><code>Go.Run(() =&gt; results.SendAsync(42)); // a ChannelClosedException is unhandled, not lost</code></example>
    public static void Run(Func<ValueTask> body, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Spawn(Goroutine.StartWithState<Func<ValueTask>>.Func, s_runValueTask, body, file, line);
    }

    /// <summary>Starts a goroutine that runs <paramref name="body"/>(<paramref name="state"/>), so a static lambda needs no closure.</summary>
    /// <typeparam name="TState">The type of the state passed to the body.</typeparam>
    /// <param name="state">Passed to <paramref name="body"/>.</param>
    /// <param name="body">The goroutine's code.</param>
    /// <param name="file">Filled in by the compiler.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <example><code>Go.Run(counter, static c => c.Increment());</code></example>
    public static void Run<TState>(TState state, Action<TState> body, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Spawn(Goroutine.StartWithState<TState>.Action, body, state, file, line);
    }

    /// <summary>Starts a goroutine that runs the async <paramref name="body"/>(<paramref name="state"/>).</summary>
    /// <typeparam name="TState">The type of the state passed to the body.</typeparam>
    /// <param name="state">Passed to <paramref name="body"/>.</param>
    /// <param name="body">The goroutine's code.</param>
    /// <param name="file">Filled in by the compiler.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <example><code>Go.Run(ch, static async c => await c.SendAsync(42));</code></example>
    [OverloadResolutionPriority(1)] // as for Run(Func<Task>)
    public static void Run<TState>(TState state, Func<TState, Task> body, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Spawn(Goroutine.StartWithState<TState>.Func, body, state, file, line);
    }

    /// <summary>Starts a goroutine that runs the <see cref="ValueTask"/>-returning <paramref name="body"/>(<paramref name="state"/>) to completion.</summary>
    /// <typeparam name="TState">The type of the state passed to the body.</typeparam>
    /// <param name="state">Passed to <paramref name="body"/>.</param>
    /// <param name="body">The goroutine's code.</param>
    /// <param name="file">Filled in by the compiler.</param>
    /// <param name="line">Filled in by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <remarks>As <see cref="Run(Func{ValueTask}, string, int)"/>: the task is awaited, and its exception is unhandled.</remarks>
    /// <example><code>Go.Run(ch, static c =&gt; c.SendAsync(42));</code></example>
    public static void Run<TState>(TState state, Func<TState, ValueTask> body, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        Spawn(Goroutine.StartWithState<(Func<TState, ValueTask>, TState)>.Func, ValueTaskBody<TState>.Run, (body, state), file, line);
    }

    // ValueTask bodies run through the Task-shaped start paths: a task that already completed successfully (the
    // common case for a send that found room) becomes the cached Task.CompletedTask, anything else costs AsTask.
    // Rejected: a ValueTask start path in Goroutine, which would duplicate its completion bookkeeping for one case.
    private static readonly Func<Func<ValueTask>, Task> s_runValueTask = static b => AsTask(b());

    private static class ValueTaskBody<TState>
    {
        public static readonly Func<(Func<TState, ValueTask> Body, TState State), Task> Run = static p => AsTask(p.Body(p.State));
    }

    private static Task AsTask(ValueTask task)
    {
        if (!task.IsCompletedSuccessfully) return task.AsTask();
        task.GetAwaiter().GetResult(); // a pooled source is recycled by GetResult: consume it even though it succeeded
        return Task.CompletedTask;
    }

    private static void Spawn(Action<object?> start, object body, object? state, string file, int line)
    {
        var g = Goroutine.Create(start, body, state, file.Length == 0 ? null : file, line);
        var m = Machine.Current;
        if (m is not null)
        {
            // On a scheduler thread (never a bubble's): the common case, one thread-static read.
            Registry.Add(g);
            Scheduler.ReadyNew(g, m);
            return;
        }
        var bubble = SynctestBubble.Current;
        if (bubble is not null) bubble.Adopt(g);
        else Scheduler.EnsureStarted();
        Registry.Add(g);
        Scheduler.Ready(g);
    }

    /// <summary>
    /// Yields the processor (Go's <c>runtime.Gosched</c>): the goroutine goes to the back of the global run queue,
    /// so every other runnable goroutine gets a turn first.
    /// </summary>
    /// <returns>An awaitable; <c>await Go.Yield();</c>. Outside a goroutine it behaves like <see cref="Task.Yield"/>.</returns>
    /// <example><code>while (!done) { Work(); await Go.Yield(); }</code></example>
    public static YieldAwaitable Yield() => default;

    /// <summary>
    /// Pauses the current goroutine for at least <paramref name="duration"/> without holding a thread. Backed by the
    /// scheduler's per-processor timer heaps, so a million sleepers cost a million small heap entries.
    /// </summary>
    /// <param name="duration">
    /// How long to sleep. Zero or negative returns at once, as in Go; <see cref="Timeout.InfiniteTimeSpan"/> sleeps
    /// until cancelled (the .NET convention; Go has no such value); a duration too large to add to the clock saturates
    /// and never ends.
    /// </param>
    /// <param name="cancellationToken">Ends the sleep early with <see cref="OperationCanceledException"/>.</param>
    /// <returns>A <see cref="ValueTask"/> to await exactly once.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before the deadline (thrown when awaited).</exception>
    /// <remarks>An uncancellable sleep allocates nothing in steady state.</remarks>
    /// <example><code>await Go.Sleep(TimeSpan.FromMilliseconds(10));</code></example>
    public static ValueTask Sleep(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        if (duration == Timeout.InfiniteTimeSpan)
        {
            if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
            return SleepNode.Start(Clock.Never, cancellationToken); // in no heap: only cancellation ends it
        }
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        if (duration <= TimeSpan.Zero) return ValueTask.CompletedTask; // Go: a non-positive sleep returns at once
        return SleepNode.Start(Clock.Deadline(Scheduler.TimerNow(), duration), cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="call"/>, which is known to block its thread (a synchronous file or database call, a
    /// native wait), without holding a processor: the processor is handed to another thread for the duration so the
    /// other goroutines keep running. Outside a goroutine it just runs the call.
    /// </summary>
    /// <param name="call">The blocking call.</param>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <remarks>Exceptions from <paramref name="call"/> propagate unchanged. Prefer async I/O where it exists.</remarks>
    /// <example><code>Go.Blocking(() => File.Copy(src, dst));</code></example>
    public static void Blocking(Action call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var m = Machine.Current;
        if (m is null) { call(); return; }
        m.EnterBlocking();
        try { call(); }
        finally { m.ExitBlocking(); }
    }

    /// <summary>Runs <paramref name="call"/>, known to block, without holding a processor, and returns its result.</summary>
    /// <typeparam name="T">The call's result type.</typeparam>
    /// <param name="call">The blocking call.</param>
    /// <returns>What <paramref name="call"/> returned.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="call"/> is null.</exception>
    /// <example><code>string text = Go.Blocking(() => File.ReadAllText(path));</code></example>
    public static T Blocking<T>(Func<T> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var m = Machine.Current;
        if (m is null) return call();
        m.EnterBlocking();
        try { return call(); }
        finally { m.ExitBlocking(); }
    }

    /// <summary>The number of goroutines that have started and not yet finished (Go's <c>runtime.NumGoroutine</c>).</summary>
    public static int NumGoroutine => Registry.Live;

    /// <summary>
    /// The number of processors, i.e. goroutines that run in parallel (Go's GOMAXPROCS). Defaults to
    /// <see cref="Environment.ProcessorCount"/>, or the <c>WEFT_MAXPROCS</c> environment variable. May be changed while
    /// goroutines run; no queued goroutine is lost.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1 or more than 1024.</exception>
    /// <exception cref="InvalidOperationException"><c>WEFT_MAXPROCS</c> holds an invalid value.</exception>
    /// <example><code>Go.MaxProcs = 4;</code></example>
    public static int MaxProcs
    {
        get => Scheduler.MaxProcs;
        set
        {
            if (value < 1 || value > RuntimeConfig.MaxProcsLimit)
                throw new ArgumentOutOfRangeException(nameof(value), value, $"MaxProcs must be from 1 to {RuntimeConfig.MaxProcsLimit}.");
            lock (s_configLock)
            {
                if (!Scheduler.IsStarted) RuntimeConfig.Current.MaxProcs = value;
                Scheduler.Resize(value);
            }
        }
    }

    /// <summary>
    /// Whether a goroutine starts in its spawner's <see cref="ExecutionContext"/> (every <see cref="AsyncLocal{T}"/>,
    /// so <c>Activity.Current</c>, logger scopes and <c>HttpContext</c>), as a <see cref="Task.Run(Func{Task})"/>
    /// delegate does. On by default; env <c>WEFT_FLOW_EXECUTION_CONTEXT</c> (1/0, true/false, on/off) sets the start value.
    /// </summary>
    /// <remarks>
    /// A goroutine gets no identity or storage of its own: it carries what the spawner had. To start one goroutine
    /// without the context, use .NET's idiom: <c>using (ExecutionContext.SuppressFlow()) Go.Run(...);</c>. A spawner
    /// with no values set pays only a comparison.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Read before it was set, and <c>WEFT_FLOW_EXECUTION_CONTEXT</c> holds an invalid value.</exception>
    /// <example><code>Go.FlowExecutionContext = false; // process-wide: goroutines start in the default context</code></example>
    public static bool FlowExecutionContext
    {
        get => ContextFlow.Enabled;
        set => ContextFlow.Enabled = value;
    }

    /// <summary>
    /// How long a goroutine may hold its thread without awaiting before the scheduler hands the thread's processor to
    /// another thread (Go's sysmon retake). Default 10 ms, or <c>WEFT_BLOCKING_THRESHOLD_MS</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set outside 1 ms to 60 s.</exception>
    public static TimeSpan BlockingThreshold
    {
        get => RuntimeConfig.Current.BlockingThreshold;
        set
        {
            if (value < TimeSpan.FromMilliseconds(1) || value > TimeSpan.FromSeconds(60))
                throw new ArgumentOutOfRangeException(nameof(value), value, "BlockingThreshold must be from 1 ms to 60 s.");
            RuntimeConfig.Current.BlockingThreshold = value;
        }
    }

    /// <summary>
    /// The stack size reserved (not committed) for each scheduler thread, which bounds a goroutine's synchronous
    /// recursion. Default 16 MB, or <c>WEFT_STACKSIZE</c> (bytes, or with a k/m/g suffix). Applies to threads created
    /// after it is set.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set outside 256 KB to 1 GB.</exception>
    public static int StackSize
    {
        get => RuntimeConfig.Current.StackSize;
        set
        {
            if (value < RuntimeConfig.MinStackSize || value > RuntimeConfig.MaxStackSize)
                throw new ArgumentOutOfRangeException(nameof(value), value, "StackSize must be from 256 KB to 1 GB.");
            RuntimeConfig.Current.StackSize = value;
        }
    }

    /// <summary>
    /// Whether, and how, a <see cref="Main(Func{Task}, string, int)"/> program reports that its goroutines are all asleep.
    /// Default <see cref="Weft.DeadlockDetection.Fail"/> (Go's fatal error, exit code 2), or the <c>WEFT_DEADLOCK</c>
    /// environment variable (<c>off</c>, <c>report</c>, <c>fail</c>). Outside <c>Go.Main</c> nothing is reported. See
    /// <see cref="Weft.DeadlockDetection"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not a member of the enum.</exception>
    /// <example><code>Go.DeadlockDetection = DeadlockDetection.Fail;</code></example>
    public static DeadlockDetection DeadlockDetection
    {
        get => RuntimeConfig.Current.Deadlock;
        set
        {
            if (!Enum.IsDefined(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "Expected Off, Report or Fail.");
            RuntimeConfig.Current.Deadlock = value;
        }
    }

    private static readonly Lock s_configLock = new();

    /// <summary>
    /// Raised when an exception escapes a goroutine. With no handler, Weft does what .NET does for a thread: it prints
    /// the live goroutines grouped by state, wait reason and origin (<see cref="DumpSummary"/>) to standard error and
    /// ends the process with the exception (non-zero exit code). With a handler, the handler observes the exception
    /// and the process keeps running.
    /// </summary>
    /// <remarks>
    /// <para>The handler runs on a scheduler thread; an exception thrown by the handler itself ends the process.</para>
    /// <para>
    /// The exception is the one the body threw, with its original stack trace (for an async body too: Weft takes it
    /// from the task rather than wrapping it), so <see cref="Exception.StackTrace"/> names the line that threw.
    /// </para>
    /// <para>
    /// Cancellation, as with <see cref="Task.Run(Func{Task})"/>: an <see cref="OperationCanceledException"/> whose
    /// <see cref="OperationCanceledException.CancellationToken"/> has been cancelled means the goroutine was asked to
    /// stop and did: it ends quietly, and this event is not raised. Any other <see cref="OperationCanceledException"/>
    /// (one that carries no token, or a token that was not cancelled, such as a timeout raised by hand) is a failure
    /// like any exception, and is raised here.
    /// </para>
    /// </remarks>
    /// <example><code>Go.UnhandledException += (_, e) => log.Error(e.Exception, "goroutine failed");</code></example>
    public static event EventHandler<GoroutineExceptionEventArgs>? UnhandledException;

    internal static void OnUnhandled(Exception error, Goroutine? g)
    {
        var handler = UnhandledException;
        if (handler is not null)
        {
            try
            {
                handler(null, new GoroutineExceptionEventArgs(error, g?.File, g?.Line ?? 0));
                return;
            }
            catch (Exception fromHandler)
            {
                error = new AggregateException("Go.UnhandledException's handler threw.", error, fromHandler);
            }
        }
        Console.Error.WriteLine(g is null
            ? $"weft: {error.Message}; ending the process."
            : $"weft: unhandled exception in goroutine {g.Id} (started at {g.File ?? "?"}:{g.Line}); ending the process.");
        Console.Error.Write(DumpSummary());
        Console.Error.Flush();
        // Rethrow on a fresh thread so .NET's own unhandled-exception path runs: AppDomain.UnhandledException,
        // the usual message, and the usual non-zero exit.
        var t = new Thread(static e => ExceptionDispatchInfo.Throw((Exception)e!)) { Name = "weft-crash" };
        t.Start(error);
        t.Join();
    }

    /// <summary>
    /// Opts in to Go's SIGQUIT behaviour, without the exit: every <c>kill -QUIT &lt;pid&gt;</c> prints <see cref="Dump()"/>
    /// to <paramref name="output"/> (standard error by default) and the process keeps running.
    /// </summary>
    /// <param name="output">Where to write the dump; standard error when null.</param>
    /// <returns>The registration; dispose it to restore the default SIGQUIT behaviour.</returns>
    /// <exception cref="PlatformNotSupportedException">Not on Linux or macOS.</exception>
    /// <remarks>A process that inherited SIGQUIT as ignored (started by <c>nohup</c>, or as a background job of a
    /// non-interactive shell) never receives it; start it with <c>env --default-signal=QUIT</c>.</remarks>
    /// <example><code>using var _ = Go.DumpOnQuitSignal();</code></example>
    public static IDisposable DumpOnQuitSignal(TextWriter? output = null)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            throw new PlatformNotSupportedException("SIGQUIT dumps need a POSIX signal (Linux or macOS).");
        var writer = output ?? Console.Error;
        return System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGQUIT, ctx =>
        {
            ctx.Cancel = true;
            writer.Write(Dump());
            writer.Flush();
        });
    }

    /// <summary>
    /// Describes every live goroutine: a diagnostic number, its state (runnable, running, waiting), what it waits
    /// for and for how long, and where it was started: one line per goroutine, as a SIGQUIT dump
    /// (<see cref="DumpOnQuitSignal"/>) prints it. Reports print the bounded, grouped <see cref="DumpSummary"/> instead.
    /// </summary>
    /// <returns>The dump, one line per goroutine.</returns>
    /// <example><code>Console.Error.Write(Go.Dump());</code></example>
    public static string Dump()
    {
        var sb = new StringBuilder();
        DumpTo(sb);
        return sb.ToString();
    }

    /// <summary>Writes <see cref="Dump()"/> to <paramref name="writer"/>.</summary>
    /// <param name="writer">Where to print, e.g. <see cref="Console.Error"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is null.</exception>
    /// <example><code>Go.Dump(Console.Error);</code></example>
    public static void Dump(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Dump());
        writer.Flush();
    }

    /// <summary>
    /// Describes the live goroutines grouped by state, wait reason and origin, with counts (as Go's
    /// <c>pprof goroutine?debug=1</c>): one line per group, largest first, so a million goroutines parked at the same
    /// place take one line. This is what Weft's reports (a deadlock, an unhandled exception) print.
    /// </summary>
    /// <returns>A header line, then one line per group (at most <c>200</c>, then a line counting the rest).</returns>
    /// <example><code>Console.Error.Write(Go.DumpSummary());</code></example>
    public static string DumpSummary()
    {
        var sb = new StringBuilder();
        var groups = GroupGoroutines(Registry.Snapshot(), Environment.TickCount64, static _ => true);
        DumpGroupsTo(sb, groups);
        return sb.ToString();
    }

    private const int MaxDumpGroups = 200;

    /// <summary>Groups <paramref name="all"/> (those <paramref name="include"/> accepts) by state, reason and origin, largest group first.</summary>
    internal static List<GoroutineGroup> GroupGoroutines(List<Goroutine> all, long nowMs, Func<Goroutine, bool> include)
    {
        var map = new Dictionary<(GoroutineState, WaitReason, string?, int), (int Count, long Longest)>();
        foreach (var g in all)
        {
            if (!include(g)) continue;
            var state = g.State;
            if (state == GoroutineState.Dead) continue;
            var reason = state == GoroutineState.Waiting ? g.Reason : WaitReason.None;
            var key = (state, reason, g.File, g.Line);
            long waited = state == GoroutineState.Waiting ? g.WaitedMs(nowMs) : 0;
            map.TryGetValue(key, out var acc);
            map[key] = (acc.Count + 1, Math.Max(acc.Longest, waited));
        }
        var groups = new List<GoroutineGroup>(map.Count);
        foreach (var ((state, reason, file, line), (count, longest)) in map)
        {
            groups.Add(new GoroutineGroup(
                Goroutine.StateText(state),
                state == GoroutineState.Waiting ? Goroutine.ReasonText(reason) : null,
                file is null ? null : $"{file}:{line}",
                count,
                TimeSpan.FromMilliseconds(longest)));
        }
        groups.Sort(static (a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count)
            : string.CompareOrdinal(a.CreatedAt + a.State + a.WaitReason, b.CreatedAt + b.State + b.WaitReason));
        return groups;
    }

    internal static void DumpGroupsTo(StringBuilder sb, List<GoroutineGroup> groups)
    {
        int total = 0;
        foreach (var g in groups) total += g.Count;
        sb.Append("goroutines: ").Append(total).Append(" live in ").Append(groups.Count).Append(groups.Count == 1 ? " group" : " groups")
          .Append(", procs ").Append(Scheduler.AllP.Length).Append(", threads ").Append(Scheduler.ThreadCount).AppendLine();
        int shown = Math.Min(groups.Count, MaxDumpGroups);
        for (int i = 0; i < shown; i++) sb.Append(groups[i]).AppendLine();
        if (shown < groups.Count)
        {
            int rest = 0;
            for (int i = shown; i < groups.Count; i++) rest += groups[i].Count;
            sb.Append("... and ").Append(groups.Count - shown).Append(" more groups (").Append(rest).Append(" goroutines)").AppendLine();
        }
    }

    private static void DumpTo(StringBuilder sb)
    {
        var all = Registry.Snapshot();
        long now = Environment.TickCount64;
        sb.Append("goroutines: ").Append(all.Count).Append(" live, procs ").Append(Scheduler.AllP.Length)
          .Append(", threads ").Append(Scheduler.ThreadCount).AppendLine();
        foreach (var g in all) g.DescribeTo(sb, now);
    }
}
