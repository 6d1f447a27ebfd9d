namespace Weft.Sync;

/// <summary>
/// Something that can be locked and unlocked (Go's <c>sync.Locker</c>): <see cref="Mutex"/>, <see cref="RWMutex"/>
/// (its write side) and <see cref="RWMutex.RLocker"/> (its read side). <see cref="Cond"/> waits on any of them.
/// </summary>
/// <remarks>
/// Each form may be called from goroutines, plain async code and threads alike. A cancelled wait leaves nothing
/// held; once a lock call returned (or its task completed) the lock is held, whatever the token says.
/// </remarks>
/// <example>
/// <code>
/// ILocker l = rw.RLocker();
/// await l.LockAsync(ct);
/// try { Read(); } finally { l.Unlock(); }
/// </code>
/// </example>
public interface ILocker
{
    /// <summary>Locks, blocking the calling thread until the lock is available.</summary>
    /// <param name="cancellationToken">Abandons the wait; nothing is then held.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled before the lock was taken.</exception>
    /// <example><code>l.Lock(ct); try { Work(); } finally { l.Unlock(); }</code></example>
    void Lock(CancellationToken cancellationToken = default);

    /// <summary>Locks, parking only the calling goroutine or async method until the lock is available.</summary>
    /// <param name="cancellationToken">Abandons the wait; nothing is then held.</param>
    /// <returns>A <see cref="ValueTask"/> to await once.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before the lock was taken (thrown when awaited).</exception>
    /// <example><code>await l.LockAsync(ct); try { Work(); } finally { l.Unlock(); }</code></example>
    ValueTask LockAsync(CancellationToken cancellationToken = default);

    /// <summary>Unlocks.</summary>
    /// <exception cref="SynchronizationLockException">The lock is not held.</exception>
    /// <example><code>l.Unlock();</code></example>
    void Unlock();
}
