// IpcSharedMemory — a named shared-memory channel between any number of processes: multi-producer,
// multi-consumer, a Chan<T> flavour over the transport seam, so select, close, cancellation, await foreach and the
// System.Threading.Channels adapters work as on every other channel. It survives kill -9 of any participant.
//
// Shape: Create/Open attach this process to the named ring (ShmRing.cs: the segment, the slot protocol, liveness
// and crash recovery) and hand back one attachment with two channels, Sender and Receiver, over the same ring. Each
// attachment is one participant: one record in the segment, one liveness lock, one doorbell (ShmDoorbell.cs).
// Rejected: separate CreateSender/CreateReceiver factories as for message queues. A ring has no "receiving side" to
// create: every participant may do both, and making the creator pick a direction only moves the choice elsewhere.
//
// Values: an unmanaged T is copied as its bytes straight into the slot and out of it (no allocation, no extra
// copy); any other T goes through an IpcCodec (IpcCodec.Bytes: a length and a maximum). The segment carries the
// codec's fingerprint and the maximum message size, and Open refuses a mismatch with both values named.
//
// Close is Go's: Sender.Close() closes the shared channel for every process. Values committed before it are still
// received (by any process), then receivers get ok = false. Dispose only detaches this process: the ring stays open
// for the others, and the creator's Dispose unlinks the name (processes attached keep their mapping, as with files).
//
// Waiting: threads sleep on futex words in the segment; goroutines and selects park through the netpoller behind
// their doorbell. A sender rings only participants that are parked, so an uncontended send is a CAS, a copy and a
// store. No timer anywhere: a participant that waits behind a dead one is woken by the dead one's pidfd.

using System.Runtime.CompilerServices;
using Weft.Ipc.SharedMemory;

namespace Weft.Ipc;

/// <summary>Named shared-memory channels between processes (Linux): see <see cref="IpcSharedMemory{T}"/>.</summary>
/// <example><code>
/// // process A
/// using var ring = IpcSharedMemory.Create&lt;long&gt;("prices", capacity: 1024);
/// await ring.Sender.SendAsync(42);
/// // process B
/// using var ring = IpcSharedMemory.Open&lt;long&gt;("prices");
/// long price = await ring.Receiver.ReceiveAsync();
/// </code></example>
public static class IpcSharedMemory
{
    /// <summary>How many attachments (processes, or several in one process) one ring serves at once.</summary>
    public const int MaxParticipants = ShmRing.MaxParticipants;

    /// <summary>Creates the ring <paramref name="name"/> (mode 0600; it must not exist) for an unmanaged <typeparamref name="T"/>, copied raw, and attaches.</summary>
    /// <typeparam name="T">An unmanaged type; every process must use the same layout (its fingerprint is checked).</typeparam>
    /// <param name="name">1 to 200 characters from A-Z, a-z, 0-9, '.', '_' and '-'.</param>
    /// <param name="capacity">Messages the ring holds: a power of two from 2 to 2^20.</param>
    /// <returns>The attachment; dispose it to detach (the creator's Dispose also unlinks the name).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is out of range.</exception>
    /// <exception cref="IpcException">shm_open failed (EEXIST: the name is taken; TryRemoveStale removes a dead creator's), or /dev/shm is full (ENOSPC).</exception>
    /// <remarks>Creating does not wait: nothing to cancel.</remarks>
    /// <example><code>using var ring = IpcSharedMemory.Create&lt;(int Id, double Price)&gt;("ticks", 4096);</code></example>
    public static IpcSharedMemory<T> Create<T>(string name, int capacity)
        where T : unmanaged => Create(name, IpcCodec.Unmanaged<T>(), capacity, Unsafe.SizeOf<T>());

    /// <summary>Creates the ring <paramref name="name"/> (mode 0600; it must not exist) for values encoded by <paramref name="codec"/>, and attaches.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="name">1 to 200 characters from A-Z, a-z, 0-9, '.', '_' and '-'.</param>
    /// <param name="codec">How values become messages; every process must use the same (its fingerprint is checked).</param>
    /// <param name="capacity">Messages the ring holds: a power of two from 2 to 2^20.</param>
    /// <param name="maxMessageSize">The largest encoded value, in bytes: 1 to 2^20. Every slot has this much room.</param>
    /// <returns>The attachment.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is malformed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> or <paramref name="maxMessageSize"/> is out of range, or the segment would exceed 4 GiB.</exception>
    /// <exception cref="IpcException">shm_open failed (EEXIST: the name is taken), or /dev/shm is full (ENOSPC).</exception>
    /// <remarks>Creating does not wait: nothing to cancel.</remarks>
    /// <example><code>using var ring = IpcSharedMemory.Create("frames", IpcCodec.Bytes(4096), capacity: 64, maxMessageSize: 4096);</code></example>
    public static IpcSharedMemory<T> Create<T>(string name, IpcCodec<T> codec, int capacity, int maxMessageSize)
    {
        ArgumentNullException.ThrowIfNull(codec);
        return new IpcSharedMemory<T>(ShmRing.Create(name, capacity, maxMessageSize, codec.Fingerprint), codec);
    }

    /// <summary>Attaches to the existing ring <paramref name="name"/> of unmanaged <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The element type the creator used (its layout fingerprint and size are checked).</typeparam>
    /// <param name="name">The ring's name.</param>
    /// <returns>The attachment; dispose it to detach.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is malformed.</exception>
    /// <exception cref="IpcException">shm_open failed (ENOENT: no such ring), or all <see cref="MaxParticipants"/> records are held by live processes.</exception>
    /// <exception cref="InvalidDataException">The segment is not this user's or not 0600, not a Weft ring, of another layout version, of another element type, or of another message size; the message names both values.</exception>
    /// <remarks>Opening does not wait: nothing to cancel.</remarks>
    /// <example><code>using var ring = IpcSharedMemory.Open&lt;long&gt;("prices");</code></example>
    public static IpcSharedMemory<T> Open<T>(string name)
        where T : unmanaged
    {
        var codec = IpcCodec.Unmanaged<T>();
        return new IpcSharedMemory<T>(ShmRing.Open(name, codec.Fingerprint, maxMessage: Unsafe.SizeOf<T>()), codec);
    }

    /// <summary>Attaches to the existing ring <paramref name="name"/> whose values <paramref name="codec"/> encodes.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="name">The ring's name.</param>
    /// <param name="codec">The creator's codec (its fingerprint is checked).</param>
    /// <returns>The attachment.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="codec"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is malformed.</exception>
    /// <exception cref="IpcException">shm_open failed (ENOENT: no such ring), or all records are in use.</exception>
    /// <exception cref="InvalidDataException">A check failed (owner, mode, magic, version, fingerprint); the message names both values.</exception>
    /// <remarks>Opening does not wait: nothing to cancel.</remarks>
    /// <example><code>using var ring = IpcSharedMemory.Open("frames", IpcCodec.Bytes(4096));</code></example>
    public static IpcSharedMemory<T> Open<T>(string name, IpcCodec<T> codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        return new IpcSharedMemory<T>(ShmRing.Open(name, codec.Fingerprint), codec);
    }

    /// <summary>Unlinks a ring's name that a creator which died (kill -9) left behind. True if it existed.</summary>
    /// <param name="name">The ring's name.</param>
    /// <returns>True if a segment of that name existed and is now unlinked.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is malformed.</exception>
    /// <exception cref="IpcException">shm_unlink failed for a reason other than ENOENT.</exception>
    /// <remarks>Processes still attached keep working on the unlinked segment; only the name goes.</remarks>
    /// <example><code>IpcSharedMemory.TryRemoveStale("prices");</code></example>
    public static bool TryRemoveStale(string name) => ShmRing.TryRemoveStale(name);
}

/// <summary>
/// One process's attachment to a named shared-memory channel: <see cref="Sender"/> and <see cref="Receiver"/> are
/// real channels over the shared ring, usable in a <see cref="Select"/> beside local channels and timers.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <remarks>
/// <para>Any number of processes may send and receive; each value is received exactly once, by one receiver, and the
/// values of one sender arrive in the order it sent them.</para>
/// <para><c>Sender.Close()</c> closes the channel for every process (Go's close): values sent before it are still
/// received, then receives return <c>ok = false</c>. <see cref="Dispose"/> only detaches this process.</para>
/// <para>Cancellation is exact: a cancelled receive took nothing from the ring, a cancelled send put nothing in.</para>
/// <para>If a process dies (even by kill -9), the ring keeps going: only the dying process's own messages in flight
/// are lost (one it was writing, one it had taken and not yet handed to its caller). docs/ipc.md says exactly which.</para>
/// </remarks>
/// <example><code>
/// using var ring = IpcSharedMemory.Open&lt;long&gt;("prices");
/// await foreach (long price in ring.Receiver) Console.WriteLine(price);
/// </code></example>
public sealed class IpcSharedMemory<T> : IDisposable
{
    private readonly ShmRing _ring;
    private readonly Chan<T> _sender;
    private readonly Chan<T> _receiver;
    private readonly ShmSendTransport<T> _send;
    private readonly ShmReceiveTransport<T> _receive;
    private int _open = 2;

    internal IpcSharedMemory(ShmRing ring, IpcCodec<T> codec)
    {
        _ring = ring;
        try
        {
            _receive = new ShmReceiveTransport<T>(ring, codec, DirectionDone);
            _send = new ShmSendTransport<T>(ring, codec, DirectionDone);
            _receiver = new Chan<T>(_receive);
            _sender = new Chan<T>(_send);
            ring.Doorbell.OnRing = OnRing;
        }
        catch
        {
            ring.Dispose();
            throw;
        }
    }

    internal ShmRing Ring => _ring;

    /// <summary>The ring and both transports in words, for test failure messages.</summary>
    internal string Describe() => $"{_ring.Describe()}; sender {_send.Describe()}; receiver {_receive.Describe()}";

    /// <summary>The channel to send on. Its <c>Close</c> closes the shared channel for every process.</summary>
    public SendOnlyChan<T> Sender => _sender;

    /// <summary>The channel to receive from.</summary>
    public ReceiveOnlyChan<T> Receiver => _receiver;

    /// <summary>The ring's name.</summary>
    public string Name => _ring.Name;

    /// <summary>How many messages the ring holds.</summary>
    public int Capacity => _ring.Capacity;

    /// <summary>The largest encoded value, in bytes.</summary>
    public int MaxMessageSize => _ring.MaxMessageSize;

    /// <summary>A snapshot of the messages in the ring (sent, or being written, and not yet taken), over all processes.</summary>
    public int Count => _ring.Count;

    /// <summary>Why this attachment's sender or receiver stopped: null, or an <see cref="ArgumentException"/> (a value too large), an <see cref="IpcProtocolException"/> (a message the codec rejects) or a <see cref="ChannelClosedException"/>.</summary>
    public Exception? Error => _send.Error ?? _receive.Error;

    /// <summary>
    /// Detaches this process: its channels close locally (parked receivers get ok = false), a value still in the
    /// sender's outbox goes into the ring first (when a slot frees), and the record and its lock are released. The
    /// ring stays open for the others; the creator's Dispose unlinks the name. Idempotent. An attachment whose two
    /// channels have both closed (the ring was closed and drained, and its sender closed) detaches by itself.
    /// </summary>
    public void Dispose()
    {
        _send.Detaching = true;
        _receiver.CloseEndpoint();
        _sender.CloseEndpoint();
    }

    /// <summary>The doorbell rang: data or space may have come (one doorbell serves both directions).</summary>
    private void OnRing()
    {
        _ring.UnparkAll();
        _receive.Owner?.OnReceiveReady();
        _send.OnRing();
    }

    private void DirectionDone()
    {
        if (Interlocked.Decrement(ref _open) == 0) _ring.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"IpcSharedMemory {_ring.Name} ({_ring.Capacity} x {_ring.MaxMessageSize} bytes)";
}
