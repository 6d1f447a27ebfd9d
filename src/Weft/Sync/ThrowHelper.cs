using System.Diagnostics.CodeAnalysis;

namespace Weft.Sync;

/// <summary>Throws for Weft.Sync, so the hot methods that detect misuse stay small enough to inline (STYLE 11).</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void NotLocked(string what) =>
        throw new SynchronizationLockException($"{what} of an unlocked mutex: every Unlock must follow a Lock that succeeded.");

    [DoesNotReturn]
    public static void NegativeCounter() =>
        throw new InvalidOperationException("The WaitGroup counter would go negative: Done (or Add with a negative delta) was called more times than Add.");

    [DoesNotReturn]
    public static void Weight(string paramName, long n, long capacity) =>
        throw new ArgumentOutOfRangeException(paramName, n, $"The weight must be from 1 to the semaphore's capacity, {capacity}.");

    [DoesNotReturn]
    public static void OverRelease(long n, long held) =>
        throw new SemaphoreFullException($"Release({n}) gives back more than is held ({held}): release only what Acquire took.");
}
