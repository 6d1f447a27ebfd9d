namespace Weft;

/// <summary>What Weft does when every goroutine is asleep (Go's "all goroutines are asleep - deadlock!").</summary>
/// <remarks>
/// The condition: every live goroutine is parked on a Weft primitive (channel, select, sync, sleep without a
/// deadline), no timer is pending, no goroutine waits on a foreign await (I/O, a Task, Go.BlockingAsync), and it has
/// stayed so for 100 ms. Go can be sure no one will wake them because all its code runs in goroutines; a .NET program
/// may also have plain threads that Weft cannot see (one might send on a channel later), which is why the default
/// only reports, and ending the process is opt-in.
/// </remarks>
public enum DeadlockDetection
{
    /// <summary>No detection.</summary>
    Off,

    /// <summary>Print the diagnosis and a goroutine dump to standard error, once per episode, and keep running (the default).</summary>
    Report,

    /// <summary>
    /// Raise a <see cref="DeadlockDetectedException"/> as an unhandled goroutine exception: with no
    /// <see cref="Go.UnhandledException"/> handler the process prints the dump and ends, as a Go program does.
    /// </summary>
    Fail,
}
