// IpcMutex — a named mutex shared by processes that survives its holder's death: if the holder dies holding it,
// the next locker gets it, together with AbandonedMutexException, as the BCL's own Mutex reports an abandoned mutex
// on Windows (on Linux .NET's named Mutex is process-local).
//
// How
//   The lock is an open-file-description lock (F_OFD_SETLK) on byte 0 of a small 0600 shared-memory object. The kernel
//   releases it when the last descriptor of its description closes, so when the holding process dies, however it
//   dies (kill -9 included), and never because of a pause: a GC pause or a stopped debugger is not death, and no
//   timeout ever declares a holder dead. Beside it, in the object, a "held" word that Lock sets and Unlock clears
//   before it releases the lock. A locker that gets the lock and finds "held" still set knows the previous holder
//   released it without unlocking: it died (or disposed this handle while holding it, which is the same thing).
//
// Why an OFD lock and not a pthread robust mutex in shared memory: a pthread mutex belongs to a thread, and a
// goroutine moves between threads between its Lock and its Unlock (an unlock from another thread fails with EPERM);
// an OFD lock belongs to the open file description, so any thread may release it. It also names no pid, so pid reuse
// cannot confuse it. Rejected as well: a lock word plus a liveness probe (pidfd, /proc) — every probe is either racy
// or a timeout in disguise.
//
// Within one process, OFD locks taken through one description do not exclude each other, so each handle also holds a
// Weft Mutex: goroutines and threads that share a handle queue there first (a goroutine's wait parks only it), and
// two handles in one process exclude each other through the kernel like two processes.
//
// Waiting for the kernel lock
//   Without a cancellation token, a thread sleeps in F_OFD_SETLKW: the kernel wakes it on release, death included.
//   With one, F_OFD_SETLKW cannot be interrupted, so the thread waits on a futex word in the object, which Unlock
//   increments and wakes; the wait has a timeout only so that a holder's death (which releases the lock without
//   touching the word) is noticed: the timeout never decides anything, the kernel lock does. A goroutine's
//   LockAsync runs that wait on Go.BlockingExecutor and looks at the token inside the call, so a cancelled LockAsync
//   never ends up holding the kernel lock unseen.
//
// Invariants
//   * At most one handle, in all processes, holds the kernel lock; a handle holds it only while one of its users is
//     inside Lock..Unlock (_holding).
//   * "held" is 1 exactly while some handle is between its acquisition and its Unlock, or after a holder died and
//     before the next acquisition.

using Weft.Ipc.Interop;
using Weft.Ipc.SharedMemory;

namespace Weft.Ipc;

/// <summary>
/// A mutex with a name, shared between processes, that reports a holder's death: the next locker gets the lock and
/// an <see cref="AbandonedMutexException"/> (the lock is then held, and the data it guards may need repair).
/// </summary>
/// <remarks>
/// Every process opens it with <see cref="OpenOrCreate"/>. Threads lock with <see cref="Lock"/>; goroutines with
/// <see cref="LockAsync"/>, which parks only the calling goroutine. Any goroutine or thread of the process may
/// unlock, as with Weft's <c>Mutex</c>. Disposing a handle while it holds the lock abandons the lock, as the holder's
/// death does. The object stays in <c>/dev/shm</c> until <see cref="Unlink"/>.
/// </remarks>
/// <example><code>
/// using var m = IpcMutex.OpenOrCreate("ledger");
/// try { await m.LockAsync(); }
/// catch (AbandonedMutexException) { RepairLedger(); } // the previous holder died holding it; we hold it now
/// try { Append(entry); } finally { m.Unlock(); }
/// </code></example>
public sealed class IpcMutex : IDisposable
{
    private const ulong Magic = 0x3158544D54464557; // "WEFTMTX1" read little-endian
    private const int Size = 4096;
    private const int OffMagic = 0, OffHeld = 8, OffOwnerPid = 12, OffReleases = 16, OffWaiters = 20;
    private const int DeathCheckMs = 100;

    private readonly string _path;
    private readonly int _fd;
    private readonly nint _base;
    private readonly Weft.Sync.Mutex _local = new();
    private bool _holding; // guarded by _local
    private int _disposed;

    private IpcMutex(string name, string path, int fd, nint mapped)
    {
        Name = name;
        _path = path;
        _fd = fd;
        _base = mapped;
    }

    /// <summary>The mutex's name, as given.</summary>
    public string Name { get; }

    /// <summary>Opens the mutex <paramref name="name"/>, creating it (mode 0600) if it does not exist.</summary>
    /// <param name="name">1 to 200 characters from A-Z, a-z, 0-9, '.', '_' and '-'.</param>
    /// <returns>A handle of this process on the mutex.</returns>
    /// <exception cref="ArgumentException">A bad name.</exception>
    /// <exception cref="InvalidDataException">The object exists but belongs to another user, is not 0600, or is not a Weft mutex.</exception>
    /// <exception cref="IpcException">A system call failed.</exception>
    /// <example><code>using var m = IpcMutex.OpenOrCreate("ledger");</code></example>
    public static unsafe IpcMutex OpenOrCreate(string name)
    {
        string path = IpcNames.ToPath(name, "Mutex");
        int fd = Libc.ShmOpen(path, Libc.O_CREAT | Libc.O_RDWR | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, 0b110_000_000);
        if (fd < 0) throw Errno.Fail("shm_open", path);
        byte* mapped = null;
        try
        {
            var (uid, mode, _) = Libc.StatDescriptor(fd, path);
            ShmRing.CheckOwner(path, uid, mode, Libc.GetUid());
            // Every participant sizes it: fallocate only ever extends, so a creator and an opener racing agree.
            if (Libc.Fallocate(fd, 0, 0, Size) != 0) throw Errno.Fail("fallocate", path);
            nint p = Libc.Mmap(0, Size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
            if (p == -1) throw Errno.Fail("mmap", path);
            mapped = (byte*)p;
            // A zeroed object is an unlocked mutex, so there is nothing to initialise but the magic, claimed by CAS.
            ulong found = Interlocked.CompareExchange(ref *(ulong*)(mapped + OffMagic), Magic, 0);
            if (found is not (0 or Magic))
                throw new InvalidDataException($"Shared-memory object {path} has magic 0x{found:x16}, expected 0x{Magic:x16}: not a Weft mutex.");
            return new IpcMutex(name, path, fd, (nint)mapped);
        }
        catch
        {
            if (mapped is not null) Libc.Munmap((nint)mapped, Size);
            Libc.Close(fd);
            throw;
        }
    }

    /// <summary>Removes the name; handles already open keep working. False if it did not exist.</summary>
    /// <param name="name">The mutex's name.</param>
    /// <returns>True if the name existed.</returns>
    /// <exception cref="ArgumentException">A bad name.</exception>
    /// <exception cref="IpcException"><c>shm_unlink</c> failed for a reason other than <c>ENOENT</c>.</exception>
    /// <example><code>IpcMutex.Unlink("ledger");</code></example>
    public static bool Unlink(string name)
    {
        string path = IpcNames.ToPath(name, "Mutex");
        if (Libc.ShmUnlink(path) == 0) return true;
        var e = Errno.Fail("shm_unlink", path);
        return e.Errno == Libc.ENOENT ? false : throw e;
    }

    private unsafe ref int Word(int offset) => ref *(int*)(_base + offset);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Takes the mutex without waiting, if it is free.</summary>
    /// <returns>True if it was taken.</returns>
    /// <exception cref="AbandonedMutexException">It was taken, and the previous holder had died holding it.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <example><code>if (m.TryLock()) { try { Work(); } finally { m.Unlock(); } }</code></example>
    public bool TryLock()
    {
        ThrowIfDisposed();
        if (!_local.TryLock()) return false;
        if (!Libc.TryOfdLock(_fd, unlock: false, _path))
        {
            _local.Unlock();
            return false;
        }
        MarkHeld();
        return true;
    }

    /// <summary>Takes the mutex, blocking the calling thread. For threads; goroutines use <see cref="LockAsync"/>.</summary>
    /// <param name="cancellationToken">Gives up the wait; then the mutex was not taken.</param>
    /// <exception cref="AbandonedMutexException">It was taken, and the previous holder had died holding it.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the mutex was taken.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <example><code>m.Lock(); try { Work(); } finally { m.Unlock(); }</code></example>
    public void Lock(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        _local.Lock(cancellationToken);
        bool taken = false;
        try
        {
            taken = LockKernel(cancellationToken);
        }
        finally
        {
            if (!taken) _local.Unlock();
        }
        if (!taken) throw new OperationCanceledException(cancellationToken);
        MarkHeld();
    }

    /// <summary>Takes the mutex; a goroutine (or async method) that has to wait parks alone.</summary>
    /// <param name="cancellationToken">Gives up the wait; then the mutex was not taken.</param>
    /// <returns>A task that completes once the mutex is held.</returns>
    /// <exception cref="AbandonedMutexException">It was taken, and the previous holder had died holding it.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the mutex was taken.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <example><code>await m.LockAsync(ct); try { await Work(); } finally { m.Unlock(); }</code></example>
    public async Task LockAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _local.LockAsync(cancellationToken);
        bool taken = false;
        try
        {
            // The token goes into the blocking call, not to BlockingAsync: a call that BlockingAsync stopped waiting
            // for could still take the kernel lock, and nobody would ever release it.
            taken = Libc.TryOfdLock(_fd, unlock: false, _path)
                || await Go.BlockingAsync(() => LockKernel(cancellationToken), CancellationToken.None);
        }
        finally
        {
            if (!taken) _local.Unlock();
        }
        if (!taken) throw new OperationCanceledException(cancellationToken);
        MarkHeld();
    }

    /// <summary>Waits for the kernel lock (see "Waiting for the kernel lock"). True when taken, false when cancelled first.</summary>
    private unsafe bool LockKernel(CancellationToken cancellationToken)
    {
        if (Libc.TryOfdLock(_fd, unlock: false, _path)) return true;
        if (!cancellationToken.CanBeCanceled) return Libc.TryOfdLock(_fd, unlock: false, _path, wait: true);
        int* releases = (int*)(_base + OffReleases);
        using var registration = cancellationToken.UnsafeRegister(static o => ((IpcMutex)o!).WakeWaiters(int.MaxValue), this);
        while (true)
        {
            Interlocked.Increment(ref Word(OffWaiters)); // a full fence: pairs with Unlock's, as in ShmRing
            try
            {
                int v = Volatile.Read(ref *releases);
                if (Libc.TryOfdLock(_fd, unlock: false, _path)) return true;
                if (cancellationToken.IsCancellationRequested) return false;
                Libc.FutexWait(releases, v, DeathCheckMs);
            }
            finally
            {
                Interlocked.Decrement(ref Word(OffWaiters));
            }
        }
    }

    /// <summary>With the kernel lock just taken: sets "held", and reports a holder that died without unlocking.</summary>
    private void MarkHeld()
    {
        _holding = true;
        bool abandoned = Interlocked.Exchange(ref Word(OffHeld), 1) != 0;
        int previous = Interlocked.Exchange(ref Word(OffOwnerPid), Environment.ProcessId);
        if (abandoned)
            throw new AbandonedMutexException($"Mutex {_path} was abandoned: its previous holder (process {previous}) released it without unlocking, by dying or by disposing its handle. This caller holds it now; the data it guards may need repair.");
    }

    /// <summary>Releases the mutex, which this handle holds.</summary>
    /// <exception cref="SynchronizationLockException">This handle does not hold the mutex.</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    /// <example><code>m.Unlock();</code></example>
    public void Unlock()
    {
        ThrowIfDisposed();
        if (!_holding) throw new SynchronizationLockException($"Unlock of mutex {_path}, which this handle does not hold.");
        _holding = false;
        Volatile.Write(ref Word(OffOwnerPid), 0);
        Volatile.Write(ref Word(OffHeld), 0); // before the kernel lock goes: the next holder must not see it set
        Libc.TryOfdLock(_fd, unlock: true, _path);
        Interlocked.Increment(ref Word(OffReleases)); // a full fence, then the waiters count (see LockKernel)
        if (Volatile.Read(ref Word(OffWaiters)) != 0) WakeWaiters(1);
        _local.Unlock();
    }

    private unsafe void WakeWaiters(int count)
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        Libc.FutexWake((int*)(_base + OffReleases), count);
    }

    /// <summary>
    /// Test hook: closes the descriptor and unmaps without unlocking, which is what the kernel does for a process
    /// that dies holding the mutex.
    /// </summary>
    internal void DieForTest() => Dispose();

    /// <summary>Closes this handle. If it holds the mutex, the mutex is abandoned (see <see cref="AbandonedMutexException"/>).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Libc.Munmap(_base, Size);
        Libc.Close(_fd); // releases the kernel lock if held, without clearing "held": an abandonment
    }
}
