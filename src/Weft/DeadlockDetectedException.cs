namespace Weft;

/// <summary>
/// Every goroutine is asleep on a Weft primitive with nothing left that could wake it (see <see cref="DeadlockDetection"/>).
/// The message holds a dump of every goroutine: what it waits for, for how long, and where it was started.
/// </summary>
public sealed class DeadlockDetectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The diagnosis and dump.</param>
    public DeadlockDetectedException(string message) : base(message) { }
}
