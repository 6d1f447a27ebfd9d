using System.Diagnostics;
using System.Globalization;

namespace Weft.Tests;

/// <summary>
/// Every async test awaits through this, so a hang fails fast with a goroutine dump instead of stalling CI.
/// <see cref="Default"/> is 30 s; <c>WEFT_TEST_TIMEOUT=S</c> (seconds, a number from 0.5 to 3600) replaces it.
/// Mutation testing sets it to a few seconds, so that a mutant which hangs an operation fails the test's own bounded
/// wait (an assertion, with the dump) before Stryker would give up on the run and call it a timeout.
/// </summary>
public static class TestTimeout
{
    public static readonly TimeSpan Default = Parse(Environment.GetEnvironmentVariable("WEFT_TEST_TIMEOUT"));

    /// <summary>
    /// <paramref name="bound"/>, or <see cref="Default"/> if that is shorter: for a wait with a bound of its own (a
    /// wake-up that is due, Go's own limit) that must still fire before mutation testing's limit when
    /// <c>WEFT_TEST_TIMEOUT</c> is short.
    /// </summary>
    public static TimeSpan AtMost(TimeSpan bound) => bound < Default ? bound : Default;

    internal static TimeSpan Parse(string? v)
    {
        if (string.IsNullOrEmpty(v)) return TimeSpan.FromSeconds(30);
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) || !(s >= 0.5 && s <= 3600))
            throw new InvalidOperationException($"WEFT_TEST_TIMEOUT='{v}' is not valid: expected seconds, a number from 0.5 to 3600 (e.g. 3 or 2.5).");
        return TimeSpan.FromSeconds(s);
    }

    /// <summary>
    /// Awaits <paramref name="task"/>, bounded by <paramref name="timeout"/> (default <see cref="Default"/>): a hang
    /// fails with a goroutine dump. Fails at once if a Debug invariant check failed anywhere in the run meanwhile
    /// (<see cref="DebugAsserts"/>).
    /// </summary>
    public static async Task Within(this Task task, TimeSpan? timeout = null)
    {
        var bounded = task.WaitAsync(timeout ?? Default);
        await FirstOfOrViolation(bounded);
        try
        {
            await bounded;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {timeout ?? Default}.\n{Go.Dump()}");
        }
    }

    /// <inheritdoc cref="Within(Task, TimeSpan?)"/>
    public static async Task<T> Within<T>(this Task<T> task, TimeSpan? timeout = null)
    {
        var bounded = task.WaitAsync(timeout ?? Default);
        await FirstOfOrViolation(bounded);
        try
        {
            return await bounded;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {timeout ?? Default}.\n{Go.Dump()}");
        }
    }

    /// <summary>
    /// Awaits <paramref name="task"/>, a long loop that reports its progress, bounded by a stall rather than by its
    /// whole run: it fails when <paramref name="progress"/> has not changed for <paramref name="stall"/> (default
    /// <see cref="Default"/>), or when the whole run passes 20 times that. A loop that is slow because the machine is
    /// loaded (child processes and test assemblies sharing two cores) passes; one that is stuck fails as fast as
    /// <see cref="Within(Task, TimeSpan?)"/> would, and the message says where, from <paramref name="where"/>, with
    /// a goroutine dump.
    /// </summary>
    public static async Task WithinProgress(this Task task, Func<long> progress, Func<string> where, TimeSpan? stall = null)
    {
        var bound = stall ?? Default;
        var poll = TimeSpan.FromTicks(Math.Max(bound.Ticks / 20, TimeSpan.TicksPerMillisecond * 10));
        long started = Stopwatch.GetTimestamp(), changed = started, last = progress();
        while (true)
        {
            var delay = Task.Delay(poll);
            var first = await Task.WhenAny(task, delay, DebugAsserts.Violated);
            if (first == task) { await task; return; }
            if (first == DebugAsserts.Violated) DebugAsserts.ThrowIfViolated();
            long now = progress();
            if (now != last) { last = now; changed = Stopwatch.GetTimestamp(); }
            else if (Stopwatch.GetElapsedTime(changed) > bound)
                throw new TimeoutException($"No progress for {bound}: {where()}.\n{Go.Dump()}");
            if (Stopwatch.GetElapsedTime(started) > bound * 20)
                throw new TimeoutException($"Still running after {bound * 20}, though progressing: {where()}.\n{Go.Dump()}");
        }
    }

    private static async Task FirstOfOrViolation(Task bounded)
    {
        if (bounded.IsCompleted) return;
        if (await Task.WhenAny(bounded, DebugAsserts.Violated) != bounded) DebugAsserts.ThrowIfViolated();
    }

    public static Task Within(this ValueTask task, TimeSpan? timeout = null) => task.AsTask().Within(timeout);

    /// <summary>
    /// Runs a blocking call (Lock, Acquire, Wait) on a thread of its own and waits for it, bounded: a call that hangs
    /// fails the test with a goroutine dump instead of blocking the test thread for good. Its exception, if any, is
    /// rethrown as is, so <c>Assert.Throws(() =&gt; TestTimeout.Blocking(...))</c> works.
    /// </summary>
    public static void Blocking(Action call) =>
        Blocking<bool>(() => { call(); return true; });

    /// <inheritdoc cref="Blocking(Action)"/>
    public static T Blocking<T>(Func<T> call)
    {
        var t = Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        int which = WaitHandle.WaitAny([((IAsyncResult)t).AsyncWaitHandle, DebugAsserts.ViolatedHandle], Default);
        if (which == WaitHandle.WaitTimeout)
            throw new TimeoutException($"A blocking call did not return within {Default}.\n{Go.Dump()}");
        if (which == 1 && !t.IsCompleted) DebugAsserts.ThrowIfViolated();
        return t.GetAwaiter().GetResult();
    }

    public static Task<T> Within<T>(this ValueTask<T> task, TimeSpan? timeout = null) => task.AsTask().Within(timeout);
}
