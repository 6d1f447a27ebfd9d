using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Weft.Tests;

/// <summary>
/// Turns a failed <see cref="Debug.Assert(bool, string)"/> into a test failure in the Debug test pass, instead of the
/// runtime's default <c>Environment.FailFast</c>: a broken invariant (a wait queue touched without its lock, a channel
/// with both senders and receivers parked) then fails the test that broke it, with the invariant's sentence as the
/// message, and the rest of the run still reports. The Release pass compiles the checks out; CI runs both passes.
/// </summary>
/// <remarks>
/// <para>
/// Where the check fails decides how it fails. On a test's own thread it throws <see cref="InvariantViolatedException"/>,
/// which fails that test. On one of Weft's own threads (an M running a goroutine's step or a callback posted to it,
/// sysmon, the netpoller, a bubble's loop: every thread Weft names <c>weft-…</c>) nothing would catch the exception,
/// and an exception that escapes such a thread ends the test host: the run then stops reporting, and mutation testing
/// reads the ended host as a timeout rather than a failed assertion. There the check records the violation and stops
/// that thread for good instead (sysmon hands its P to another M, as for any step that blocks).
/// </para>
/// <para>
/// Either way the first violation is recorded, and every bounded wait of the tests (<see cref="TestTimeout"/> and the
/// polling helpers) fails at once with it from then on: a runtime whose invariant broke cannot be trusted by the tests
/// that follow, and a wait that would otherwise sit out its full bound fails in milliseconds with the reason.
/// </para>
/// </remarks>
internal static class DebugAsserts
{
    /// <summary>The run's record of failed checks.</summary>
    internal static readonly InvariantLog Log = new();

    /// <summary>Completes with the first recorded violation; never completes in a clean run.</summary>
    internal static Task<InvariantViolatedException> Violated => Log.Violated;

    /// <summary>Set at the first recorded violation, for blocking waits (<see cref="WaitHandle.WaitAny(WaitHandle[], TimeSpan)"/>).</summary>
    internal static WaitHandle ViolatedHandle => Log.ViolatedHandle;

    [ModuleInitializer]
    internal static void Install()
    {
        // Touching Trace.Listeners routes Debug.Assert through the trace listeners; the default one fails fast.
        Trace.Listeners.Clear();
        Trace.Listeners.Add(new ThrowingListener(Log));
        // The listener may stop the thread that calls it (below); under Trace's global lock that would stop every
        // later check on any thread at the lock. The listener is thread-safe, so let each check call it unlocked.
        Trace.UseGlobalLock = false;
#if DEBUG && !WEFT_MODEL_CHECK && !WEFT_NO_INTERNALS
        // A runtime lock held longer than a test may wait is a leaked lock: fail where it is met (WordLock's essay).
        // Not in the model checker, which links this file and has a stand-in WordLock, nor in the test projects that
        // link this file without seeing Weft's internals (WEFT_NO_INTERNALS).
        Weft.Runtime.WordLock.DebugHeldLimit = TestTimeout.Default;
#endif
    }

    /// <summary>
    /// Throws if an invariant check failed anywhere in this run: the polling helpers call it on each turn, and the
    /// bounded waits when <see cref="Violated"/> completes first.
    /// </summary>
    internal static void ThrowIfViolated() => Log.ThrowIfViolated();

    /// <summary>
    /// For a test that fails a check on purpose, on its own thread: the failure throws as usual but is not recorded
    /// as a violation of the run. Dispose the result to end the scope.
    /// </summary>
    internal static IDisposable ExpectFailureOnThisThread() => new ExpectedScope();

    [ThreadStatic] private static int s_expectedHere;

    private sealed class ExpectedScope : IDisposable
    {
        private bool _disposed;

        public ExpectedScope() => s_expectedHere++;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            s_expectedHere--;
        }
    }

    /// <summary>Where a failed check goes: see the class's remarks.</summary>
    internal sealed class ThrowingListener(InvariantLog log) : TraceListener
    {
        public override bool IsThreadSafe => true;

        public override void Fail(string? message, string? detailMessage)
        {
            var text = string.IsNullOrEmpty(detailMessage) ? message : $"{message} {detailMessage}";
            if (s_expectedHere > 0) throw new InvariantViolatedException(text);
            var thread = Thread.CurrentThread.Name;
            var error = new InvariantViolatedException(
                $"{text} (on thread {thread ?? Environment.CurrentManagedThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture)})\n{new StackTrace(1, false)}");
            log.Record(error);
            if (EndsTheHostIfItThrows(thread))
            {
                Console.Error.WriteLine($"weft tests: an invariant check failed on {thread}; that thread stops here so that the test host lives on: {error.Message}");
                Thread.Sleep(Timeout.Infinite);
            }
            throw error;
        }

        /// <summary>
        /// Whether an exception thrown on this thread would escape to the runtime and end the test host: one of
        /// Weft's threads. Not every other thread: the model checker's worker threads (this file is compiled into
        /// tests/Weft.ModelCheck too) catch what their bodies throw and report it as the model's finding, and a
        /// thread that stopped there would read as a hang instead. An exception that escapes a plain thread a test
        /// started is caught, in mutation runs, by the process's unhandled-exception handler (MutationRun).
        /// </summary>
        private static bool EndsTheHostIfItThrows(string? thread) =>
            thread is not null && thread.StartsWith("weft-", StringComparison.Ordinal);

        public override void Write(string? message) { }

        public override void WriteLine(string? message) { }
    }
}

/// <summary>The first failed invariant check of a run, as a task and as a wait handle.</summary>
internal sealed class InvariantLog : IDisposable
{
    private readonly TaskCompletionSource<InvariantViolatedException> _violated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEvent _event = new(false);

    public Task<InvariantViolatedException> Violated => _violated.Task;

    public WaitHandle ViolatedHandle => _event;

    public void Record(InvariantViolatedException error)
    {
        if (_violated.TrySetResult(error)) _event.Set();
    }

    public void Dispose() => _event.Dispose();

    public void ThrowIfViolated()
    {
        if (_violated.Task.IsCompleted)
            throw new InvariantViolatedException($"An invariant check failed earlier in this run (repeated here): {_violated.Task.Result.Message}");
    }
}

/// <summary>A Debug-build invariant check of Weft failed.</summary>
public sealed class InvariantViolatedException(string? message) : Exception(message);
