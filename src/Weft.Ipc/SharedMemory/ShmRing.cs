// ShmRing — a bounded multi-producer, multi-consumer queue of byte messages in a named POSIX shared-memory segment,
// usable by any number of processes at once: the core that the shared-memory channel (issue 17) will put behind
// Chan<T>. This first piece has the segment, the ring, exact close and thread waits on shared futexes; the Chan<T>
// flavour, goroutine waits through the netpoller, and crash recovery are not here yet (see the end).
//
// The segment
//   shm_open("/name", O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC, 0600), sized with fallocate (not ftruncate: on a full tmpfs
//   ftruncate succeeds and the first touch of a missing page kills the process with SIGBUS; fallocate fails at
//   creation with ENOSPC, which becomes a clear error), then mapped MAP_SHARED. Open checks, each failure naming what
//   it found and what it expected: the owner is this user and the mode is 0600, the size covers a header, the magic,
//   the layout version, the caller's fingerprint (what the messages mean) and, when given, the capacity and the
//   message size. The creator unlinks the name on Dispose; TryRemoveStale unlinks one a dead creator left behind.
//
// Layout (little-endian, offsets in bytes)
//   header, one 4 KiB page: 0 magic u64 | 8 version u32 | 12 capacity u32 | 16 max message u32 | 20 slot stride u32
//     | 24 fingerprint u64 | 64 tail u64 (its own cache line) | 128 head u64 (its own) | 192 data futex i32,
//     196 readers waiting i32 | 256 space futex i32, 260 writers waiting i32.
//   slots from 4096, each `stride` bytes: seq u64 | length u32 | unused u32 | payload (max message bytes), the stride
//   rounded up to 8. Rejected: a stride of a whole cache line per slot, which keeps two writers of neighbouring slots
//   off each other's line but doubles the segment for small messages; the head and tail, where every participant
//   meets, do get their own lines.
//
// The ring (Vyukov's bounded MPMC queue, with positions that never wrap: 63 bits at a billion messages a second last
// three centuries). Slot i starts with seq = i.
//   write: read tail = t (acquire); if t carries the close mark, the ring is closed. Read the slot's seq (acquire).
//     seq == t: the slot is free for position t; claim it by CAS tail t -> t+1. seq < t: the slot still holds the
//     message of position t - capacity, so the ring is full. Else another writer claimed t: reload. Having claimed,
//     copy the length and payload, then publish with a release store seq = t+1. The release orders the copy before
//     the seq a reader acquires, so a reader that sees t+1 sees the whole message.
//   read: read head = h; the slot's seq (acquire). seq == h+1: committed; claim by CAS head h -> h+1, copy out, then
//     free the slot with a release store seq = h + capacity, which orders the copy-out before any writer of position
//     h + capacity (which acquires that seq) overwrites the payload. seq < h+1: nothing committed at h: empty (or a
//     writer is between its claim and its commit: the reader waits for that commit like for any other).
//   The CASes are full fences; the only other cross-participant orderings are the seq release/acquire pairs above.
//
// Close (exact, as in Go: everything committed before the close is still received, then ok = false)
//   Close sets the top bit of tail (the close mark) with one atomic OR. A writer's claim is a CAS on tail, so after the
//   mark no claim succeeds, and a writer that claimed before it completes its commit normally. A reader that finds
//   the ring empty at head h and the tail marked with position h knows nothing more can come: closed and drained.
//   If the tail is marked at a position beyond h, a claimed message is still being copied, and the reader waits for
//   its commit.
//
// Waiting (threads; goroutines will wait through the netpoller, as the issue asks)
//   Each direction has a futex word and a count of waiters, in the segment, shared between processes (no
//   FUTEX_PRIVATE_FLAG). A reader that finds nothing: increment the waiters count (a full fence), read the futex word
//   v, try again, and only then futex_wait(word, v). A writer after its commit: a full fence, then if the count is not
//   zero, increment the word and futex_wake. Either the reader's second try sees the commit, or the writer sees the
//   count and changes the word, so the wait returns at once (the Dekker pair of the two fences). An uncontended
//   write therefore makes no system call. A cancellation token's callback bumps the word and wakes every waiter (a
//   spurious wake-up in another process only costs it one more try). No timed polling anywhere.
//
// Not yet (issue 17): the Chan<T> flavour over the transport seam; goroutine and select waits through the netpoller
// (a per-reader doorbell); liveness (an OFD lock per participant) and the recovery of a slot claimed or taken by a
// process killed mid-copy; the kill -9 tests; the named semaphore and the robust mutex.

using System.Runtime.CompilerServices;
using Weft.Ipc.Interop;

namespace Weft.Ipc.SharedMemory;

internal sealed unsafe class ShmRing : IDisposable
{
    internal const ulong Magic = 0x314D48535446_4557; // "WEFTSHM1" read little-endian
    internal const uint Version = 1;
    internal const int HeaderSize = 4096;
    internal const int MaxCapacity = 1 << 20;
    internal const int MaxMessage = 1 << 20;
    internal const long MaxSegment = 1L << 32;
    private const ulong CloseMark = 1UL << 63;

    private const int OffMagic = 0, OffVersion = 8, OffCapacity = 12, OffMaxMessage = 16, OffStride = 20,
        OffFingerprint = 24, OffTail = 64, OffHead = 128, OffData = 192, OffReaders = 196, OffSpace = 256,
        OffWriters = 260;

    private readonly byte* _base;
    private readonly long _size;
    private readonly int _fd;
    private readonly bool _creator;
    private readonly ulong _mask;
    private readonly int _stride;
    private int _disposed;

    /// <summary>The name as given (without the leading slash).</summary>
    public string Name { get; }

    /// <summary>How many messages the ring holds.</summary>
    public int Capacity { get; }

    /// <summary>The largest message, in bytes.</summary>
    public int MaxMessageSize { get; }

    private ShmRing(string name, int fd, byte* mapped, long size, bool creator)
    {
        Name = name;
        _fd = fd;
        _base = mapped;
        _size = size;
        _creator = creator;
        Capacity = (int)*(uint*)(mapped + OffCapacity);
        MaxMessageSize = (int)*(uint*)(mapped + OffMaxMessage);
        _stride = (int)*(uint*)(mapped + OffStride);
        _mask = (ulong)Capacity - 1;
    }

    private static string CheckName(string name) => IpcNames.ToPath(name, "Shared-memory");

    private static int Stride(int maxMessage) => (16 + maxMessage + 7) & ~7;

    /// <summary>
    /// Creates the segment <paramref name="name"/> (it must not exist) with room for <paramref name="capacity"/>
    /// messages of at most <paramref name="maxMessage"/> bytes, tagged with <paramref name="fingerprint"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A bad name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Capacity not a power of two from 2 to 2^20, a message size outside 1 to 2^20, or a segment over 4 GiB.</exception>
    /// <exception cref="IpcException">The name exists (EEXIST), the tmpfs is full (ENOSPC), or another call failed.</exception>
    public static ShmRing Create(string name, int capacity, int maxMessage, ulong fingerprint)
    {
        string path = CheckName(name);
        if (capacity < 2 || capacity > MaxCapacity || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"The capacity must be a power of two from 2 to {MaxCapacity}.");
        if (maxMessage < 1 || maxMessage > MaxMessage)
            throw new ArgumentOutOfRangeException(nameof(maxMessage), maxMessage, $"The message size must be from 1 to {MaxMessage} bytes.");
        long size = HeaderSize + (long)capacity * Stride(maxMessage);
        if (size > MaxSegment)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"{capacity} slots of {maxMessage} bytes need {size} bytes; a segment is at most {MaxSegment} bytes.");

        int fd = Libc.ShmOpen(path, Libc.O_CREAT | Libc.O_EXCL | Libc.O_RDWR | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, 0b110_000_000);
        if (fd < 0) throw Errno.Fail("shm_open", path);
        byte* mapped = null;
        try
        {
            if (Libc.Fallocate(fd, 0, 0, size) != 0)
            {
                var e = Errno.Fail("fallocate", path);
                throw e.Errno == Libc.ENOSPC
                    ? new IpcException(e.Call, path, e.Errno, $"{e.Message} The shared-memory filesystem (/dev/shm) has no room for {size} bytes; free space or use a smaller capacity.")
                    : e;
            }
            mapped = Map(fd, size, path);
            var header = new Span<byte>(mapped, HeaderSize);
            header.Clear();
            *(uint*)(mapped + OffVersion) = Version;
            *(uint*)(mapped + OffCapacity) = (uint)capacity;
            *(uint*)(mapped + OffMaxMessage) = (uint)maxMessage;
            *(uint*)(mapped + OffStride) = (uint)Stride(maxMessage);
            *(ulong*)(mapped + OffFingerprint) = fingerprint;
            for (int i = 0; i < capacity; i++) *(ulong*)(mapped + HeaderSize + (long)i * Stride(maxMessage)) = (ulong)i;
            // The magic last, with a release store: a participant that opens the name before this point sees no magic
            // and is refused, never a half-built ring.
            Volatile.Write(ref *(ulong*)(mapped + OffMagic), Magic);
            return new ShmRing(name, fd, mapped, size, creator: true);
        }
        catch
        {
            if (mapped is not null) Libc.Munmap((nint)mapped, (nint)size);
            Libc.Close(fd);
            Libc.ShmUnlink(path);
            throw;
        }
    }

    /// <summary>
    /// Opens the existing segment <paramref name="name"/>, checking its owner and mode, magic, layout version,
    /// <paramref name="fingerprint"/> and, when not zero, <paramref name="capacity"/> and <paramref name="maxMessage"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A bad name.</exception>
    /// <exception cref="IpcException">The name does not exist (ENOENT) or a call failed.</exception>
    /// <exception cref="InvalidDataException">A check failed; the message names what was found and what was expected.</exception>
    public static ShmRing Open(string name, ulong fingerprint, int capacity = 0, int maxMessage = 0)
    {
        string path = CheckName(name);
        int fd = Libc.ShmOpen(path, Libc.O_RDWR | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, 0);
        if (fd < 0) throw Errno.Fail("shm_open", path);
        byte* mapped = null;
        long size = 0;
        try
        {
            var (uid, mode, fileSize) = Libc.StatDescriptor(fd, path);
            uint me = Libc.GetUid();
            CheckOwner(path, uid, mode, me);
            if (fileSize < HeaderSize)
                throw new InvalidDataException($"Shared-memory segment {path} is {fileSize} bytes, smaller than a Weft ring's {HeaderSize}-byte header: not a Weft ring, or its creator has not sized it yet.");
            size = fileSize;
            mapped = Map(fd, size, path);
            ulong magic = Volatile.Read(ref *(ulong*)(mapped + OffMagic));
            if (magic != Magic)
                throw new InvalidDataException($"Shared-memory segment {path} has magic 0x{magic:x16}, expected 0x{Magic:x16}: not a Weft ring, or one still being created.");
            uint version = *(uint*)(mapped + OffVersion);
            if (version != Version)
                throw new InvalidDataException($"Shared-memory segment {path} has layout version {version}; this build reads version {Version}.");
            ulong found = *(ulong*)(mapped + OffFingerprint);
            if (found != fingerprint)
                throw new InvalidDataException($"Shared-memory segment {path} carries fingerprint 0x{found:x16}, this side expects 0x{fingerprint:x16}: the two sides disagree on what the messages are.");
            uint cap = *(uint*)(mapped + OffCapacity), max = *(uint*)(mapped + OffMaxMessage), stride = *(uint*)(mapped + OffStride);
            if (capacity != 0 && cap != capacity)
                throw new InvalidDataException($"Shared-memory segment {path} holds {cap} messages; this side expects {capacity}.");
            if (maxMessage != 0 && max != maxMessage)
                throw new InvalidDataException($"Shared-memory segment {path} takes messages of up to {max} bytes; this side expects {maxMessage}.");
            if (cap < 2 || cap > MaxCapacity || (cap & (cap - 1)) != 0 || max < 1 || max > MaxMessage || stride != Stride((int)max)
                || HeaderSize + (long)cap * stride > size)
                throw new InvalidDataException($"Shared-memory segment {path} has an inconsistent header (capacity {cap}, message size {max}, stride {stride}, {size} bytes).");
            return new ShmRing(name, fd, mapped, size, creator: false);
        }
        catch
        {
            if (mapped is not null) Libc.Munmap((nint)mapped, (nint)size);
            Libc.Close(fd);
            throw;
        }
    }

    /// <summary>The owner check of <see cref="Open"/>, apart so that tests can give it a uid that is not this user's.</summary>
    internal static void CheckOwner(string path, uint uid, uint mode, uint me)
    {
        if (uid != me)
            throw new InvalidDataException($"Shared-memory segment {path} belongs to uid {uid}, not to this user (uid {me}); refusing to use it.");
        if ((mode & 0x1FF) != 0b110_000_000)
            throw new InvalidDataException($"Shared-memory segment {path} has mode {Convert.ToString(mode & 0x1FF, 8)}; a Weft ring must be 600 (read and write for its owner only).");
    }

    private static byte* Map(int fd, long size, string path)
    {
        nint p = Libc.Mmap(0, (nint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (p == -1) throw Errno.Fail("mmap", path);
        return (byte*)p;
    }

    /// <summary>Unlinks a segment a dead creator left behind. True if it existed.</summary>
    /// <exception cref="ArgumentException">A bad name.</exception>
    /// <exception cref="IpcException">shm_unlink failed for a reason other than ENOENT.</exception>
    public static bool TryRemoveStale(string name)
    {
        string path = CheckName(name);
        if (Libc.ShmUnlink(path) == 0) return true;
        var e = Errno.Fail("shm_unlink", path);
        return e.Errno == Libc.ENOENT ? false : throw e;
    }

    private ref ulong Tail => ref *(ulong*)(_base + OffTail);
    private ref ulong Head => ref *(ulong*)(_base + OffHead);
    private byte* Slot(ulong pos) => _base + HeaderSize + (long)(pos & _mask) * _stride;

    /// <summary>True once <see cref="Close"/> ran in any participant.</summary>
    public bool IsClosed => (Volatile.Read(ref Tail) & CloseMark) != 0;

    /// <summary>The number of committed and claimed messages not yet read: a snapshot.</summary>
    public int Count
    {
        get
        {
            ulong head = Volatile.Read(ref Head), tail = Volatile.Read(ref Tail) & ~CloseMark;
            return tail > head ? (int)Math.Min(tail - head, (ulong)Capacity) : 0;
        }
    }

    /// <summary>Writes <paramref name="message"/> if a slot is free. False if the ring is full.</summary>
    /// <exception cref="ArgumentException">The message is longer than <see cref="MaxMessageSize"/>.</exception>
    /// <exception cref="ChannelClosedException">The ring was closed.</exception>
    public bool TryWrite(ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxMessageSize)
            throw new ArgumentException($"A message of {message.Length} bytes is longer than this ring's maximum of {MaxMessageSize}.", nameof(message));
        ThrowIfDisposed();
        ulong pos = Volatile.Read(ref Tail);
        while (true)
        {
            if ((pos & CloseMark) != 0) throw new ChannelClosedException();
            byte* slot = Slot(pos);
            ulong seq = Volatile.Read(ref *(ulong*)slot);
            long dif = (long)(seq - pos);
            if (dif == 0)
            {
                ulong seen = Interlocked.CompareExchange(ref Tail, pos + 1, pos);
                if (seen == pos)
                {
                    *(uint*)(slot + 8) = (uint)message.Length;
                    message.CopyTo(new Span<byte>(slot + 16, MaxMessageSize));
                    Volatile.Write(ref *(ulong*)slot, pos + 1); // commit: pairs with the reader's acquire of seq
                    Notify(OffData, OffReaders);
                    return true;
                }
                pos = seen;
            }
            else if (dif < 0)
            {
                return false;
            }
            else
            {
                pos = Volatile.Read(ref Tail);
            }
        }
    }

    /// <summary>
    /// Reads the oldest committed message into <paramref name="buffer"/>. False if none is committed;
    /// <paramref name="closed"/> is then true when the ring is closed and drained (no message will ever come).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="buffer"/> is shorter than <see cref="MaxMessageSize"/>.</exception>
    public bool TryRead(Span<byte> buffer, out int length, out bool closed)
    {
        if (buffer.Length < MaxMessageSize)
            throw new ArgumentException($"The buffer must hold this ring's largest message, {MaxMessageSize} bytes; it has {buffer.Length}.", nameof(buffer));
        ThrowIfDisposed();
        ulong pos = Volatile.Read(ref Head);
        while (true)
        {
            byte* slot = Slot(pos);
            ulong seq = Volatile.Read(ref *(ulong*)slot);
            long dif = (long)(seq - (pos + 1));
            if (dif == 0)
            {
                ulong seen = Interlocked.CompareExchange(ref Head, pos + 1, pos);
                if (seen == pos)
                {
                    length = (int)*(uint*)(slot + 8);
                    new ReadOnlySpan<byte>(slot + 16, length).CopyTo(buffer);
                    Volatile.Write(ref *(ulong*)slot, pos + (ulong)Capacity); // free: pairs with the next writer's acquire
                    Notify(OffSpace, OffWriters);
                    closed = false;
                    return true;
                }
                pos = seen;
            }
            else if (dif < 0)
            {
                // Nothing committed at pos. Closed and drained only if the close mark sits exactly here.
                length = 0;
                closed = Volatile.Read(ref Tail) == (pos | CloseMark);
                return false;
            }
            else
            {
                pos = Volatile.Read(ref Head);
            }
        }
    }

    /// <summary>Writes <paramref name="message"/>, blocking the thread while the ring is full.</summary>
    /// <exception cref="ArgumentException">The message is too long.</exception>
    /// <exception cref="ChannelClosedException">The ring was closed (before or while waiting).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the message was written; then it was not written.</exception>
    public void Write(ReadOnlySpan<byte> message, CancellationToken cancellationToken = default)
    {
        while (!TryWrite(message))
        {
            cancellationToken.ThrowIfCancellationRequested();
            WaitFor(forWrite: true, cancellationToken);
        }
    }

    /// <summary>
    /// Reads the oldest message into <paramref name="buffer"/>, blocking the thread while the ring is empty. False when
    /// the ring is closed and drained.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="buffer"/> is too short.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a message was read; then none was taken.</exception>
    public bool Read(Span<byte> buffer, out int length, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (TryRead(buffer, out length, out bool closed)) return true;
            if (closed) return false;
            cancellationToken.ThrowIfCancellationRequested();
            WaitFor(forWrite: false, cancellationToken);
        }
    }

    private bool HasSpace()
    {
        ulong pos = Volatile.Read(ref Tail) & ~CloseMark;
        return (long)(Volatile.Read(ref *(ulong*)Slot(pos)) - pos) >= 0;
    }

    private bool HasCommittedOrClosed()
    {
        ulong pos = Volatile.Read(ref Head);
        return Volatile.Read(ref *(ulong*)Slot(pos)) == pos + 1 || Volatile.Read(ref Tail) == (pos | CloseMark);
    }

    /// <summary>One futex sleep of the waiting protocol above; returns to the caller's retry loop.</summary>
    private void WaitFor(bool forWrite, CancellationToken cancellationToken)
    {
        int* word = (int*)(_base + (forWrite ? OffSpace : OffData));
        int* waiters = (int*)(_base + (forWrite ? OffWriters : OffReaders));
        Interlocked.Increment(ref *waiters); // a full fence: the Dekker pair with Notify's fence
        try
        {
            int v = Volatile.Read(ref *word);
            if (forWrite ? IsClosed || HasSpace() : HasCommittedOrClosed()) return;
            CancellationTokenRegistration registration = default;
            if (cancellationToken.CanBeCanceled)
                registration = cancellationToken.UnsafeRegister(static o => ((ShmRing)o!).WakeAll(), this);
            try
            {
                if (!cancellationToken.IsCancellationRequested) Libc.FutexWait(word, v, -1);
            }
            finally
            {
                registration.Dispose();
            }
        }
        finally
        {
            Interlocked.Decrement(ref *waiters);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Notify(int wordOffset, int waitersOffset)
    {
        Interlocked.MemoryBarrier(); // pairs with the waiter's increment: see "Waiting"
        if (Volatile.Read(ref *(int*)(_base + waitersOffset)) != 0) Wake(wordOffset, 1);
    }

    private void Wake(int wordOffset, int count)
    {
        int* word = (int*)(_base + wordOffset);
        Interlocked.Increment(ref *word);
        Libc.FutexWake(word, count);
    }

    private void WakeAll()
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        Wake(OffData, int.MaxValue);
        Wake(OffSpace, int.MaxValue);
    }

    /// <summary>
    /// Closes the ring for every participant: writes fail from now on, and readers receive every message committed
    /// before, then learn that the ring is closed. Idempotent.
    /// </summary>
    public void Close()
    {
        ThrowIfDisposed();
        Interlocked.Or(ref Tail, CloseMark);
        WakeAll();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Unmaps the segment and closes its descriptor; the creator also unlinks the name.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Libc.Munmap((nint)_base, (nint)_size);
        Libc.Close(_fd);
        if (_creator) Libc.ShmUnlink("/" + Name);
    }
}
