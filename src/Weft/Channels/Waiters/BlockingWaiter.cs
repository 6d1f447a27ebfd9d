// BlockingWaiter — the sudog behind a blocking Send/Receive (plain threads, or a goroutine that chose to block its
// thread): parked on the thread's Parker instead of an IValueTaskSource, so no Task and no ThreadPool hop.
//
// Pooling: one node per thread and element type (NodePool.ThreadNode), reused by every blocking wait of that thread. That is safe even
// for cancellable waits (unlike ChanWaiter, where a cancellable node is fresh): the thread is the node's only user,
// it does not return before the node has left the channel's queue, and it disposes the token registration first,
// which waits for a cancellation callback that is already running, so nothing touches the node afterwards.
//
// Cancellation race: exactly ChanWaiter's. The completer (counterparty or Close) and Cancel both remove the node
// from the channel's queue under the channel's lock; whoever removes it decides the outcome, the other does nothing.

using Weft.Runtime;

namespace Weft.Channels;

internal sealed class BlockingWaiter<T> : Sudog<T>
{
    private static readonly Action<object?> s_cancel = static o => ((BlockingWaiter<T>)o!).Cancel();

    private readonly Parker _parker = Parker.Current; // the owning thread's; Rent runs on it
    private Chan<T>? _channel;  // for Cancel; written by the owner before the node is published
    private bool _isSend;
    private bool _cancelled;    // written by Cancel after it removed the node, read by the owner after the wake

    /// <summary>This thread's node for one wait. The caller enqueues it under the channel's lock, then calls <see cref="Wait"/>.</summary>
    public static BlockingWaiter<T> Rent(Chan<T> channel, bool isSend)
    {
        var w = NodePool<BlockingWaiter<T>>.ThreadNode ?? (NodePool<BlockingWaiter<T>>.ThreadNode = new BlockingWaiter<T>());
        w._channel = channel;
        w._isSend = isSend;
        w._cancelled = false;
        w.Ok = false;
        return w;
    }

    /// <summary>The completer, after releasing the channel's lock. Value/Ok were written under it; Set publishes them.</summary>
    internal override void Wake() => _parker.Unpark();

    private void Cancel()
    {
        if (_channel!.RemoveWaiter(this, _isSend))
        {
            _cancelled = true; // the node left the queue under the lock: it is ours alone
            _parker.Unpark();
        }
    }

    /// <summary>
    /// Called by the owner after releasing the channel's lock: blocks until a completer or the token decides the wait.
    /// Returns the received value (or default) and, in <paramref name="ok"/>, whether a value was exchanged.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token won: the node left the queue untouched.</exception>
    public T Wait(CancellationToken token, out bool ok)
    {
        var registration = token.CanBeCanceled ? token.UnsafeRegister(s_cancel, this) : default;
        _parker.Park(_channel!.ReasonFor(_isSend));
        registration.Dispose(); // waits for a running Cancel: after this nobody else touches the node
        T value = Value;
        ok = Ok;
        Value = default!;
        _channel = null;
        if (_cancelled) throw new OperationCanceledException(token);
        return value;
    }
}
