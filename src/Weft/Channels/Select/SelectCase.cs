using Weft.Channels;

namespace Weft;

/// <summary>
/// One case of a <see cref="Select"/>: a receive (<see cref="ReceiveCase{T}"/>), a send (<see cref="SendCase{T}"/>),
/// a timeout, or the default. Created by the Select's methods and reused by every wait.
/// </summary>
public abstract class SelectCase
{
    private protected SelectCase(int index) => Index = index;

    /// <summary>The select this case belongs to; set when it is added.</summary>
    internal Select? Owner;

    /// <summary>
    /// Refuses a change to what the case waits on while its select waits: the wait's passes, its commit and a
    /// poster's claim lock the sources they read from the cases, and must find the same ones each time.
    /// </summary>
    private protected void CheckNotWaiting()
    {
        if (Owner is { IsWaiting: true }) throw new InvalidOperationException("A select's cases cannot be changed while it waits.");
    }

    /// <summary>This case's position in its Select, in the order cases were added: what <see cref="Select.WaitAsync"/> returns when this case wins.</summary>
    public int Index { get; }

    /// <summary>False for a case on a null channel (never ready) and for the default case.</summary>
    internal abstract bool IsActive { get; }

    internal abstract long SelectId { get; }

    internal abstract void Lock();
    internal abstract void Unlock();
    internal abstract bool Peek();
    internal abstract OpStatus TryLocked(out Sudog? wake);
    internal abstract Sudog? EnqueueLocked(SelectCore core);

    /// <summary>Dequeues this case's node if it is still parked, with the source already locked (a commit's cleanup).</summary>
    internal abstract void DequeueLocked();

    /// <summary>Dequeues this case's node if it is still parked (the owner's cleanup, one lock at a time).</summary>
    internal abstract void Dequeue();

    /// <summary>True if this case completed as a send on a closed channel (the select then throws).</summary>
    internal virtual bool FailedClosed => false;

    /// <summary>Before the select may block (timeouts arm their timer here, outside every channel lock).</summary>
    internal virtual void BeforeBlock() { }

    /// <summary>After the select's nodes are queued and every lock released (cancellation cases register their callback here).</summary>
    internal virtual void AfterEnqueue(SelectCore core) { }

    /// <summary>After the select has decided (timeouts stop their timer, cancellation cases drop their callback).</summary>
    internal virtual void AfterBlock() { }
}
