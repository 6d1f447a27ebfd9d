// Chan<T> as a select source: the ISelectable implementation over the same locked cores as the plain operations.

using Weft.Channels;

namespace Weft;

public sealed partial class Chan<T> : ISelectable<T>
{
    long ISelectable<T>.SelectId => _id;

    void ISelectable<T>.SelectLock()
    {
        _lock.Enter();
        AssertInvariants();
    }

    void ISelectable<T>.SelectUnlock() => _lock.Exit();

    // Racy reads of _count, _closed and the queue heads; each pairs with the Volatile.Write that changes it under
    // the lock. A stale answer is harmless: true costs one locked TryLocked that fails, false defers the case to
    // the select's locked pass, which does not consult Peek.
    // An IPC endpoint adds its transport's racy hint last, so an ordinary channel pays one field test when not ready.
    bool ISelectable<T>.Peek(bool send) => send
        ? Volatile.Read(ref _closed) || Volatile.Read(ref _count) < _ring.Length || !_recvq.IsEmpty
            || (_transport is not null && _transport.LooksWritable)
        : Volatile.Read(ref _count) > 0 || !_sendq.IsEmpty || Volatile.Read(ref _closed)
            || (_transport is not null && _transport.LooksReadable);

    OpStatus ISelectable<T>.TryLocked(Sudog<T> node, bool send, out Sudog? wake)
    {
        AssertSelectLocked();
        if (send)
        {
            if (_receiveOnly) { wake = null; return OpStatus.NotReady; }
            return TrySendLocked(node.Value, out wake);
        }
        if (TryReceiveLocked(out node.Value, out node.Ok, out wake)) return OpStatus.Done;
        return OpStatus.NotReady;
    }

    Sudog? ISelectable<T>.EnqueueLocked(Sudog<T> node, bool send)
    {
        AssertSelectLocked();
        return EnqueueLocked(node, send);
    }

    void ISelectable<T>.DequeueLocked(Sudog<T> node, bool send)
    {
        AssertSelectLocked();
        if (send) _sendq.Remove(node);
        else _recvq.Remove(node);
    }

    // A select's passes call the methods above for many channels after locking them all (LockAll): the invariant
    // check ran once, at SelectLock; this one catches a pass that forgot a lock.
    [System.Diagnostics.Conditional("DEBUG")]
    private void AssertSelectLocked() =>
        System.Diagnostics.Debug.Assert(_lock.IsHeld, "A select reads and changes a channel only under that channel's lock.");
}
