// ModelPoint — the scheduling points of the model checker (tests/Weft.ModelCheck).
//
// The lock-free protocols of the runtime (the run queue, the processor hand-back with sysmon) are written with
// Interlocked and Volatile, which no .NET model checker controls: Coyote rewrites Tasks and locks, not plain memory
// accesses. So the model checker is a systematic scheduler of its own (CHESS-style, see the harness's essay in
// tests/Weft.ModelCheck/Harness/ModelChecker.cs). It compiles the real source files of those protocols with
// WEFT_MODEL_CHECK defined, and a call to Here() before each shared-memory access that matters becomes a point where
// the checker may switch to another thread.
//
// In Weft.dll the symbol is not defined, so the compiler drops every call (ConditionalAttribute) and the partial
// hook has no body: the points cost nothing and change nothing. Rule for a new point: put it immediately before a
// read or write of a field that another thread also touches, never inside a Monitor-held region: the checker cannot
// see a thread blocked on a Monitor. Points under the scheduler lock do not switch (the lock's regions run atomically
// in the models); under any other Monitor, a blocked thread ends the model with an error naming its last point.

using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Weft.Runtime;

internal static partial class ModelPoint
{
    /// <summary>A scheduling point for the model checker; nothing at all outside a WEFT_MODEL_CHECK build.</summary>
    [Conditional("WEFT_MODEL_CHECK")]
    public static void Here([CallerMemberName] string member = "", [CallerLineNumber] int line = 0) => OnPoint(member, line);

    static partial void OnPoint(string member, int line);
}
