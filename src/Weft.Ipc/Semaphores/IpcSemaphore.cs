// IpcSemaphore — a POSIX named semaphore (sem_open), shared by every process that opens the name, C programs
// included. .NET's Semaphore takes a name only on Windows (on Linux a named one throws PlatformNotSupportedException).
//
// Waiting
//   A thread waits in sem_wait. A goroutine must not: it would hold its M, and with it a processor, until the count
//   rises (sysmon would hand the processor off after the blocking threshold, but every such wait would cost that).
//   AcquireAsync takes a permit at once if one is free (sem_trywait), and otherwise runs the blocking wait on
//   Go.BlockingExecutor, so only the waiting goroutine parks. Rejected: a futex semaphore of our own in shared memory,
//   which the netpoller could watch without a thread, because it would not interoperate with C programs that use
//   sem_open; that one is the shared-memory ring's business (ShmRing), not this type's.
//
// Cancellation
//   sem_wait cannot be interrupted except by a signal, so a wait with a token that can be cancelled waits in
//   sem_timedwait slices and looks at the token between them (a cancelled wait returns within one slice). Slices are
//   never used without a token. The permit is never lost to a cancelled waiter: AcquireAsync does not hand its token
//   to BlockingAsync (which would stop waiting for the call while the call might still take the permit); the
//   blocking call itself looks at the token, and either takes the permit and reports it, or gives up without it.
//
// The fast path
//   An uncontended Acquire is one sem_trywait and a Release one sem_post: both are atomics on the shared count in
//   glibc, so the P/Invoke's own cost dominated (the GC transition to and from preemptive mode, and SetLastError's
//   clearing and saving of errno around each call). So both are declared [SuppressGCTransition] without SetLastError
//   (Libc.Semaphore.cs), and errno is read directly, only when a call failed: with the transition suppressed no
//   runtime code runs between the call and that read, so nothing can overwrite errno. Acquire tries sem_trywait first
//   and falls back to sem_wait (a normal P/Invoke with the transition: it blocks). sem_post enters the kernel only
//   when a thread waits in sem_wait (glibc's waiter count), and then for a FUTEX_WAKE, which never sleeps and takes
//   a few microseconds at most; holding off a GC suspension for that long is the price, judged acceptable because it
//   is bounded and happens only with a waiter, who was blocked anyway. Rejected: reading glibc's sem_t layout to post
//   through the transition only when there are waiters (a private layout, glibc may change it); sem_wait without the
//   transition (it blocks, and a thread blocked in cooperative mode stalls every GC).
//
// Invariants
//   * A permit taken is reported to exactly one caller (a return, never an exception after a decrement).
//   * The name is "/" + a checked name; the creator's mode is 0600 (the umask can only remove bits).

using System.Runtime.InteropServices;
using Weft.Ipc.Interop;

namespace Weft.Ipc;

/// <summary>
/// A counting semaphore with a name, shared between processes (POSIX <c>sem_open</c>): any process, including a C
/// program, that opens the same name shares the count.
/// </summary>
/// <remarks>
/// Threads wait with <see cref="Acquire"/>; goroutines with <see cref="AcquireAsync"/>, which parks only the calling
/// goroutine. The semaphore stays in the system (as <c>/dev/shm/sem.NAME</c>) until <see cref="Unlink"/>, even after
/// every process closed it.
/// </remarks>
/// <example><code>
/// using var slots = IpcSemaphore.Create("render-slots", initialCount: 4);
/// await slots.AcquireAsync();
/// try { await Render(); } finally { slots.Release(); }
/// </code></example>
public sealed class IpcSemaphore : IDisposable
{
    private static readonly TimeSpan s_slice = TimeSpan.FromMilliseconds(50);

    private nint _sem;

    private IpcSemaphore(string name, nint sem)
    {
        Name = name;
        _sem = sem;
    }

    /// <summary>The semaphore's name, as given (without the leading slash).</summary>
    public string Name { get; }

    private static string PathOf(string name) => IpcNames.ToPath(name, "Semaphore");

    /// <summary>Creates the semaphore <paramref name="name"/> with <paramref name="initialCount"/> permits; it must not exist.</summary>
    /// <param name="name">1 to 200 characters from A-Z, a-z, 0-9, '.', '_' and '-'.</param>
    /// <param name="initialCount">The permits it starts with, 0 or more.</param>
    /// <returns>The open semaphore.</returns>
    /// <exception cref="ArgumentException">A bad name.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCount"/> is negative.</exception>
    /// <exception cref="IpcException">The name exists (<c>EEXIST</c>), or <c>sem_open</c> failed otherwise.</exception>
    /// <example><code>using var s = IpcSemaphore.Create("jobs", 0);</code></example>
    public static IpcSemaphore Create(string name, int initialCount)
    {
        string path = PathOf(name);
        ArgumentOutOfRangeException.ThrowIfNegative(initialCount);
        nint sem = Libc.SemOpenCreate(path, Libc.O_CREAT | Libc.O_EXCL, 0b110_000_000, (uint)initialCount);
        if (sem == 0) throw Errno.Fail("sem_open", path);
        return new IpcSemaphore(name, sem);
    }

    /// <summary>Opens the existing semaphore <paramref name="name"/>.</summary>
    /// <param name="name">The name it was created with.</param>
    /// <returns>The open semaphore.</returns>
    /// <exception cref="ArgumentException">A bad name.</exception>
    /// <exception cref="IpcException">It does not exist (<c>ENOENT</c>), or this user may not open it (<c>EACCES</c>).</exception>
    /// <example><code>using var s = IpcSemaphore.Open("jobs");</code></example>
    public static IpcSemaphore Open(string name)
    {
        string path = PathOf(name);
        nint sem = Libc.SemOpen(path, 0);
        if (sem == 0) throw Errno.Fail("sem_open", path);
        return new IpcSemaphore(name, sem);
    }

    /// <summary>Removes the name from the system; processes that have it open keep using it. False if it did not exist.</summary>
    /// <param name="name">The semaphore's name.</param>
    /// <returns>True if the name existed.</returns>
    /// <exception cref="ArgumentException">A bad name.</exception>
    /// <exception cref="IpcException"><c>sem_unlink</c> failed for a reason other than <c>ENOENT</c>.</exception>
    /// <example><code>IpcSemaphore.Unlink("jobs");</code></example>
    public static bool Unlink(string name)
    {
        string path = PathOf(name);
        if (Libc.SemUnlink(path) == 0) return true;
        var e = Errno.Fail("sem_unlink", path);
        return e.Errno == Libc.ENOENT ? false : throw e;
    }

    private nint Handle
    {
        get
        {
            nint sem = Volatile.Read(ref _sem);
            ObjectDisposedException.ThrowIf(sem == 0, this);
            return sem;
        }
    }

    /// <summary>The number of free permits now: a snapshot, stale as soon as it is read.</summary>
    /// <exception cref="ObjectDisposedException">The semaphore was disposed.</exception>
    public unsafe int CurrentCount
    {
        get
        {
            int value;
            if (Libc.SemGetValue(Handle, &value) != 0) throw Errno.Fail("sem_getvalue", "/" + Name);
            return Math.Max(0, value);
        }
    }

    /// <summary>Takes a permit if one is free, without waiting.</summary>
    /// <returns>True if a permit was taken.</returns>
    /// <exception cref="ObjectDisposedException">The semaphore was disposed.</exception>
    /// <example><code>if (s.TryAcquire()) { try { Work(); } finally { s.Release(); } }</code></example>
    public bool TryAcquire() => TryAcquire(Handle);

    /// <summary>One sem_trywait without the GC transition (see "The fast path"); errno is read only on failure.</summary>
    private bool TryAcquire(nint sem)
    {
        while (true)
        {
            if (Libc.SemTryWaitFast(sem) == 0) return true;
            int errno = Marshal.GetLastSystemError();
            if (errno == Libc.EAGAIN) return false;
            if (errno != Libc.EINTR) throw Errno.Fail("sem_trywait", "/" + Name, errno);
        }
    }

    /// <summary>Takes a permit, blocking the calling thread until one is free. For threads; goroutines use <see cref="AcquireAsync"/>.</summary>
    /// <param name="cancellationToken">Gives up the wait; then no permit was taken. Seen within a short slice.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled before a permit was taken.</exception>
    /// <exception cref="ObjectDisposedException">The semaphore was disposed.</exception>
    /// <example><code>s.Acquire(); try { Work(); } finally { s.Release(); }</code></example>
    public void Acquire(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (TryAcquire(Handle)) return;
        if (!WaitOne(cancellationToken)) throw new OperationCanceledException(cancellationToken);
    }

    /// <summary>True when a permit was taken; false only when the token was cancelled first.</summary>
    private unsafe bool WaitOne(CancellationToken cancellationToken)
    {
        nint sem = Handle;
        if (!cancellationToken.CanBeCanceled)
        {
            while (Libc.SemWait(sem) != 0)
            {
                var e = Errno.Fail("sem_wait", "/" + Name);
                if (e.Errno != Libc.EINTR) throw e;
            }
            return true;
        }
        while (true)
        {
            if (cancellationToken.IsCancellationRequested) return false;
            Libc.Timespec deadline;
            if (Libc.ClockGetTime(Libc.CLOCK_REALTIME, &deadline) != 0) throw Errno.Fail("clock_gettime");
            deadline.Nanoseconds += (long)s_slice.TotalMilliseconds * 1_000_000L;
            deadline.Seconds += deadline.Nanoseconds / 1_000_000_000L;
            deadline.Nanoseconds %= 1_000_000_000L;
            if (Libc.SemTimedWait(sem, &deadline) == 0) return true;
            var e = Errno.Fail("sem_timedwait", "/" + Name);
            if (e.Errno is not (Libc.ETIMEDOUT or Libc.EINTR)) throw e;
        }
    }

    /// <summary>
    /// Takes a permit; a goroutine that has to wait parks alone (the wait runs on <see cref="Go.BlockingExecutor"/>),
    /// and so does plain async code.
    /// </summary>
    /// <param name="cancellationToken">Gives up the wait; then no permit was taken. Seen within a short slice.</param>
    /// <returns>A task that completes once the permit is taken.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled before a permit was taken.</exception>
    /// <exception cref="ObjectDisposedException">The semaphore was disposed.</exception>
    /// <example><code>await s.AcquireAsync(ct); try { await Work(); } finally { s.Release(); }</code></example>
    public Task AcquireAsync(CancellationToken cancellationToken = default)
    {
        // Not an async method: the uncontended path (see "The fast path") returns the completed task without building
        // a state machine. Failures still come back in the task, as an async method's would: a cancelled token as a
        // cancelled task, a disposed semaphore or a failed sem_trywait as a faulted one.
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled(cancellationToken);
        try
        {
            if (TryAcquire()) return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
        return WaitAsync(cancellationToken);
    }

    private async Task WaitAsync(CancellationToken cancellationToken)
    {
        // The token goes to the blocking call only: BlockingAsync would stop waiting for a call that may still take
        // the permit (see "Cancellation").
        bool taken = await Go.BlockingAsync(() => WaitOne(cancellationToken), CancellationToken.None);
        if (!taken) throw new OperationCanceledException(cancellationToken);
    }

    /// <summary>Returns <paramref name="count"/> permits.</summary>
    /// <param name="count">How many, 1 or more.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1.</exception>
    /// <exception cref="SemaphoreFullException">The count would pass the system's maximum (SEM_VALUE_MAX).</exception>
    /// <exception cref="ObjectDisposedException">The semaphore was disposed.</exception>
    /// <example><code>s.Release();</code></example>
    public void Release(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        nint sem = Handle;
        for (int i = 0; i < count; i++)
        {
            if (Libc.SemPostFast(sem) == 0) continue;
            int errno = Marshal.GetLastSystemError();
            var e = Errno.Fail("sem_post", "/" + Name, errno);
            if (errno == 75) throw new SemaphoreFullException($"Releasing {count} permits of semaphore /{Name} would pass the system's maximum count; {i} were released.");
            throw e;
        }
    }

    /// <summary>Closes this process's handle (<c>sem_close</c>); the semaphore itself stays until <see cref="Unlink"/>.</summary>
    public void Dispose()
    {
        nint sem = Interlocked.Exchange(ref _sem, 0);
        if (sem != 0) Libc.SemClose(sem);
    }
}
