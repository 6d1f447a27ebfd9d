using System.Runtime.CompilerServices;

namespace Weft.Tests;

/// <summary>
/// What changes in a mutation run (<c>WEFT_MUTATION=1</c>, set by <c>tests/mutation/run.sh</c>): an exception that
/// escapes a goroutine is printed and the test host lives on, instead of ending the process as Weft does by default.
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
    }
}
