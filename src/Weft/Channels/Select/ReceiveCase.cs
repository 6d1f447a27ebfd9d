using Weft.Channels;

namespace Weft;

/// <summary>
/// A receive case of a <see cref="Select"/> (Go's <c>case v, ok := &lt;-ch:</c>). After the select returns this case's
/// <see cref="SelectCase.Index"/>, <see cref="Value"/> and <see cref="Ok"/> hold what was received.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <example><code>
/// var sel = new Select();
/// var fromA = sel.Receive(a);
/// if (await sel.WaitAsync() == fromA.Index) Console.WriteLine(fromA.Value);
/// </code></example>
public sealed class ReceiveCase<T> : SelectCase
{
    private readonly Sudog<T> _node = new();
    private readonly Timer? _timeout;   // set for Select.Timeout cases: the timer whose channel this case reads
    private readonly TimeSpan _after;
    private Chan<T>? _channel;

    internal ReceiveCase(int index, Chan<T>? channel) : base(index) => _channel = channel;

    internal ReceiveCase(int index, Timer timeout, TimeSpan after) : base(index)
    {
        _timeout = timeout;
        _after = after;
        _channel = (Chan<T>)(object)timeout.Channel;
    }

    /// <summary>The channel this case receives from; set it to null to disable the case (Go's nil channel idiom).</summary>
    /// <exception cref="InvalidOperationException">Set on a timeout case, or while the select waits.</exception>
    public Chan<T>? Channel
    {
        get => _channel;
        set
        {
            if (_timeout is not null) throw new InvalidOperationException("A timeout case's channel is its own timer's.");
            CheckNotWaiting();
            _channel = value;
        }
    }

    /// <summary>The value received when this case won; <c>default</c> if <see cref="Ok"/> is false.</summary>
    public T? Value => _node.Value;

    /// <summary>True if a value was received when this case won; false if the channel was closed and drained.</summary>
    public bool Ok => _node.Ok;

    private ISelectable<T> Source => _channel!;

    internal override bool IsActive => _channel is not null;
    internal override long SelectId => Source.SelectId;
    internal override void Lock() => Source.SelectLock();
    internal override void Unlock() => Source.SelectUnlock();
    internal override bool Peek() => Source.Peek(send: false);
    internal override OpStatus TryLocked(out Sudog? wake) => Source.TryLocked(_node, send: false, out wake);

    internal override Sudog? EnqueueLocked(SelectCore core)
    {
        _node.Select = core;
        _node.CaseIndex = Index;
        return Source.EnqueueLocked(_node, send: false);
    }

    internal override void DequeueLocked()
    {
        if (_node.Queued) Source.DequeueLocked(_node, send: false);
    }

    internal override void Dequeue()
    {
        // Queued only goes true -> false behind the owner's back (a claimant dequeued it). A claimant may still be
        // between that dequeue and its CAS on the done word: harmless, because the next wait reopens the word only
        // under every source's lock (SelectCore.Prepare, Reopen), so the CAS fails against this wait's decision.
        if (!_node.Queued) return;
        var s = Source;
        s.SelectLock();
        s.DequeueLocked(_node, send: false);
        s.SelectUnlock();
    }

    internal override void BeforeBlock() => _timeout?.Reset(_after);

    internal override void AfterBlock() => _timeout?.Stop();
}
