using System.Runtime.CompilerServices;

namespace Weft.Tests;

/// <summary>
/// What changes in a mutation run (<c>WEFT_MUTATION=1</c>, set by <c>tests/mutation/run.sh</c>): an exception that
/// escapes a goroutine is printed, and one that escapes a thread stops that thread; either way the test host lives on,
/// instead of ending the process as Weft and .NET do by default.
/// </summary>
/// <remarks>
/// A mutant often makes runtime code throw inside a goroutine (an <c>Unlock</c> that finds the mutex unlocked, a null
/// node). By default that ends the test host, which Stryker reports as a timeout, not as a failed assertion. With
/// this handler the goroutine ends, whatever the test waited for from it never comes, and the test's bounded wait
/// (<see cref="TestTimeout"/>) fails: an assertion. Ordinary runs keep the default, so that a goroutine's unexpected
/// exception still stops CI loudly.
/// </remarks>
internal static class MutationRun
{
    /// <summary>True when <c>WEFT_MUTATION</c> is 1.</summary>
    internal static readonly bool Active = Parse(Environment.GetEnvironmentVariable("WEFT_MUTATION"));

    internal static bool Parse(string? v) => v switch
    {
        null or "" or "0" => false,
        "1" => true,
        _ => throw new InvalidOperationException($"WEFT_MUTATION='{v}' is not valid: expected 1 (a mutation run) or 0 or unset (an ordinary run)."),
    };

    [ModuleInitializer]
    internal static void Install()
    {
        if (!Active) return;
        Go.UnhandledException += static (_, e) =>
            Console.Error.WriteLine($"weft tests (mutation run): goroutine started at {e.StartedAt} ended with {e.Exception.GetType().Name}: {e.Exception.Message}");
        AppDomain.CurrentDomain.UnhandledException += static (_, e) => StopThisThread(DebugAsserts.Log, e.ExceptionObject);
    }

    /// <summary>
    /// An exception that escapes any thread: one the runtime throws on an M outside a goroutine's body (a mutated
    /// commit step), or one thrown on a plain thread a test started. The runtime calls this on the thread that threw,
    /// before it ends the process; a handler that never returns keeps the host alive. The exception is recorded as the
    /// run's violation, so every bounded wait of the tests fails at once with it (DebugAsserts), and the thread stops
    /// here for good, as a failed invariant check stops a Weft thread.
    /// </summary>
    internal static void StopThisThread(InvariantLog log, object exception)
    {
        var thread = Thread.CurrentThread.Name ?? Environment.CurrentManagedThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var error = new InvariantViolatedException($"An exception escaped thread {thread}: {exception}");
        log.Record(error);
        Console.Error.WriteLine($"weft tests (mutation run): that thread stops here so that the test host lives on: {error.Message}");
        Thread.Sleep(Timeout.Infinite);
    }
}
