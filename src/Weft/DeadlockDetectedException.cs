namespace Weft;

/// <summary>
/// Every goroutine is asleep on a Weft primitive with nothing left that could wake it (see <see cref="DeadlockDetection"/>).
/// The message holds the grouped goroutine summary: what they wait for, for how long, and where they were started.
/// </summary>
public sealed class DeadlockDetectedException : Exception
{
    /// <summary>Go's message for the condition.</summary>
    internal const string GoMessage = "all goroutines are asleep - deadlock!";

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The diagnosis and dump.</param>
    public DeadlockDetectedException(string message) : base(message) { }
}
