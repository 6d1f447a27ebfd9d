// ContextFlow — a goroutine starts in its spawner's ExecutionContext, as a Task.Run delegate does.
//
// What flows: everything .NET keeps in the ExecutionContext — every AsyncLocal<T>, so Activity.Current (traces),
// logger scopes, IHttpContextAccessor's HttpContext, culture set through AsyncLocal. The goroutine's body starts
// inside ExecutionContext.Run with the captured context; from then on .NET's async machinery carries it: each await
// in the body captures the context it runs in and restores it when it resumes, on whichever M that is.
// What does not: a goroutine still has no identity and no storage of its own (Go has neither); it only carries what
// its spawner had, and what it sets itself stays in its own async flow.
//
// Cost: a spawn reads the thread's context (one thread-static) and compares it with the default one. Only a
// spawner that has values to flow pays for the flow: one small object for the start, and ExecutionContext.Run.
//
// Opting out: per call, .NET's own idiom, `using (ExecutionContext.SuppressFlow()) Go.Run(...)` (Capture returns
// null while flow is suppressed); process-wide, Go.FlowExecutionContext = false or WEFT_FLOW_EXECUTION_CONTEXT=0.
//
// Rejected: flowing by default through the mailbox (Post with a captured context per continuation): the state
// machines already restore their context, so that would pay on every hop for nothing.

using System.Runtime.CompilerServices;

namespace Weft.Runtime;

internal static class ContextFlow
{
    public const string Variable = "WEFT_FLOW_EXECUTION_CONTEXT";

    /// <summary>The context of a thread that never set a value (ExecutionContext.Default, which is not public).</summary>
    private static readonly ExecutionContext s_default = CaptureOnFreshThread();

    private static int s_mode; // 0: not read yet, 1: flow, 2: off

    /// <summary>Whether goroutines start in their spawner's context (<see cref="Go.FlowExecutionContext"/>).</summary>
    public static bool Enabled
    {
        get => Mode == 1;
        set => Volatile.Write(ref s_mode, value ? 1 : 2);
    }

    private static int Mode
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            int mode = Volatile.Read(ref s_mode);
            return mode != 0 ? mode : ReadMode();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int ReadMode()
    {
        Interlocked.CompareExchange(ref s_mode, RuntimeConfig.Current.FlowExecutionContext ? 1 : 2, 0);
        return Volatile.Read(ref s_mode);
    }

    /// <summary>The spawner's context if it carries anything and flow is on; null otherwise (the common case).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ExecutionContext? CaptureForSpawn()
    {
        if (Mode != 1) return null; // turned off: not even the thread-static read
        var ec = ExecutionContext.Capture();
        return ec is null || ReferenceEquals(ec, s_default) ? null : ec;
    }

    /// <summary>Parses <see cref="Variable"/>: unset means on.</summary>
    public static bool Parse(string? value)
    {
        if (value is null) return true;
        switch (value.Trim().ToLowerInvariant())
        {
            case "1": case "true": case "on": return true;
            case "0": case "false": case "off": return false;
            default:
                throw new InvalidOperationException(
                    $"{Variable}='{value}' is not valid: expected 1, true or on (goroutines start in their spawner's ExecutionContext, the default), or 0, false or off.");
        }
    }

    private static ExecutionContext CaptureOnFreshThread()
    {
        ExecutionContext? ec = null;
        var t = new Thread(() => ec = ExecutionContext.Capture());
        t.UnsafeStart(); // UnsafeStart flows nothing: the thread starts in the default context
        t.Join();
        return ec!;
    }
}
