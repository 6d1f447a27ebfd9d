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
        Sudog? first = null, last = null;
        _lock.Enter();
        AssertInvariants();
        if (_closed)
        {
            _lock.Exit();
            return false;
        }
        CloseError = error; // published by the unlock below, before anyone can see the channel closed
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
        if (ready is not null)
        {
            if (last is null) first = ready;
            else last.WakeNext = ready;
        }
        _lock.Exit();
        // Outside the lock, in FIFO order. Read the link before Wake: the woken owner may reuse the node at once.
        while (first is not null)
        {
            var next = first.WakeNext;
            first.WakeNext = null;
            first.Wake();
            first = next;
        }
        return true;
    }

    private static void Append(ref Sudog? first, ref Sudog? last, Sudog s)
    {
        if (last is null) first = s;
        else last.WakeNext = s;
        last = s;
    }
}
