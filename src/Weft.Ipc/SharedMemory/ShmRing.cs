// ShmRing — a bounded multi-producer, multi-consumer queue of byte messages in a named POSIX shared-memory segment,
// usable by any number of processes at once, that survives kill -9 of any of them. It is the core of the
// shared-memory channel (IpcSharedMemory.cs puts it behind Chan<T>). One ShmRing object is one participant: it
// holds a slot in the segment's participant table and a kernel lock that says it is alive.
//
// The segment
//   shm_open("/name", O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC, 0600), sized with fallocate (not ftruncate: on a full tmpfs
//   ftruncate succeeds and the first touch of a missing page kills the process with SIGBUS; fallocate fails at
//   creation with ENOSPC, which becomes a clear error), then mapped MAP_SHARED. Open checks, each failure naming what
//   it found and what it expected: the owner is this user and the mode is 0600, the size covers a header, the magic,
//   the layout version, the caller's fingerprint (what the messages mean) and, when given, the capacity and the
//   message size. The creator unlinks the name on Dispose; TryRemoveStale unlinks one a dead creator left behind.
//
// Layout (little-endian, offsets in bytes; version 2)
//   page 0, the header: 0 magic u64 | 8 version u32 | 12 capacity u32 | 16 max message u32 | 20 slot stride u32
//     | 24 fingerprint u64 | 64 tail u64 (its own cache line) | 128 head u64 (its own) | 192 data futex i32,
//     196 threads waiting for data i32 | 256 space futex i32, 260 threads waiting for space i32 | 320 parked
//     data doorbells i32, 324 parked space doorbells i32 | 384 participant high-water mark i32.
//   page 1, the participant table: 64 records of 64 bytes: state i32 (0 free, 1 attached) | pid i32 | doorbell
//     nonce u64 | parked bits i32 (1: wants data, 2: wants space; 4 and 8: that park's one ring is taken, RingParked).
//     Participant i's liveness lock is the byte at
//     offset 4096 + 64 i (an OFD lock: below).
//   slots from 8192, each `stride` bytes: seq u64 | length u32 | unused u32 | payload, the stride rounded up to 8.
//   Rejected: a cache line per slot (it doubles the segment for small messages; head and tail, where every
//   participant meets, do get their own lines).
//
// The slot word (seq): Vyukov's per-slot sequence number, extended so that a slot in flight names its owner.
//   bits 0-55 a position p, bits 56-61 a participant id, bits 62-63 a state:
//     plain   seq == p: free for the writer of position p; seq == p+1: the message of position p is committed;
//     claimed Claimed(p, w): writer w claimed position p and is copying;
//     taken   Taken(p, r): reader r took position p and is copying out;
//     tomb    Tomb(p): position p's writer died before committing: readers skip it.
//   Positions never wrap: 2^56 messages is two years at a billion a second (the segment must be recreated before).
//   A slot's word for position p goes Free(p) -> Claimed(p, w) -> p+1 or Tomb(p) -> Taken(p, r) -> Free(p+capacity),
//   each step by one participant (or by the recovery below, in place of a dead one). No state of p repeats, so a CAS
//   from a value read earlier can never succeed on a later life of the slot (no ABA).
//
// Write (claim, copy, commit)
//   read tail t (acquire; the top bit of tail is the close mark: closed). The slot's word s:
//     s == Free(t): CAS s -> Claimed(t, me). The claim becomes effective when tail passes t: CAS tail t -> t+1 by
//       the writer or by any helper. If tail turns out marked at t (a close came first), the claim is void: the
//       writer puts Free(t) back (nobody else touches a claimed slot of a live writer) and reports closed.
//     s == Claimed(t, x): another writer claimed t but tail has not moved yet: help (CAS tail t -> t+1), reload.
//     s holds an older position (t - capacity, not yet taken and freed): the ring is full.
//     else tail was stale: reload.
//   Copy: length, then payload, with plain stores into a slot nobody else reads. Commit: a release store s = t+1.
//   The release orders the whole copy before the word a reader acquires.
// Read (take, copy out, free)
//   read head h; the slot's word s (acquire):
//     s == h+1 (committed) or Tomb(h): CAS s -> Taken(h, me) (a full fence: the copy-out sees the committed bytes);
//       then CAS head h -> h+1 (or someone helped). A tomb is freed at once and the read goes on to h+1.
//       Copy out, then free with a release store s = h + capacity: it orders the copy-out before a writer of
//       position h + capacity (which acquires s) overwrites the payload.
//     s == Taken(h, x), or any word of a later position: h is consumed: help (CAS head h -> h+1), reload.
//     s == Free(h), Claimed(h, w) or a word of h - capacity (its reader has not freed it yet): nothing to read.
//   The CASes are full fences; the only other cross-participant orderings are the release/acquire pairs on s.
//
// Close (exact, as in Go: everything committed before the close is still received, then ok = false)
//   Close sets the top bit of tail with one atomic OR. A claim is effective only once tail passes it, so after the
//   mark no claim becomes effective, and a claim made before it commits normally. A reader that finds nothing at
//   head h and tail == h | mark knows nothing more can come: closed and drained. Tail marked beyond h: a claimed
//   message is still being copied (or its writer died, and recovery tombs it): the reader waits for it.
//
// Liveness: what the kernel says, never a timeout
//   Attaching takes the first free participant record whose byte an F_OFD_SETLK write lock can take, on this
//   participant's own open file description of the segment. The kernel drops the lock when the last descriptor of
//   that description closes: at Dispose, or when the process dies however it dies (kill -9 included). It is immune
//   to pid reuse (it names no pid) and a GC pause or a stopped process keeps it. (The mapping references the
//   description as well, so the lock goes when both the descriptor and the mapping are gone, as at exit.) So "participant x is dead" is
//   exactly "no other description holds x's byte" (F_OFD_GETLK), and nothing else, no timeout, ever says it.
//   A record still marked attached when its lock is taken belonged to a process that died: the new owner first
//   recovers every slot that names the old owner, then uses the record (its own claims cannot be confused with the
//   dead one's, because nobody else recovers slots of a record whose lock is held).
//
// Recovery (a slot claimed or taken by a dead participant)
//   A reader that finds Claimed(h, w), or a writer that finds its slot Claimed or Taken by x, read that word s first,
//   then ask the kernel whether x holds its lock. If not, x is dead, and resolved from s with one CAS:
//     Claimed(p, w): tail beyond p: the claim was effective: CAS s -> Tomb(p) (readers skip it); tail == p: make
//       it effective (CAS tail p -> p+1) and tomb it; tail == p | mark: the claim was void: CAS s -> Free(p).
//     Taken(p, r): CAS s -> Free(p + capacity), and help head past p.
//   The memory-ordering argument: the kernel releases the dead process's lock in its exit path, after its last
//   thread stopped, under the kernel's lock-list spinlock; our F_OFD_GETLK takes that spinlock. So every store the
//   dead process made happens before our answer "unlocked", and the word s we read before asking is final if it
//   still names x: x will never store to the slot again. The recovering CAS is from exactly s, so it fails
//   harmlessly if another participant recovered the slot first, and (no state of a position repeats) it can never
//   hit a later claim made by the record's next owner. Reading s before asking matters: a verdict "dead" given
//   before s was read could be about a record that a new, live owner took meanwhile.
//   Waking: a recovery notifies both directions, like a commit and a free. Every participant that parks watches the
//   other processes' pidfds through the netpoller (ShmDoorbell.cs), which become readable when a process exits; the
//   watch only wakes, and the woken participants ask the kernel again. Without it a full ring whose head slot was
//   claimed by a writer that died would wedge: readers wait for the commit, writers for space, and nobody rings.
//
// What a crash can lose, exactly
//   A participant killed at any instant loses only its own messages in flight: (a) a message it claimed and had not
//   committed (tombstoned, skipped by every reader), and (b) a message it had taken and not yet delivered to its
//   Chan's caller (its slot is freed; the value was already out of the ring and dies with the process); plus (c) a
//   sender's one-message outbox (IpcSharedMemory.cs) in the process's own memory. Committed messages of other
//   participants are never lost, duplicated or torn: they are taken once, by a CAS, and copied only after the
//   commit's release.
//
// Waiting (threads)
//   Each direction has a futex word and a count of waiting threads, in the segment, shared between processes (no
//   FUTEX_PRIVATE_FLAG). A reader that finds nothing: increment the count (a full fence), read the futex word v, try
//   again, and only then futex_wait(word, v). A writer after its commit: a full fence, then if the count is not
//   zero, increment the word and futex_wake. Either the reader's second try sees the commit, or the writer sees the
//   count and changes the word, so the wait returns at once (the Dekker pair of the two fences). An uncontended
//   write therefore makes no system call. A cancellation token's callback bumps the word and wakes every waiter (a
//   spurious wake-up in another process only costs it one more try). No timed polling anywhere.
// Waiting (goroutines and selects): per-participant doorbells, rung only when parked; ShmDoorbell.cs. Before parking,
// an optional adaptive spin (WEFT_SHM_SPIN polls, one PAUSE apart as the C floor's; off by default) looks at the ring
// again (SpinUntilReady).

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using Weft.Ipc.Interop;

namespace Weft.Ipc.SharedMemory;

/// <summary>Where a writer stops itself with SIGKILL in the kill -9 tests (<see cref="ShmRing.CrashHook"/>).</summary>
internal enum ShmCrashPoint
{
    /// <summary>The claim is effective (tail moved past it); nothing copied.</summary>
    AfterClaim,

    /// <summary>The length is written, the payload is not.</summary>
    MidCopy,

    /// <summary>Everything is copied; the commit store has not happened.</summary>
    BeforeCommit,

    /// <summary>A reader took a slot and has not copied it out.</summary>
    AfterTake,
}

internal sealed unsafe class ShmRing : IDisposable
{
    internal const ulong Magic = 0x314D48535446_4557; // "WEFTSHM1" read little-endian
    internal const uint Version = 2;
    internal const int HeaderSize = 8192;
    internal const int MaxCapacity = 1 << 20;
    internal const int MaxMessage = 1 << 20;
    internal const long MaxSegment = 1L << 32;
    internal const int MaxParticipants = 64;
    private const ulong CloseMark = 1UL << 63;

    private const int OffMagic = 0, OffVersion = 8, OffCapacity = 12, OffMaxMessage = 16, OffStride = 20,
        OffFingerprint = 24, OffTail = 64, OffHead = 128, OffData = 192, OffReaders = 196, OffSpace = 256,
        OffWriters = 260, OffBellData = 320, OffBellSpace = 324, OffHighWater = 384, OffAttachGeneration = 388, OffParticipants = 4096,
        RecordSize = 64;

    internal const int ParkedData = 1, ParkedSpace = 2;

    /// <summary>A parked bit shifted by this is its rung bit: a ringer has taken the one ring that park gets (see RingParked).</summary>
    private const int RungShift = 2;

    // The slot word (see the essay).
    private const ulong PosMask = (1UL << 56) - 1;
    private const int Plain = 0, ClaimedState = 1, TakenState = 2, TombState = 3;

    private static ulong Claimed(ulong p, int id) => (1UL << 62) | ((ulong)id << 56) | p;

    private static ulong Taken(ulong p, int id) => (2UL << 62) | ((ulong)id << 56) | p;

    private static ulong Tomb(ulong p) => (3UL << 62) | p;

    private static int StateOf(ulong s) => (int)(s >> 62);

    private static int IdOf(ulong s) => (int)(s >> 56) & 0x3F;

    /// <summary>
    /// The spin before parking, in polls of the ring one PAUSE apart (WEFT_SHM_SPIN, 0 to 100000; 0, the default, never
    /// spins). Off by
    /// default: on a machine with more runnable threads than cores, a spinning participant only delays the one it
    /// waits for.
    /// </summary>
    private static readonly int s_spinLimit = ReadSpinLimit();

    private static int ReadSpinLimit()
    {
        string? text = Environment.GetEnvironmentVariable("WEFT_SHM_SPIN");
        if (string.IsNullOrEmpty(text)) return 0;
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n <= 100_000) return n;
        throw new InvalidOperationException($"WEFT_SHM_SPIN is '{text}': expected a whole number of polls from 0 to 100000 (0: never spin before parking).");
    }

    /// <summary>Test-only: called at each <see cref="ShmCrashPoint"/> (the kill -9 tests' writers and readers stop themselves there).</summary>
    internal static Action<ShmCrashPoint>? CrashHook;

    private readonly byte* _base;
    private readonly long _size;
    private readonly int _fd;
    private readonly bool _creator;
    private readonly ulong _mask;
    private readonly int _stride;
    private readonly int _id;
    private readonly string _path;
    private int _disposed;
    private int _active; // gated operations in flight in this process (TryEnter): Dispose waits for them. The transports' takes and puts are not gated: ShmTransports.cs, "Detach"
    private ShmDoorbell? _doorbell;
    private int _spin = s_spinLimit; // this participant's current spin budget (adaptive; see ParkEntered)
    private int _watchedGeneration = -1; // the attach generation whose participants this one watches (ShmDeathWatch)

    /// <summary>The name as given (without the leading slash).</summary>
    public string Name { get; }

    /// <summary>How many messages the ring holds.</summary>
    public int Capacity { get; }

    /// <summary>The largest message, in bytes.</summary>
    public int MaxMessageSize { get; }

    /// <summary>This participant's index in the segment's table.</summary>
    internal int ParticipantId => _id;

    private ShmRing(string name, string path, int fd, byte* mapped, long size, bool creator)
    {
        Name = name;
        _path = path;
        _fd = fd;
        _base = mapped;
        _size = size;
        _creator = creator;
        Capacity = (int)*(uint*)(mapped + OffCapacity);
        MaxMessageSize = (int)*(uint*)(mapped + OffMaxMessage);
        _stride = (int)*(uint*)(mapped + OffStride);
        _mask = (ulong)Capacity - 1;
        _id = Attach();
    }

    private static string CheckName(string name) => IpcNames.ToPath(name, "Shared-memory");

    private static int Stride(int maxMessage) => (16 + maxMessage + 7) & ~7;

    /// <summary>
    /// Creates the segment <paramref name="name"/> (it must not exist) with room for <paramref name="capacity"/>
    /// messages of at most <paramref name="maxMessage"/> bytes, tagged with <paramref name="fingerprint"/>, and attaches.
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
            new Span<byte>(mapped, HeaderSize).Clear();
            *(uint*)(mapped + OffVersion) = Version;
            *(uint*)(mapped + OffCapacity) = (uint)capacity;
            *(uint*)(mapped + OffMaxMessage) = (uint)maxMessage;
            *(uint*)(mapped + OffStride) = (uint)Stride(maxMessage);
            *(ulong*)(mapped + OffFingerprint) = fingerprint;
            for (int i = 0; i < capacity; i++) *(ulong*)(mapped + HeaderSize + (long)i * Stride(maxMessage)) = (ulong)i;
            // The magic last, with a release store: a participant that opens the name before this point sees no magic
            // and is refused, never a half-built ring.
            Volatile.Write(ref *(ulong*)(mapped + OffMagic), Magic);
            return new ShmRing(name, path, fd, mapped, size, creator: true);
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
    /// <paramref name="fingerprint"/> and, when not zero, <paramref name="capacity"/> and <paramref name="maxMessage"/>; then attaches.
    /// </summary>
    /// <exception cref="ArgumentException">A bad name.</exception>
    /// <exception cref="IpcException">The name does not exist (ENOENT), every participant record is in use, or a call failed.</exception>
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
            return new ShmRing(name, path, fd, mapped, size, creator: false);
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

    // ---- participants ------------------------------------------------------------------------------------------

    private static long LockOffset(int id) => OffParticipants + (long)id * RecordSize;

    private byte* Record(int id) => _base + OffParticipants + id * RecordSize;

    internal ref int RecordState(int id) => ref *(int*)Record(id);

    internal ref int RecordPid(int id) => ref *(int*)(Record(id) + 4);

    internal ref ulong RecordNonce(int id) => ref *(ulong*)(Record(id) + 8);

    internal ref int RecordParked(int id) => ref *(int*)(Record(id) + 16);

    private ref int HighWater => ref *(int*)(_base + OffHighWater);

    /// <summary>Takes a participant record (its lock first), recovering what a dead previous owner left.</summary>
    private int Attach()
    {
        for (int i = 0; i < MaxParticipants; i++)
        {
            if (!Libc.TryOfdLockByte(_fd, LockOffset(i), unlock: false, _path)) continue;
            // The record is ours. Attached still: its previous owner died (a Dispose clears it before unlocking).
            if (Volatile.Read(ref RecordState(i)) != 0) RecoverAllOf(i);
            RecordPid(i) = Libc.GetPid();
            RecordNonce(i) = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) | 1;
            Volatile.Write(ref RecordParked(i), 0);
            Volatile.Write(ref RecordState(i), 1);
            int hw;
            while ((hw = Volatile.Read(ref HighWater)) < i + 1 && Interlocked.CompareExchange(ref HighWater, i + 1, hw) != hw)
            {
            }
            Interlocked.Increment(ref *(int*)(_base + OffAttachGeneration)); // a full fence: the Dekker pair with ParkEntered's
            // A participant parked before this point watches everyone who was attached then, not us: wake it, so that it
            // parks again and watches us too (EnsureWatches sees the new generation). Without it, our death between
            // taking a park's one ring and sending it, or between a claim and its commit, would go unseen. A park that
            // read the old generation set its bit before that read, so this scan sees the bit (both sides fence).
            WakeAllEntered();
            return i;
        }
        throw new IpcException("attach", _path, 0,
            $"Shared-memory segment {_path} has all its {MaxParticipants} participant records in use by live processes; detach some (Dispose) first.");
    }

    /// <summary>
    /// True if participant <paramref name="id"/> is certainly dead: no open file description holds its byte. Never a
    /// timeout: a stopped or GC-paused process still holds its lock.
    /// </summary>
    internal bool IsDead(int id) => id != _id && !Libc.IsOfdLockedElsewhere(_fd, LockOffset(id), _path);

    /// <summary>Every slot naming <paramref name="id"/>, whose record we now hold: recovered (see "Recovery").</summary>
    private void RecoverAllOf(int id)
    {
        for (int i = 0; i < Capacity; i++)
        {
            byte* slot = _base + HeaderSize + (long)i * _stride;
            ulong s = Volatile.Read(ref Seq(slot));
            if (StateOf(s) is ClaimedState or TakenState && IdOf(s) == id) Resolve(slot, s);
        }
        ClearParked(id, ParkedData);
        ClearParked(id, ParkedSpace);
    }

    /// <summary>
    /// A slot word <paramref name="seen"/> that blocks this participant: if it names another participant that the
    /// kernel says is dead, recover the slot. True if something changed (try again).
    /// </summary>
    internal bool TryRecover(byte* slot, ulong seen)
    {
        if (StateOf(seen) is not (ClaimedState or TakenState)) return false;
        int owner = IdOf(seen);
        if (owner == _id || !IsDead(owner)) return false;
        if (Volatile.Read(ref Seq(slot)) != seen) return true; // someone else resolved it meanwhile
        Resolve(slot, seen);
        return true;
    }

    private void Resolve(byte* slot, ulong seen)
    {
        ulong p = seen & PosMask;
        if (StateOf(seen) == TakenState)
        {
            // The dead reader's message is lost with it; the slot is free for the next lap.
            if (Interlocked.CompareExchange(ref Seq(slot), p + (ulong)Capacity, seen) == seen)
            {
                Interlocked.CompareExchange(ref Head, p + 1, p);
                Notify(OffSpace, OffWriters, OffBellSpace, ParkedSpace);
            }
            return;
        }
        while (true)
        {
            ulong tail = Volatile.Read(ref Tail);
            if (tail == p) // the claim is not effective yet: make it so, then tomb it
            {
                Interlocked.CompareExchange(ref Tail, p + 1, p);
                continue;
            }
            ulong next = (tail & ~CloseMark) > p ? Tomb(p) : p; // effective: tomb; void (tail == p | mark): free
            if (Interlocked.CompareExchange(ref Seq(slot), next, seen) == seen) Notify(OffData, OffReaders, OffBellData, ParkedData);
            return;
        }
    }

    // ---- the ring ----------------------------------------------------------------------------------------------

    private ref ulong Tail => ref *(ulong*)(_base + OffTail);

    private ref ulong Head => ref *(ulong*)(_base + OffHead);

    private static ref ulong Seq(byte* slot) => ref *(ulong*)slot;

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

    internal enum Claim
    {
        Claimed,
        Full,
        Closed,
    }

    /// <summary>
    /// Claims the next position for a message (see "Write"). Claimed: write the payload at <paramref name="payload"/>
    /// and call <see cref="Commit"/>. Full: <paramref name="blocker"/> and <paramref name="blockerSlot"/> are what stood
    /// in the way, for <see cref="TryRecover"/>.
    /// </summary>
    internal Claim TryClaim(out ulong pos, out byte* payload, out ulong blocker, out byte* blockerSlot)
    {
        ulong t = Volatile.Read(ref Tail);
        while (true)
        {
            blocker = 0;
            blockerSlot = null;
            if ((t & CloseMark) != 0) break;
            byte* slot = Slot(t);
            ulong s = Volatile.Read(ref Seq(slot));
            if (s == t)
            {
                if (Interlocked.CompareExchange(ref Seq(slot), Claimed(t, _id), t) == t)
                {
                    if (MakeEffective(t))
                    {
                        pos = t;
                        payload = slot + 16;
                        CrashHook?.Invoke(ShmCrashPoint.AfterClaim);
                        return Claim.Claimed;
                    }
                    Volatile.Write(ref Seq(slot), t); // void: a close came first; the slot is free again
                    break;
                }
                t = Volatile.Read(ref Tail);
                continue;
            }
            int state = StateOf(s);
            ulong p = state == Plain ? s : s & PosMask;
            if (state == ClaimedState && p == t)
            {
                Interlocked.CompareExchange(ref Tail, t + 1, t); // help the claim become effective
                t = Volatile.Read(ref Tail);
            }
            else if (p < t)
            {
                pos = 0;
                payload = null;
                blocker = s;
                blockerSlot = slot;
                return Claim.Full;
            }
            else
            {
                t = Volatile.Read(ref Tail);
            }
        }
        pos = 0;
        payload = null;
        return Claim.Closed;
    }

    /// <summary>Moves tail past <paramref name="t"/> (ours, or a helper did); false if the close mark came first.</summary>
    private bool MakeEffective(ulong t)
    {
        while (true)
        {
            ulong cur = Volatile.Read(ref Tail);
            if (cur == t)
            {
                if (Interlocked.CompareExchange(ref Tail, t + 1, t) == t) return true;
                continue;
            }
            return (cur & ~CloseMark) > t;
        }
    }

    /// <summary>Publishes a claimed message of <paramref name="length"/> bytes (already written after the length word).</summary>
    internal void Commit(ulong pos, byte* payload, int length)
    {
        *(uint*)(payload - 8) = (uint)length;
        CrashHook?.Invoke(ShmCrashPoint.BeforeCommit);
        Volatile.Write(ref *(ulong*)(payload - 16), pos + 1); // release: pairs with the reader's acquire of the word
        Notify(OffData, OffReaders, OffBellData, ParkedData);
    }

    /// <summary>Gives up a claimed position (the codec refused the value after the claim): readers skip it as a tomb.</summary>
    internal void Abandon(ulong pos, byte* payload)
    {
        Volatile.Write(ref *(ulong*)(payload - 16), Tomb(pos));
        Notify(OffData, OffReaders, OffBellData, ParkedData);
    }

    internal enum Take
    {
        Taken,
        Empty,
        Closed,
    }

    /// <summary>
    /// Takes the oldest committed message (see "Read"): copy it out of <paramref name="payload"/> (<paramref name="length"/>
    /// bytes), then <see cref="Release"/>. Empty: <paramref name="blocker"/> is what stood in the way.
    /// </summary>
    internal Take TryTake(out ulong pos, out byte* payload, out int length, out ulong blocker, out byte* blockerSlot)
    {
        ulong h = Volatile.Read(ref Head);
        while (true)
        {
            byte* slot = Slot(h);
            ulong s = Volatile.Read(ref Seq(slot));
            int state = StateOf(s);
            ulong p = state == Plain ? s : s & PosMask;
            if ((state == Plain && s == h + 1) || (state == TombState && p == h))
            {
                if (Interlocked.CompareExchange(ref Seq(slot), Taken(h, _id), s) == s)
                {
                    Interlocked.CompareExchange(ref Head, h + 1, h); // or a helper did
                    if (state == TombState)
                    {
                        Volatile.Write(ref Seq(slot), h + (ulong)Capacity);
                        Notify(OffSpace, OffWriters, OffBellSpace, ParkedSpace);
                        h = Volatile.Read(ref Head);
                        continue;
                    }
                    CrashHook?.Invoke(ShmCrashPoint.AfterTake);
                    pos = h;
                    payload = slot + 16;
                    length = (int)*(uint*)(slot + 8);
                    blocker = 0;
                    blockerSlot = null;
                    return Take.Taken;
                }
                h = Volatile.Read(ref Head);
            }
            else if ((state == TakenState && p == h) || (state == Plain ? p > h + 1 : p > h))
            {
                Interlocked.CompareExchange(ref Head, h + 1, h); // position h is consumed: help head past it
                h = Volatile.Read(ref Head);
            }
            else
            {
                // Nothing committed at h. Closed and drained only if the close mark sits exactly here.
                pos = 0;
                payload = null;
                length = 0;
                blocker = s;
                blockerSlot = slot;
                return Volatile.Read(ref Tail) == (h | CloseMark) ? Take.Closed : Take.Empty;
            }
        }
    }

    /// <summary>Frees a taken slot for the next lap.</summary>
    internal void Release(ulong pos, byte* payload)
    {
        Volatile.Write(ref *(ulong*)(payload - 16), pos + (ulong)Capacity); // release: the copy-out happened before
        Notify(OffSpace, OffWriters, OffBellSpace, ParkedSpace);
    }

    /// <summary>Begins an operation: Dispose waits until it ends, so no claim or take of a live process is left behind.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Enter()
    {
        ObjectDisposedException.ThrowIf(!TryEnter(), this);
    }

    /// <summary>Begins an operation, or false once Dispose began (the transports then report the channel closed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryEnter()
    {
        Interlocked.Increment(ref _active);
        if (Volatile.Read(ref _disposed) == 0) return true;
        Interlocked.Decrement(ref _active);
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Exit() => Interlocked.Decrement(ref _active);

    /// <summary>Writes <paramref name="message"/> if a slot is free. False if the ring is full.</summary>
    /// <exception cref="ArgumentException">The message is longer than <see cref="MaxMessageSize"/>.</exception>
    /// <exception cref="ChannelClosedException">The ring was closed.</exception>
    public bool TryWrite(ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxMessageSize)
            throw new ArgumentException($"A message of {message.Length} bytes is longer than this ring's maximum of {MaxMessageSize}.", nameof(message));
        Enter();
        try
        {
            while (true)
            {
                switch (TryClaim(out ulong pos, out byte* payload, out ulong blocker, out byte* blockerSlot))
                {
                    case Claim.Claimed:
                        *(uint*)(payload - 8) = (uint)message.Length;
                        int half = message.Length / 2;
                        message[..half].CopyTo(new Span<byte>(payload, half));
                        CrashHook?.Invoke(ShmCrashPoint.MidCopy);
                        message[half..].CopyTo(new Span<byte>(payload + half, message.Length - half));
                        Commit(pos, payload, message.Length);
                        return true;
                    case Claim.Closed:
                        throw new ChannelClosedException();
                    default:
                        if (!TryRecover(blockerSlot, blocker)) return false;
                        break;
                }
            }
        }
        finally
        {
            Exit();
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
        Enter();
        try
        {
            while (true)
            {
                switch (TryTake(out ulong pos, out byte* payload, out length, out ulong blocker, out byte* blockerSlot))
                {
                    case Take.Taken:
                        new ReadOnlySpan<byte>(payload, length).CopyTo(buffer);
                        Release(pos, payload);
                        closed = false;
                        return true;
                    case Take.Closed:
                        closed = true;
                        return false;
                    default:
                        if (TryRecover(blockerSlot, blocker)) continue;
                        closed = false;
                        return false;
                }
            }
        }
        finally
        {
            Exit();
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

    /// <summary>
    /// A racy look for a select's peek and the waits' second try: true if a write may succeed now (or fail as closed).
    /// <paramref name="blocker"/>: the word in the way, when it names a participant.
    /// </summary>
    internal bool LooksWritable(out ulong blocker, out byte* blockerSlot)
    {
        ulong t = Volatile.Read(ref Tail);
        blockerSlot = Slot(t);
        blocker = Volatile.Read(ref Seq(blockerSlot));
        if ((t & CloseMark) != 0) return true;
        int state = StateOf(blocker);
        ulong p = state == Plain ? blocker : blocker & PosMask;
        return p >= t; // free for t, or tail is stale or being helped: try
    }

    /// <summary>A racy look: true if a read may take something now (or learn that the ring is closed and drained).</summary>
    internal bool LooksReadable(out ulong blocker, out byte* blockerSlot)
    {
        ulong h = Volatile.Read(ref Head);
        blockerSlot = Slot(h);
        blocker = Volatile.Read(ref Seq(blockerSlot));
        int state = StateOf(blocker);
        ulong p = state == Plain ? blocker : blocker & PosMask;
        if ((state == Plain && p >= h + 1) || (state != Plain && p > h) || (state is TombState or TakenState && p == h)) return true;
        return Volatile.Read(ref Tail) == (h | CloseMark);
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
            ulong blocker;
            byte* blockerSlot;
            bool ready = forWrite ? LooksWritable(out blocker, out blockerSlot) : LooksReadable(out blocker, out blockerSlot);
            if (ready || TryRecover(blockerSlot, blocker)) return;
            if (!EnsureWatches()) return; // a participant died meanwhile: try again
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

    /// <summary>
    /// Before parking: make sure every other attached participant's death is watched (ShmDoorbell.cs), so that a park
    /// never outlives a participant whose commit, free or ring it waits for. Rescans only when someone attached since.
    /// False if one is dead already (recover and try again instead of parking).
    /// </summary>
    internal bool EnsureWatches()
    {
        int generation = Volatile.Read(ref *(int*)(_base + OffAttachGeneration));
        if (generation == Volatile.Read(ref _watchedGeneration)) return true;
        bool allAlive = true;
        int n = Math.Min(Volatile.Read(ref HighWater), MaxParticipants);
        int me = Environment.ProcessId;
        for (int i = 0; i < n; i++)
        {
            if (i == _id || Volatile.Read(ref RecordState(i)) == 0 || Volatile.Read(ref RecordPid(i)) == me) continue;
            allAlive &= ShmDeathWatch.Watch(this, i);
        }
        Volatile.Write(ref _watchedGeneration, generation);
        return allAlive;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Notify(int wordOffset, int waitersOffset, int bellOffset, int bit)
    {
        Interlocked.MemoryBarrier(); // pairs with the waiter's increment: see "Waiting"
        if (Volatile.Read(ref *(int*)(_base + waitersOffset)) != 0) Wake(wordOffset, 1);
        if (Volatile.Read(ref *(int*)(_base + bellOffset)) != 0) RingParked(bellOffset, bit);
    }

    private void Wake(int wordOffset, int count)
    {
        int* word = (int*)(_base + wordOffset);
        Interlocked.Increment(ref *word);
        Libc.FutexWake(word, count);
    }

    /// <summary>
    /// Rings every participant parked for <paramref name="bit"/>, once per park: the ringer that sets the park's rung bit
    /// (a CAS, only while the parked bit is set) sends; later commits see the rung bit and send nothing, until the
    /// parker's handler clears both bits (<see cref="UnparkAll"/>). Without it every commit while the parker was being
    /// woken sent one more datagram, which the parker then only drained. A ringer killed between its CAS and its send
    /// leaves a park that no later commit rings; the parker's death watch of that ringer rings it instead
    /// (<see cref="WakeAll"/> passes <paramref name="force"/>, which rings whatever the rung bit says), and a parker
    /// watches everyone who can ring it: those attached when it parked, and any newcomer wakes it once at attach so
    /// that it parks again and watches the newcomer too. A doorbell whose socket is gone (ECONNREFUSED: its process
    /// died) has its bits cleared here, so dead parkers cost nothing later.
    /// </summary>
    private void RingParked(int bellOffset, int bit, bool force = false)
    {
        int n = Math.Min(Volatile.Read(ref HighWater), MaxParticipants);
        int rung = bit << RungShift;
        for (int i = 0; i < n; i++)
        {
            ref int word = ref RecordParked(i);
            int v = Volatile.Read(ref word);
            while ((v & bit) != 0 && (v & rung) == 0)
            {
                int seen = Interlocked.CompareExchange(ref word, v | rung, v);
                if (seen == v) break;
                v = seen;
            }
            if ((v & bit) == 0 || ((v & rung) != 0 && !force)) continue; // not parked, or its one ring is taken
            if (!ShmDoorbell.Ring(Volatile.Read(ref RecordNonce(i)))) ClearParked(i, bit);
        }
    }

    /// <summary>
    /// Clears participant <paramref name="id"/>'s parked bit (with its rung bit) and its count, if set (once, whoever
    /// clears it).
    /// </summary>
    private void ClearParked(int id, int bit)
    {
        if ((Interlocked.And(ref RecordParked(id), ~(bit | (bit << RungShift))) & bit) != 0)
            Interlocked.Decrement(ref *(int*)(_base + (bit == ParkedData ? OffBellData : OffBellSpace)));
    }

    /// <summary>This participant's doorbell rang: it is no longer parked in either direction (the pumps park again if they must).</summary>
    internal void UnparkAll()
    {
        if (!TryEnter()) return;
        ClearParked(_id, ParkedData);
        ClearParked(_id, ParkedSpace);
        Exit();
    }

    /// <summary>Wakes every waiting thread and rings every parked doorbell, in every process (close, a death, a cancellation).</summary>
    internal void WakeAll()
    {
        if (!TryEnter()) return; // detached: the mapping may be gone
        try
        {
            WakeAllEntered();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// <see cref="WakeAll"/> inside an operation, or while attaching. Rings even parks whose one ring is taken: the
    /// taker may be the participant whose death this wake reports.
    /// </summary>
    private void WakeAllEntered()
    {
        Wake(OffData, int.MaxValue);
        Wake(OffSpace, int.MaxValue);
        Interlocked.MemoryBarrier();
        RingParked(OffBellData, ParkedData, force: true);
        RingParked(OffBellSpace, ParkedSpace, force: true);
    }

    /// <summary>
    /// Parks this participant's doorbell for <paramref name="bit"/> (data or space): true if the caller will be called
    /// back through the doorbell's handler; false if the ring may be ready already (try again now). See ShmDoorbell.cs.
    /// </summary>
    internal bool Park(int bit)
    {
        if (!TryEnter()) return false; // detached: the caller's next try reports the channel closed
        try
        {
            return ParkEntered(bit);
        }
        finally
        {
            Exit();
        }
    }

    private bool ParkEntered(int bit)
    {
        if (_spin > 0 && SpinUntilReady(bit)) return false;
        var bell = Doorbell;
        int bellOffset = bit == ParkedData ? OffBellData : OffBellSpace;
        ref int parked = ref RecordParked(_id);
        if ((Interlocked.Or(ref parked, bit) & bit) == 0) Interlocked.Increment(ref *(int*)(_base + bellOffset)); // full fences
        ulong blocker;
        byte* blockerSlot;
        bool ready = bit == ParkedData ? LooksReadable(out blocker, out blockerSlot) : LooksWritable(out blocker, out blockerSlot);
        if (ready || TryRecover(blockerSlot, blocker) || !EnsureWatches())
        {
            ClearParked(_id, bit);
            return false;
        }
        if (!bell.ArmRead())
        {
            // A ring came since the last arm, and ArmRead drained it. One doorbell serves both directions, so it may
            // have been the one ring of this participant's park in the other direction, which armed (and so will not
            // arm again) while this park's arm was still to come: its rung bit is set, so no later commit rings it,
            // and no handler will run for the datagram just drained. Hand that park the handler's run. ShmDoorbell.cs
            // ("a failed arm").
            ClearParked(_id, bit);
            int other = bit ^ (ParkedData | ParkedSpace);
            if ((Volatile.Read(ref parked) & (other << RungShift)) != 0) bell.RunHandlerLater();
            return false;
        }
        return true;
    }

    /// <summary>
    /// Every this many polls the spin gives its CPU to any other runnable thread (sched_yield) instead of pausing. When
    /// the scheduler puts both spinning participants on one CPU (on a machine with fewer free cores than spinners), a
    /// spin that never yields holds the CPU that the participant it waits for needs, so each hop waits out a time
    /// slice; the C floor's pure spin has the same failure. With nothing else runnable the yield returns at once.
    /// A power of two.
    /// </summary>
    private const int YieldEvery = 64;

    /// <summary>
    /// The adaptive spin before parking: polls the ring up to the current budget. A spin that ends in data (or space)
    /// doubles the budget up to WEFT_SHM_SPIN; one that ends in a park halves it, down to a sixteenth, so a peer that
    /// answers fast is met without the doorbell and a slow one costs little. No timer: it polls memory, then parks.
    /// </summary>
    private bool SpinUntilReady(int bit)
    {
        int budget = _spin;
        for (int i = 0; i < budget; i++)
        {
            if (bit == ParkedData ? LooksReadable(out _, out _) : LooksWritable(out _, out _))
            {
                _spin = Math.Min(s_spinLimit, budget * 2);
                return true;
            }
            if ((i & (YieldEvery - 1)) == YieldEvery - 1) Thread.Yield(); // see YieldEvery
            else Relax();
        }
        _spin = Math.Max(Math.Max(1, s_spinLimit / 16), budget / 2);
        return false;
    }

    /// <summary>
    /// One pause between polls of the spin, as the C floor's cpu_relax: a single PAUSE (or YIELD) instruction. Rejected:
    /// Thread.SpinWait(8), which the runtime normalises to several pauses' worth of time, so each poll of a spinning
    /// participant saw a commit that long after it happened, on each hop of a round trip.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Relax()
    {
        if (X86Base.IsSupported) X86Base.Pause();
        else if (ArmBase.IsSupported) ArmBase.Yield();
        else Thread.SpinWait(1);
    }

    /// <summary>This participant's doorbell, made on first use (threads alone never need one).</summary>
    internal ShmDoorbell Doorbell
    {
        get
        {
            if (Volatile.Read(ref _doorbell) is { } d) return d;
            var made = new ShmDoorbell(RecordNonce(_id));
            if (Interlocked.CompareExchange(ref _doorbell, made, null) is { } other)
            {
                made.Dispose();
                return other;
            }
            return made;
        }
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

    /// <summary>The ring's state in words, for test failure messages: head, tail, slot words and attached records.</summary>
    internal string Describe()
    {
        var b = new System.Text.StringBuilder();
        ulong tail = Volatile.Read(ref Tail);
        b.Append(System.Globalization.CultureInfo.InvariantCulture, $"head {Volatile.Read(ref Head)}, tail {tail & ~CloseMark}{((tail & CloseMark) != 0 ? " closed" : "")}; slots:");
        for (int i = 0; i < Capacity; i++)
        {
            ulong s = Volatile.Read(ref Seq(_base + HeaderSize + (long)i * _stride));
            string state = StateOf(s) switch { Plain => "", ClaimedState => "claimed", TakenState => "taken", _ => "tomb" };
            b.Append(System.Globalization.CultureInfo.InvariantCulture, $" [{state}{(StateOf(s) is ClaimedState or TakenState ? " by " + IdOf(s) : "")} {(StateOf(s) == Plain ? s : s & PosMask)}]");
        }
        b.Append(System.Globalization.CultureInfo.InvariantCulture, $"; parked doorbells {*(int*)(_base + OffBellData)}/{*(int*)(_base + OffBellSpace)}; me {_id}{(_doorbell is { } bell ? " (doorbell " + bell.Describe() + ")" : "")}; records:");
        for (int i = 0; i < Math.Min(Volatile.Read(ref HighWater), MaxParticipants); i++)
        {
            if (RecordState(i) != 0) b.Append(System.Globalization.CultureInfo.InvariantCulture, $" {i}(pid {RecordPid(i)}, parked {RecordParked(i)}, {(i == _id ? "me" : IsDead(i) ? "dead" : "alive")})");
        }
        return b.ToString();
    }

    /// <summary>
    /// Test-only: what the kernel does at kill -9. The descriptor closes (releasing the liveness lock) and nothing else
    /// happens: the record still says attached, and slot words still name this participant.
    /// </summary>
    internal void SimulateDeath()
    {
        Volatile.Write(ref _disposed, 1);
        _doorbell?.Dispose();
        Libc.Munmap((nint)_base, (nint)_size); // the mapping holds the file description too: the lock goes with the last of both
        Libc.Close(_fd);
    }

    /// <summary>
    /// Detaches: waits for this process's operations in flight, clears the record, then closes the descriptor (which
    /// releases the liveness lock) and unmaps; the creator also unlinks the name.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        var spin = new SpinWait();
        while (Volatile.Read(ref _active) != 0) spin.SpinOnce();
        ClearParked(_id, ParkedData);
        ClearParked(_id, ParkedSpace);
        Volatile.Write(ref RecordState(_id), 0);
        _doorbell?.Dispose();
        ShmDeathWatch.Forget(this);
        Libc.Munmap((nint)_base, (nint)_size);
        Libc.Close(_fd);
        if (_creator) Libc.ShmUnlink(_path);
    }
}
