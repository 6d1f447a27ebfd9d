namespace Weft;

/// <summary>
/// The data of <see cref="Go.DeadlockDetected"/>: Weft found every goroutine asleep with nothing left that could wake
/// it. Set <see cref="Handled"/> to route the report somewhere else (a logger) instead of standard error.
/// </summary>
public sealed class DeadlockDetectedEventArgs : EventArgs
{
    internal DeadlockDetectedEventArgs(string report, IReadOnlyList<GoroutineGroup> groups, int goroutineCount, DeadlockDetection mode)
    {
        Report = report;
        Groups = groups;
        GoroutineCount = goroutineCount;
        Mode = mode;
    }

    /// <summary>Go's message, <c>all goroutines are asleep - deadlock!</c>: the first line of <see cref="Report"/>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Public API: an event's data is read from the instance the handler receives.")]
    public string Message => Runtime.DeadlockDetector.GoMessage;

    /// <summary>
    /// The whole report as Weft prints it: <see cref="Message"/>, why it is certain, and the grouped goroutine
    /// summary (one line per group). Bounded by the number of distinct groups, not by the number of goroutines.
    /// </summary>
    public string Report { get; }

    /// <summary>The live goroutines, grouped by state, wait reason and origin, largest group first.</summary>
    public IReadOnlyList<GoroutineGroup> Groups { get; }

    /// <summary>How many goroutines were asleep (the sum of the groups' counts).</summary>
    public int GoroutineCount { get; }

    /// <summary>
    /// What Weft does after the handlers return: <see cref="DeadlockDetection.Report"/> keeps the program running,
    /// <see cref="DeadlockDetection.Fail"/> ends it (exit code 2 under <see cref="Go.Main(Func{Task}, string, int)"/>).
    /// </summary>
    public DeadlockDetection Mode { get; }

    /// <summary>
    /// Set to true by a handler that has written the report itself: Weft then does not print it to standard error.
    /// What <see cref="Mode"/> says happens next is unchanged.
    /// </summary>
    public bool Handled { get; set; }
}
