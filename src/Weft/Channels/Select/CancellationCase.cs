using Weft.Channels;

namespace Weft;

/// <summary>
/// A case of a <see cref="Select"/> that is ready once its token is cancelled (Go's <c>case &lt;-ctx.Done():</c>).
/// Created by <see cref="Select.Cancellation"/>.
/// </summary>
/// <example><code>
/// var stop = sel.Cancellation(token);
/// if (await sel.WaitAsync() == stop.Index) return; // cancelled
/// </code></example>
public sealed class CancellationCase : SelectCase
{
    private SelectCore? _core;                           // the wait this case's callback may decide; set while it blocks
    private CancellationTokenRegistration _registration; // owned by the select's owner: registered and disposed by it

    internal CancellationCase(int index, CancellationToken token) : base(index) => Token = token;

    /// <summary>The token; change it between waits. A token that cannot be cancelled makes a case that is never ready.</summary>
    /// <exception cref="InvalidOperationException">Set while the select waits.</exception>
    public CancellationToken Token
    {
        get => _token;
        set
        {
            CheckNotWaiting();
            _token = value;
        }
    }

    private CancellationToken _token;

    internal override bool IsActive => Token.CanBeCanceled;

    // No channel: nothing to lock, and the case sorts after every channel in the global lock order.
    internal override long SelectId => long.MaxValue;
    internal override void Lock() { }
    internal override void Unlock() { }
    internal override bool Peek() => Token.IsCancellationRequested;

    internal override OpStatus TryLocked(out Sudog? wake)
    {
        wake = null;
        return Token.IsCancellationRequested ? OpStatus.Done : OpStatus.NotReady;
    }

    internal override Sudog? EnqueueLocked(SelectCore core)
    {
        _core = core;
        return null;
    }

    internal override void AfterEnqueue(SelectCore core)
    {
        // UnsafeRegister: the callback only claims the select; a token already cancelled runs it here, at once. A token
        // that cannot be cancelled registers nothing (the call returns an empty registration without allocating).
        _registration = Token.UnsafeRegister(static o => ((CancellationCase)o!).Fire(), this);
    }

    private void Fire()
    {
        if (_core is { } core && core.TryClaim(Index)) core.Signal();
    }

    internal override void DequeueLocked() { }

    internal override void Dequeue() { }

    internal override void AfterBlock()
    {
        // Waits for a callback that is running (it may still be signalling), so nothing of this wait is touched later.
        _registration.Dispose();
        _registration = default;
        _core = null;
    }
}
