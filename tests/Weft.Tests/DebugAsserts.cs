using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Weft.Tests;

/// <summary>
/// Turns a failed <see cref="Debug.Assert(bool, string)"/> into an exception in the Debug test pass, instead of the
/// runtime's default <c>Environment.FailFast</c>: a broken invariant (a wait queue touched without its lock, a channel
/// with both senders and receivers parked) then fails the test that broke it, with the invariant's sentence as the
/// message, and the rest of the run still reports. The Release pass compiles the checks out; CI runs both passes.
/// </summary>
internal static class DebugAsserts
{
    [ModuleInitializer]
    internal static void Install()
    {
        // Touching Trace.Listeners routes Debug.Assert through the trace listeners; the default one fails fast.
        Trace.Listeners.Clear();
        Trace.Listeners.Add(new ThrowingListener());
#if DEBUG && !WEFT_MODEL_CHECK
        // A runtime lock held longer than a test may wait is a leaked lock: fail where it is met (WordLock's essay).
        // Not in the model checker, which links this file and has a stand-in WordLock.
        Weft.Runtime.WordLock.DebugHeldLimit = TestTimeout.Default;
#endif
    }

    private sealed class ThrowingListener : TraceListener
    {
        public override void Fail(string? message, string? detailMessage) =>
            throw new InvariantViolatedException(string.IsNullOrEmpty(detailMessage) ? message : $"{message} {detailMessage}");

        public override void Write(string? message) { }

        public override void WriteLine(string? message) { }
    }
}

/// <summary>A Debug-build invariant check of Weft failed.</summary>
public sealed class InvariantViolatedException(string? message) : Exception(message);
