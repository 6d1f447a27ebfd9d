using System.Diagnostics.CodeAnalysis;

namespace Weft.Sync;

/// <summary>Throws for Weft.Sync, so the hot methods that detect misuse stay small enough to inline (STYLE 11).</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void NotLocked(string what) =>
        throw new SynchronizationLockException($"{what} of an unlocked mutex: every Unlock must follow a Lock that succeeded.");

    [DoesNotReturn]
    public static void Canceled(CancellationToken cancellationToken) => throw new OperationCanceledException(cancellationToken);

    [DoesNotReturn]
    public static void ReusedBeforeWaitReturned() =>
        throw new InvalidOperationException("WaitGroup is reused before previous Wait has returned: Add started a new round while the " +
            "waiters of the round that just reached zero were still being released. Add for a new round only after every Wait of the " +
            "previous round has returned (or use a new WaitGroup). The counter is left unchanged.");

    [DoesNotReturn]
    public static void NegativeCounter() =>
        throw new InvalidOperationException("The WaitGroup counter would go negative: Done (or Add with a negative delta) was called more times than Add.");

    [DoesNotReturn]
    public static void Weight(string paramName, long n, long capacity) =>
        throw new ArgumentOutOfRangeException(paramName, n, $"The weight must be from 0 to the semaphore's capacity, {capacity}: a larger request could never be granted.");

    [DoesNotReturn]
    public static void OverRelease(long n, long held) =>
        throw new SemaphoreFullException($"Release({n}) gives back more than is held ({held}): release only what Acquire took.");
}
