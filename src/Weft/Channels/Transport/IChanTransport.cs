// IChanTransport — the seam between a Chan<T> and something outside the process that carries its values (a pipe,
// a socket; Weft.Ipc implements it). Everything above the seam stays the channel's own: the wait queues, select,
// directional channels, the System.Threading.Channels adapters, cancellation and await foreach.
//
// An endpoint has one direction. A receive endpoint's transport takes values out of the kernel; a send endpoint's
// puts them in. Each method says which lock it runs under; the channel's lock always comes before the transport's
// own (the lock order), and no method blocks: "would block" is NotReady, and the channel then arms the transport
// and parks its waiter like any other.
//
// The rules the channel keeps (Chan.Transport.cs):
//   * receive: take first, then claim. A claimed select node can never be un-claimed, so the value comes out of
//     the kernel before a waiter is claimed; a value that no live waiter takes waits in the channel's one-slot ring,
//     which counts in Len. Nothing is lost between the kernel and a cancelled waiter: a waiter that is gone was never
//     claimed, and the value it did not take is in the ring.
//   * send: claim first, then put. A transport that can take a frame at all (TryFlush said Done) takes it whole,
//     into the kernel or into its one-frame outbox, flushed before the next frame: "send completed" means the kernel
//     (or the outbox, flushed first) has the bytes.
//   * close: a transport that reports Closed closes the channel after the values before it were taken, with
//     Error as the close error (null for the peer's close frame; PeerLost for an end without one).
//
// The seam rule every send transport keeps: a put after a successful flush must not fail. Under one hold of the
// channel lock, once TryFlush has said Done, TryPut says Done (the kernel or the outbox has the frame whole) or Closed
// (the transport ended: a broken stream, a value too large), never NotReady. Why: the channel claims a parked sender
// between the flush and the put (PumpSend: flush, claim, put), and a claimed sender cannot be put back; a NotReady
// there would complete a claimed send with nothing sent. So a transport needs room for one whole frame that does not
// depend on the kernel: its outbox. The stream sender (pipes, sockets, FIFOs: Weft.Ipc/Streams/StreamSenderBase.cs)
// encodes into its emptied outbox and writes what the kernel takes; the message-queue sender
// (Weft.Ipc/MessageQueues/MessageQueue.cs) keeps the message it could not mq_send in its outbox, which it had to gain
// for this rule: mq_send takes a message whole or not at all, so without the outbox its put said NotReady on a full
// queue right after a flush that had nothing to flush. PumpSend asserts the rule (Debug), and
// TransportSeamTests.After_a_Done_flush_a_put_never_says_NotReady pins it for every send transport of Weft.Ipc.
//
// Rejected: a pump goroutine per endpoint feeding an ordinary channel (it takes values before anyone asked, loses
// them in a crash, and adds a hop); separate selectable types (they would duplicate every case and adapter).

namespace Weft.Channels;

/// <summary>What a transport operation did.</summary>
internal enum TransportStatus : byte
{
    /// <summary>A value was taken (or put).</summary>
    Done,

    /// <summary>Nothing now: the kernel said EAGAIN. Arm, and the owner is called back when that may have changed.</summary>
    NotReady,

    /// <summary>The transport ended (a close frame, end of file, a protocol error): see <see cref="IChanTransport{T}.Error"/>.</summary>
    Closed,
}

/// <summary>The channel side of the seam: what a transport calls when an armed direction may have become ready. Outside every lock.</summary>
internal interface IChanTransportOwner
{
    /// <summary>A value (or the end) may be there to take.</summary>
    void OnReceiveReady();

    /// <summary>A frame may now be put.</summary>
    void OnSendReady();
}

/// <summary>A channel's transport: see the essay above.</summary>
internal interface IChanTransport<T>
{
    /// <summary>True for a receive endpoint, false for a send endpoint.</summary>
    bool IsReceiver { get; }

    /// <summary>Called once by the channel's constructor, before any other member.</summary>
    void Attach(IChanTransportOwner owner);

    /// <summary>Takes the next value without blocking. Under the channel lock. Closed is final.</summary>
    TransportStatus TryTake(out T value);

    /// <summary>
    /// TryTake for a goroutine's receive that commits its park (Chan.Defer.cs): on NotReady the channel queues the
    /// waiter and arms, so a transport may answer NotReady without asking the kernel when it knows that bytes which
    /// arrive from now on will raise an edge that nobody has taken yet (the stream receiver after a drain). Under
    /// the channel lock.
    /// </summary>
    TransportStatus TryTakeBeforePark(out T value) => TryTake(out value);

    /// <summary>A racy hint for a select's poll: true if a take may succeed now.</summary>
    bool LooksReadable { get; }

    /// <summary>Asks for <see cref="IChanTransportOwner.OnReceiveReady"/> once a take may succeed. Outside locks. False: it may already, take now.</summary>
    bool ArmReceive();

    /// <summary>Flushes the outbox: Done when it is empty (a put will take its frame whole). Under the channel lock.</summary>
    TransportStatus TryFlush();

    /// <summary>
    /// Puts a value's frame: Done once the kernel or the outbox has it; NotReady (nothing taken) while the outbox is not
    /// empty. Under the channel lock. Right after a <see cref="TryFlush"/> that said Done, never NotReady (the seam rule
    /// in the essay above).
    /// </summary>
    TransportStatus TryPut(T value);

    /// <summary>A racy hint for a select's poll: true if a put may succeed now.</summary>
    bool LooksWritable { get; }

    /// <summary>Asks for <see cref="IChanTransportOwner.OnSendReady"/> once a put may succeed. Outside locks. False: it may already, put now.</summary>
    bool ArmSend();

    /// <summary>After Closed: null for a clean close (the peer's close frame), else why it ended.</summary>
    Exception? Error { get; }

    /// <summary>
    /// The channel is closed (by its owner, or because the transport ended). Outside locks, once. A send endpoint
    /// sends its close frame after the outbox; then both release their descriptors.
    /// </summary>
    void OnChannelClosed();
}
