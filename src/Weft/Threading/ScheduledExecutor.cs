using System.Runtime.CompilerServices;

namespace Weft.Threading;

/// <summary>
/// Runs actions after a delay, or repeatedly at a fixed rate or with a fixed delay, on a small
/// <see cref="ThreadPoolExecutor"/> of its own (Java's <c>ScheduledThreadPoolExecutor</c>). Time comes from a
/// <see cref="TimeProvider"/>, so tests can drive it with a manual clock.
/// </summary>
/// <remarks>
/// <para>Each schedule holds one <see cref="ITimer"/>, re-armed after every run (so runs of one schedule never
/// overlap and a period allocates nothing); when it fires, the run is handed to <see cref="Executor"/>. An exception
/// ends its schedule and faults <see cref="ScheduledTask.Completion"/>, which is how it is reported (as Java's
/// <c>ScheduledFuture.get</c> throws it).</para>
/// <para>A run never starts before its due time by the <see cref="TimeProvider"/>'s clock (Java's promise), even
/// when the underlying timer fires early. Delays and periods saturate: <see cref="TimeSpan.MaxValue"/>, or any due
/// time that would lie beyond it, means never (the schedule stays pending until canceled), not an overflow into
/// the past. A negative delay is an <see cref="ArgumentOutOfRangeException"/> (Java treats it as zero; Weft keeps
/// its documented rule so that a subtraction gone wrong is caught).</para>
/// <para><see cref="Shutdown"/> follows Java's defaults: periodic schedules are canceled, delayed one-shots still run,
/// then the executor shuts down.</para>
/// </remarks>
/// <example>
/// <code>
/// using var timers = new ScheduledExecutor(threadCount: 1, name: "flush");
/// ScheduledTask flush = timers.ScheduleAtFixedRate(log.Flush, TimeSpan.Zero, TimeSpan.FromSeconds(1));
/// ...
/// flush.Cancel();
/// </code>
/// </example>
public sealed class ScheduledExecutor : IDisposable
{
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private readonly HashSet<ScheduledTask> _live = []; // guarded by _lock: schedules not yet ended
    private bool _shutdown;                             // guarded by _lock

    /// <summary>Creates a scheduled executor with <paramref name="threadCount"/> threads.</summary>
    /// <param name="threadCount">Threads that run the actions (core = maximum). Allowed: 1 to <see cref="ThreadPoolExecutor.MaxThreads"/>.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="name">The pool's name, for threads and metrics; generated when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threadCount"/> is out of range.</exception>
    public ScheduledExecutor(int threadCount = 1, TimeProvider? timeProvider = null, string? name = null)
    {
        if (threadCount is < 1 or > ThreadPoolExecutor.MaxThreads)
        {
            throw new ArgumentOutOfRangeException(nameof(threadCount), threadCount,
                $"threadCount must be between 1 and {ThreadPoolExecutor.MaxThreads}; it was {threadCount}.");
        }
        _clock = timeProvider ?? TimeProvider.System;
        Executor = new ThreadPoolExecutor(new ThreadPoolExecutorOptions
        {
            Name = name,
            CorePoolSize = threadCount,
            MaximumPoolSize = threadCount,
        });
    }

    /// <summary>The pool that runs the actions: its metrics, <see cref="ThreadPoolExecutor.ShutdownNowToken"/> and state.</summary>
    public ThreadPoolExecutor Executor { get; }

    /// <summary>True once <see cref="Shutdown"/> or <see cref="ShutdownNow"/> has been called.</summary>
    public bool IsShutdown
    {
        get
        {
            lock (_lock) return _shutdown;
        }
    }

    /// <summary>Runs <paramref name="action"/> once, <paramref name="delay"/> from now.</summary>
    /// <param name="action">The work.</param>
    /// <param name="delay">How long to wait first; zero or more (<see cref="TimeSpan.MaxValue"/>: never).</param>
    /// <returns>The schedule; its <see cref="ScheduledTask.Completion"/> completes after the run.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    /// <example><code>timers.Schedule(() => Console.WriteLine("later"), TimeSpan.FromSeconds(5));</code></example>
    public ScheduledTask Schedule(Action action, TimeSpan delay) =>
        Add(action, RequireNotNegative(delay, nameof(delay)), TimeSpan.Zero, fixedRate: false);

    /// <summary>
    /// Runs <paramref name="action"/> first after <paramref name="initialDelay"/>, then every
    /// <paramref name="period"/> measured from the first run's due time (see <see cref="ScheduledTask"/>).
    /// </summary>
    /// <param name="action">The work; an exception ends the schedule.</param>
    /// <param name="initialDelay">Until the first run; zero or more (<see cref="TimeSpan.MaxValue"/>: never).</param>
    /// <param name="period">Between due times; more than zero (<see cref="TimeSpan.MaxValue"/>: one run only).</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A delay is negative or the period is not positive.</exception>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    /// <example><code>timers.ScheduleAtFixedRate(Tick, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));</code></example>
    public ScheduledTask ScheduleAtFixedRate(Action action, TimeSpan initialDelay, TimeSpan period) =>
        Add(action, RequireNotNegative(initialDelay, nameof(initialDelay)), RequirePositive(period, nameof(period)),
            fixedRate: true);

    /// <summary>
    /// Runs <paramref name="action"/> first after <paramref name="initialDelay"/>, then again <paramref name="delay"/>
    /// after each run returns.
    /// </summary>
    /// <param name="action">The work; an exception ends the schedule.</param>
    /// <param name="initialDelay">Until the first run; zero or more (<see cref="TimeSpan.MaxValue"/>: never).</param>
    /// <param name="delay">From the end of one run to the start of the next; more than zero
    /// (<see cref="TimeSpan.MaxValue"/>: one run only).</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A delay is negative or <paramref name="delay"/> is not positive.</exception>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    /// <example><code>timers.ScheduleWithFixedDelay(Poll, TimeSpan.Zero, TimeSpan.FromSeconds(1));</code></example>
    public ScheduledTask ScheduleWithFixedDelay(Action action, TimeSpan initialDelay, TimeSpan delay) =>
        Add(action, RequireNotNegative(initialDelay, nameof(initialDelay)), RequirePositive(delay, nameof(delay)),
            fixedRate: false);

    /// <summary>Runs the async <paramref name="action"/> once, <paramref name="delay"/> from now, to completion.</summary>
    /// <param name="action">The work; a pool thread waits for its task, so the schedule ends (and
    /// <see cref="ScheduledTask.Completion"/> completes, or faults with the task's exception) when the work has ended.</param>
    /// <param name="delay">How long to wait first; zero or more (<see cref="TimeSpan.MaxValue"/>: never).</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    /// <remarks>
    /// The async overloads exist so that an <c>async</c> lambda does not bind to the <see cref="Action"/> overload as
    /// <c>async void</c>, which would end the run at its first await and lose its exception. For a periodic schedule,
    /// a run ends when its task completes: runs never overlap, and a fixed delay counts from that end.
    /// </remarks>
    /// <example><code>timers.Schedule(async () =&gt; await FlushAsync(), TimeSpan.FromSeconds(5));</code></example>
    [OverloadResolutionPriority(1)] // an async lambda converts to both Task and ValueTask delegates: Task wins
    public ScheduledTask Schedule(Func<Task> action, TimeSpan delay) => Schedule(Blocking(action), delay);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="action"/> once, <paramref name="delay"/> from now, to completion.</summary>
    /// <param name="action">The work, e.g. <c>() =&gt; ticks.SendAsync(1)</c>.</param>
    /// <param name="delay">How long to wait first; zero or more (<see cref="TimeSpan.MaxValue"/>: never).</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    /// <remarks>As <see cref="Schedule(Func{Task}, TimeSpan)"/>.</remarks>
    /// <example><code>timers.Schedule(() =&gt; ticks.SendAsync(1), TimeSpan.FromSeconds(1));</code></example>
    public ScheduledTask Schedule(Func<ValueTask> action, TimeSpan delay) => Schedule(Blocking(action), delay);

    /// <summary>Runs the async <paramref name="action"/> at a fixed rate, each run to completion (see <see cref="ScheduleAtFixedRate(Action, TimeSpan, TimeSpan)"/>).</summary>
    /// <param name="action">The work; an exception ends the schedule.</param>
    /// <param name="initialDelay">Until the first run; zero or more (<see cref="TimeSpan.MaxValue"/>: never).</param>
    /// <param name="period">Between due times; more than zero (<see cref="TimeSpan.MaxValue"/>: one run only).</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A delay is negative or the period is not positive.</exception>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    /// <remarks>As <see cref="Schedule(Func{Task}, TimeSpan)"/>: a pool thread waits for each run's task.</remarks>
    /// <example><code>timers.ScheduleAtFixedRate(async () =&gt; await PingAsync(), TimeSpan.Zero, TimeSpan.FromSeconds(1));</code></example>
    [OverloadResolutionPriority(1)]
    public ScheduledTask ScheduleAtFixedRate(Func<Task> action, TimeSpan initialDelay, TimeSpan period) =>
        ScheduleAtFixedRate(Blocking(action), initialDelay, period);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="action"/> at a fixed rate, each run to completion.</summary>
    /// <param name="action">The work; an exception ends the schedule.</param>
    /// <param name="initialDelay">Until the first run; zero or more (<see cref="TimeSpan.MaxValue"/>: never).</param>
    /// <param name="period">Between due times; more than zero (<see cref="TimeSpan.MaxValue"/>: one run only).</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A delay is negative or the period is not positive.</exception>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    /// <remarks>As <see cref="Schedule(Func{Task}, TimeSpan)"/>.</remarks>
    /// <example><code>timers.ScheduleAtFixedRate(() =&gt; ticks.SendAsync(1), TimeSpan.Zero, TimeSpan.FromSeconds(1));</code></example>
    public ScheduledTask ScheduleAtFixedRate(Func<ValueTask> action, TimeSpan initialDelay, TimeSpan period) =>
        ScheduleAtFixedRate(Blocking(action), initialDelay, period);

    /// <summary>Runs the async <paramref name="action"/> with a fixed delay after each run has ended (see <see cref="ScheduleWithFixedDelay(Action, TimeSpan, TimeSpan)"/>).</summary>
    /// <param name="action">The work; an exception ends the schedule.</param>
    /// <param name="initialDelay">Until the first run; zero or more (<see cref="TimeSpan.MaxValue"/>: never).</param>
    /// <param name="delay">From the end of one run's task to the start of the next; more than zero.</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A delay is negative or <paramref name="delay"/> is not positive.</exception>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    /// <remarks>As <see cref="Schedule(Func{Task}, TimeSpan)"/>.</remarks>
    /// <example><code>timers.ScheduleWithFixedDelay(async () =&gt; await PollAsync(), TimeSpan.Zero, TimeSpan.FromSeconds(1));</code></example>
    [OverloadResolutionPriority(1)]
    public ScheduledTask ScheduleWithFixedDelay(Func<Task> action, TimeSpan initialDelay, TimeSpan delay) =>
        ScheduleWithFixedDelay(Blocking(action), initialDelay, delay);

    /// <summary>Runs the <see cref="ValueTask"/>-returning <paramref name="action"/> with a fixed delay after each run has ended.</summary>
    /// <param name="action">The work; an exception ends the schedule.</param>
    /// <param name="initialDelay">Until the first run; zero or more (<see cref="TimeSpan.MaxValue"/>: never).</param>
    /// <param name="delay">From the end of one run's task to the start of the next; more than zero.</param>
    /// <returns>The schedule.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A delay is negative or <paramref name="delay"/> is not positive.</exception>
    /// <exception cref="RejectedExecutionException">The executor is shut down.</exception>
    /// <remarks>As <see cref="Schedule(Func{Task}, TimeSpan)"/>.</remarks>
    /// <example><code>timers.ScheduleWithFixedDelay(() =&gt; ticks.SendAsync(1), TimeSpan.Zero, TimeSpan.FromSeconds(1));</code></example>
    public ScheduledTask ScheduleWithFixedDelay(Func<ValueTask> action, TimeSpan initialDelay, TimeSpan delay) =>
        ScheduleWithFixedDelay(Blocking(action), initialDelay, delay);

    // One closure per schedule, not per run: the pool thread waits for the task (see AsyncWork).
    private static Action Blocking(Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return () => AsyncWork.Wait(action());
    }

    private static Action Blocking(Func<ValueTask> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return () => AsyncWork.Wait(action());
    }

    /// <summary>
    /// Cancels periodic schedules, lets delayed one-shots still run, and then shuts the executor down. New schedules
    /// are rejected. Does not wait; see <see cref="AwaitTermination"/>. A one-shot that is never due
    /// (<see cref="TimeSpan.MaxValue"/>) keeps the executor from terminating until it is canceled (or
    /// <see cref="ShutdownNow"/> is called), as in Java.
    /// </summary>
    public void Shutdown()
    {
        List<ScheduledTask> periodic;
        lock (_lock)
        {
            _shutdown = true;
            periodic = _live.Where(t => t.IsPeriodic).ToList();
        }
        foreach (var task in periodic) task.Cancel();
        ShutDownExecutorWhenIdle();
    }

    /// <summary>
    /// Cancels every schedule that has not ended and shuts the executor down now (see
    /// <see cref="ThreadPoolExecutor.ShutdownNow"/>: its token is canceled for runs in progress).
    /// </summary>
    /// <returns>The schedules this call canceled.</returns>
    public IReadOnlyList<ScheduledTask> ShutdownNow()
    {
        List<ScheduledTask> live;
        lock (_lock)
        {
            _shutdown = true;
            live = [.. _live];
        }
        var canceled = live.Where(t => t.Cancel()).ToList();
        Executor.ShutdownNow();
        return canceled;
    }

    /// <summary>Blocks until the executor has terminated after a shutdown, or <paramref name="timeout"/> passes.</summary>
    /// <param name="timeout">How long to wait: zero or more; <see cref="Timeout.InfiniteTimeSpan"/> or a huge value
    /// (<see cref="TimeSpan.MaxValue"/>) waits forever.</param>
    /// <returns>True if it terminated.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    public bool AwaitTermination(TimeSpan timeout) => Executor.AwaitTermination(timeout);

    /// <summary>Waits asynchronously until the executor has terminated after a shutdown, or <paramref name="timeout"/> passes.</summary>
    /// <param name="timeout">How long to wait: zero or more; <see cref="Timeout.InfiniteTimeSpan"/> or a huge value
    /// (<see cref="TimeSpan.MaxValue"/>) waits forever.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>True if it terminated.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    public Task<bool> AwaitTerminationAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Executor.AwaitTerminationAsync(timeout, cancellationToken);

    /// <summary>Same as <see cref="Shutdown"/>.</summary>
    public void Dispose() => Shutdown();

    /// <summary>Called by a schedule once it has ended.</summary>
    internal void Forget(ScheduledTask task)
    {
        lock (_lock) _live.Remove(task);
        ShutDownExecutorWhenIdle();
    }

    private ScheduledTask Add(Action action, TimeSpan initialDelay, TimeSpan period, bool fixedRate)
    {
        ArgumentNullException.ThrowIfNull(action);
        var task = new ScheduledTask(this, action, initialDelay, period, fixedRate, _clock);
        lock (_lock)
        {
            if (_shutdown) throw new RejectedExecutionException($"Pool '{Executor.Name}' rejected a schedule: the executor is shut down.");
            _live.Add(task);
        }
        task.Start();
        return task;
    }

    private void ShutDownExecutorWhenIdle()
    {
        lock (_lock)
        {
            if (!_shutdown || _live.Count > 0) return;
        }
        Executor.Shutdown();
    }

    private static TimeSpan RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value,
                $"{name} must be more than zero (TimeSpan.MaxValue: no second run); it was {value}.");
        }
        return value;
    }

    private static TimeSpan RequireNotNegative(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value,
                $"{name} must be zero or more (TimeSpan.MaxValue: never); it was {value}.");
        }
        return value;
    }
}
