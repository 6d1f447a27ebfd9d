// ChannelWaiter — what the two awaitable waiter nodes of a channel share: ChanWaiter (a parked SendAsync/ReceiveAsync,
// in recvq/sendq) and ReadyWaiter (a readiness wait of the System.Threading.Channels adapters, in the readiness
// queues). Both are pooled per thread when uncancellable, awaited through their Continuation, and cancelled by
// removing themselves from their channel's queue under its lock: whoever removes the node (a completer or Cancel)
// decides the outcome, so a cancelled wait never also completed.

using Weft.Runtime;

namespace Weft.Channels;

internal abstract class ChannelWaiter<T> : Sudog<T>, IParkSource
{
    private protected Continuation _continuation;
    private protected short _version;
    private protected bool _pooled;
    private protected Chan<T>? _channel;          // for Cancel; set by the owner before the node is published
    private protected CancellationToken _token;
    private CancellationTokenRegistration _registration;

    ref Continuation IParkSource.Continuation => ref _continuation;

    /// <summary>Written by Cancel under the channel lock, read by the owner after the wake.</summary>
    internal bool Cancelled;

    public short Version => _version;

    /// <summary>Fills the per-wait fields of a rented node; the caller publishes it under the channel lock afterwards.</summary>
    private protected void Init(Chan<T> channel, CancellationToken token)
    {
        _channel = channel;
        _token = token;
        _continuation.SetOwner(Goroutine.Current);
    }

    /// <summary>Called after the channel lock is released: registers for cancellation (which may run Cancel at once).</summary>
    public void Arm()
    {
        if (_token.CanBeCanceled)
            _registration = _token.UnsafeRegister(static o => ((ChannelWaiter<T>)o!).Cancel(), this);
    }

    private void Cancel()
    {
        if (RemoveFromChannel())
        {
            Cancelled = true; // the node is ours alone now: it left the queue under the lock, and nobody else claims it
            _continuation.Signal(this);
        }
    }

    /// <summary>Takes this node out of its channel's queue under the channel's lock; false if a completer took it first.</summary>
    private protected abstract bool RemoveFromChannel();

    /// <summary>For a cancellable (unpooled) node, once its result was read: waits for a running Cancel and unregisters.</summary>
    private protected void DisposeRegistration() => _registration.Dispose();

    internal sealed override void Wake() => _continuation.Signal(this);
}
