using Weft.Channels;

namespace Weft;

/// <summary>
/// A send case of a <see cref="Select"/> (Go's <c>case ch &lt;- v:</c>). Set <see cref="Value"/> before each wait; when
/// the select returns this case's <see cref="SelectCase.Index"/>, the value was delivered.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <example><code>
/// var sel = new Select();
/// var toOut = sel.Send(output, 0);
/// toOut.Value = next; await sel.WaitAsync();
/// </code></example>
public sealed class SendCase<T> : SelectCase
{
    private readonly Sudog<T> _node = new();
    private Chan<T>? _channel;

    internal SendCase(int index, Chan<T>? channel, T value) : base(index)
    {
        Channel = channel;
        Value = value;
    }

    /// <summary>The channel this case sends to; set it to null to disable the case (Go's nil channel idiom).</summary>
    /// <exception cref="InvalidOperationException">The channel is a receive-only timer channel, or the select waits.</exception>
    public Chan<T>? Channel
    {
        get => _channel;
        set
        {
            if (value is { IsReceiveOnly: true }) ThrowHelper.ReceiveOnly();
            CheckNotWaiting();
            _channel = value;
        }
    }

    /// <summary>The value the next wait offers to send.</summary>
    public T Value { get; set; }

    private ISelectable<T> Source => _channel!;

    internal override bool IsActive => _channel is not null;
    internal override long SelectId => Source.SelectId;
    internal override void Lock() => Source.SelectLock();
    internal override void Unlock() => Source.SelectUnlock();
    internal override bool Peek() => Source.Peek(send: true);

    internal override OpStatus TryLocked(out Sudog? wake)
    {
        _node.Value = Value;
        _node.Ok = true;
        var status = Source.TryLocked(_node, send: true, out wake);
        if (status == OpStatus.Closed) _node.Ok = false; // FailedClosed, for a wait that ends in Finish
        return status;
    }

    internal override Sudog? EnqueueLocked(SelectCore core)
    {
        _node.Select = core;
        _node.CaseIndex = Index;
        _node.Value = Value;
        _node.Ok = false;
        return Source.EnqueueLocked(_node, send: true);
    }

    internal override void DequeueLocked()
    {
        if (_node.Queued) Source.DequeueLocked(_node, send: true);
    }

    internal override void Dequeue()
    {
        if (!_node.Queued) return; // exact when false: see ReceiveCase.Dequeue
        var s = Source;
        s.SelectLock();
        s.DequeueLocked(_node, send: true);
        s.SelectUnlock();
    }

    internal override bool FailedClosed => !_node.Ok;
}
