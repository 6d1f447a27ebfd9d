// ReadyWaiter — the IValueTaskSource behind a readiness wait (ChannelReader.WaitToReadAsync and
// ChannelWriter.WaitToWriteAsync over a Chan): it waits until a receive (or a send) could proceed, and takes nothing.
//
// Go has no such operation; System.Threading.Channels is built on it. A readiness waiter never sits in the recvq or
// sendq, so no hand-off can ever pick it (a sender must not give its value to somebody who only asked to be told).
// It sits in its own queue on the channel, and the channel wakes the whole queue at every transition that makes the
// awaited operation possible (see Chan.Ready.cs): a value buffered or a sender parked (read), space freed or a
// receiver parked (write), and Close. The woken caller then tries (TryRead / TryWrite), and may lose the race to
// another reader or writer: readiness is a hint, exactly as in System.Threading.Channels.
//
// Why not one base class with ChanWaiter (the fields, Arm and Cancel are alike): ValueTask's `is Task` check walks the
// awaited object's parent chain on every await of the hot ChanWaiter, and a base class adds a level to it. A first
// version had one, and the ping-pong slowed, mostly through a shared send core that changed what the JIT inlined
// (see SendAsync), and with CastHelpers.IsInstanceOfClass taking a larger share of its cycles. The two causes
// were not measured apart, so ChanWaiter keeps the hierarchy it was tuned with; only the pool is shared (Runtime/NodePool.cs).
//
// Pooling and cancellation as ChanWaiter: an uncancellable wait takes a node from this thread's NodePool and gives it
// back in GetResult; a cancellable one gets a fresh node. Whoever removes the node from the channel's readiness queue
// under the channel lock (a waking transition or Cancel) decides the outcome.

using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;
using Weft.Runtime;

namespace Weft.Channels;

internal sealed class ReadyWaiter<T> : Sudog<T>, IValueTaskSource<bool>, IParkSource
{
    private const int PoolLimit = 16;

    private Continuation _continuation;
    private short _version;
    private bool _pooled;
    private bool _forWrite;
    private Chan<T>? _channel;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    ref Continuation IParkSource.Continuation => ref _continuation;

    /// <summary>Written by Cancel under the channel lock, read by the owner after the wake.</summary>
    private bool _cancelled;

    /// <summary>Takes a node for one wait; the caller queues it under the channel lock, then calls <see cref="Arm"/>.</summary>
    public static ReadyWaiter<T> Rent(Chan<T> channel, bool forWrite, CancellationToken token)
    {
        ReadyWaiter<T> w;
        if (!token.CanBeCanceled && NodePool<ReadyWaiter<T>>.TryTake() is { } free)
        {
            w = free;
            w._pooled = true;
        }
        else
        {
            w = new ReadyWaiter<T> { _pooled = !token.CanBeCanceled };
        }
        w._channel = channel;
        w._forWrite = forWrite;
        w._token = token;
        w._continuation.SetOwner(Goroutine.Current);
        return w;
    }

    public short Version => _version;

    /// <summary>Called after the channel lock is released: registers for cancellation (which may run Cancel at once).</summary>
    public void Arm()
    {
        if (_token.CanBeCanceled)
            _registration = _token.UnsafeRegister(static o => ((ReadyWaiter<T>)o!).Cancel(), this);
    }

    private void Cancel()
    {
        if (_channel!.RemoveReadyWaiter(this, _forWrite))
        {
            _cancelled = true;
            _continuation.Signal();
        }
    }

    internal override void Wake() => _continuation.Signal();

    public ValueTaskSourceStatus GetStatus(short token)
    {
        if (token != _version) ThrowHelper.StaleValueTask();
        if (!_continuation.IsSignalled) return ValueTaskSourceStatus.Pending;
        if (_cancelled) return ValueTaskSourceStatus.Canceled;
        return !Ok && _channel!.CloseError is not null ? ValueTaskSourceStatus.Faulted : ValueTaskSourceStatus.Succeeded;
    }

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (token != _version) ThrowHelper.StaleValueTask();
        _continuation.OnCompleted(continuation, state, flags, _channel!.ReasonFor(_forWrite), this);
    }

    public bool GetResult(short token)
    {
        if (token != _version) ThrowHelper.StaleValueTask();
        if (!_continuation.IsSignalled) ThrowHelper.NotCompleted();
        bool ready = Ok;
        bool cancelled = _cancelled;
        var ct = _token;
        var error = ready ? null : _channel!.CloseError;
        _version++;
        if (_pooled)
        {
            Ok = false;
            _channel = null;
            _continuation.Reset();
            NodePool<ReadyWaiter<T>>.Return(this, PoolLimit);
        }
        else
        {
            _registration.Dispose();
        }
        if (cancelled) throw new OperationCanceledException(ct);
        // Closed with an error (ChannelWriter.TryComplete(error)): the wait faults with it, as System.Threading.Channels does.
        if (error is not null) ExceptionDispatchInfo.Throw(error);
        return ready;
    }
}
