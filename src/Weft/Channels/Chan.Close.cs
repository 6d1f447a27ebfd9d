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
        CheckBubble();
        if (_receiveOnly) ThrowHelper.ReceiveOnly();
        Sudog? first = null, last = null;
        _lock.Enter();
        AssertInvariants();
        if (_closed)
        {
            _lock.Exit();
            ThrowHelper.ClosedTwice();
        }
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
        _lock.Exit();
        // Outside the lock, in FIFO order. Read the link before Wake: the woken owner may reuse the node at once.
        while (first is not null)
        {
            var next = first.WakeNext;
            first.WakeNext = null;
            first.Wake();
            first = next;
        }
    }

    private static void Append(ref Sudog? first, ref Sudog? last, Sudog s)
    {
        if (last is null) first = s;
        else last.WakeNext = s;
        last = s;
    }
}
