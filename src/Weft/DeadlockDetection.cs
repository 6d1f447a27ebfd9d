namespace Weft;

/// <summary>What a <see cref="Go.Main(Func{Task}, string, int)"/> program does when every goroutine is asleep (Go's "all goroutines are asleep - deadlock!").</summary>
/// <remarks>
/// <para>
/// The condition: every live goroutine, the main one included, is parked on a Weft primitive (channel, select, sync,
/// sleep without a deadline); no Weft or .NET timer is pending; no goroutine waits on a foreign await (I/O, a Task);
/// no ThreadPool work is queued or running; and no thread exists besides Weft's, the runtime's and idle ThreadPool
/// workers; and it has stayed so for 100 ms.
/// </para>
/// <para>
/// Only a program that runs under <see cref="Go.Main(Func{Task}, string, int)"/> or <see cref="Go.RunMain(Func{Task}, string, int)"/>
/// is checked. Elsewhere the main thread (and any thread) is code Weft cannot see, which may send on a channel at
/// any moment, so a report could call a live program deadlocked: Weft reports nothing there, whatever this setting
/// says. Bubbles (<see cref="Testing.Bubble"/>) always detect deadlocks exactly, and fail their test.
/// </para>
/// </remarks>
public enum DeadlockDetection
{
    /// <summary>No detection.</summary>
    Off,

    /// <summary>Print the diagnosis and a grouped goroutine summary to standard error, once per episode, and keep running.</summary>
    Report,

    /// <summary>
    /// Go's behaviour, and the default: print <c>fatal error: all goroutines are asleep - deadlock!</c> and a grouped
    /// goroutine summary to standard error, and end the process with exit code 2.
    /// </summary>
    Fail,
}
