namespace Weft.Testing;

/// <summary>
/// Every goroutine in a <see cref="Bubble"/> is durably blocked and no timer is pending, so none can ever run again.
/// The message lists each goroutine: its number, what it waits for, for how long (virtual time) and where it was started.
/// </summary>
public sealed class DeadlockException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="seed">The bubble's seed.</param>
    /// <param name="message">The message, with the goroutine dump.</param>
    public DeadlockException(int seed, string message) : base(message) => Seed = seed;

    /// <summary>The seed of the bubble that deadlocked.</summary>
    public int Seed { get; }
}
