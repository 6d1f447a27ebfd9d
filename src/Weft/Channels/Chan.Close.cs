// Chan<T>, closing: wakes every parked receiver with (default, false) and every parked sender with an error.

using Weft.Channels;

namespace Weft;

public sealed partial class Chan<T>
{
    /// <summary>
    /// Closes the channel: no more values may be sent. Values already buffered are still received; after them every
    /// receive returns (<c>default</c>, ok = false) at once. Parked receivers wake with ok = false; parked senders
    /// wake with <see cref="ChannelClosedException"/>.
    /// </summary>
    /// <exception cref="ChannelClosedException">The channel was already closed (Go: "close of closed channel").</exception>
    /// <exception cref="InvalidOperationException">The channel is a receive-only timer channel.</exception>
    /// <example><code>Go.Run(async () => { foreach (var x in items) await ch.SendAsync(x); ch.Close(); });</code></example>
    public void Close()
    {
        if (!CloseCore(error: null)) ThrowHelper.ClosedTwice();
    }

    /// <summary>Closes with <paramref name="error"/> recorded for the System.Threading.Channels adapters; false if already closed.</summary>
    internal bool TryCloseWith(Exception? error) => CloseCore(error);

    private bool CloseCore(Exception? error)
    {
        CheckBubble();
        if (_receiveOnly) ThrowHelper.ReceiveOnly();
        return CloseNow(error);
    }

    /// <summary>Closes the channel, whatever its flavour (an IPC receive endpoint is closed by its Dispose); false if already closed.</summary>
    private bool CloseNow(Exception? error)
    {
        _lock.Enter();
        AssertInvariants();
        if (_closed)
        {
            _lock.Exit();
            return false;
        }
        var wake = CloseLocked(error);
        _lock.Exit();
        Sudog.WakeAll(wake); // outside the lock, in FIFO order
        return true;
    }

    /// <summary>
    /// Marks the channel closed and returns the wake list: parked receivers (default, ok = false), parked senders
    /// (failed), readiness waiters, the completion, and last an IPC endpoint's transport. Caller holds the lock and
    /// has checked the channel is open.
    /// </summary>
    private Sudog? CloseLocked(Exception? error)
    {
        Sudog? first = null, last = null;
        CloseError = error; // published by the unlock, before anyone can see the channel closed
        Volatile.Write(ref _closed, true);
        while (_recvq.DequeueClaimed() is { } r)
        {
            r.Value = default!;
            r.Ok = false;
            Append(ref first, ref last, r);
        }
        while (_sendq.DequeueClaimed() is { } s)
        {
            s.Ok = false;
            Append(ref first, ref last, s);
        }
        // Readiness waiters (ChannelReader/Writer adapters): a reader waits only on an empty ring, so both learn "closed".
        var ready = Sudog.Concat(_readyReadq.TakeAll(ok: false), _readyWriteq.TakeAll(ok: false));
        ready = Sudog.Concat(ready, DrainSignalLocked());
        ready = Sudog.Concat(ready, _closedNode); // null unless an IPC endpoint: its transport learns it after the lock
        if (ready is not null)
        {
            if (last is null) first = ready;
            else last.WakeNext = ready;
        }
        return first;
    }

    private static void Append(ref Sudog? first, ref Sudog? last, Sudog s)
    {
        if (last is null) first = s;
        else last.WakeNext = s;
        last = s;
    }
}
