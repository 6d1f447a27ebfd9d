namespace Weft.Runtime;

/// <summary>
/// A binary semaphore on which one thread (an M, or sysmon) sleeps in the kernel until another thread unparks it
/// or its deadline passes. Never a sleep-and-poll loop: the wait is a Monitor wait, a futex on Linux.
/// </summary>
/// <remarks>
/// An unpark that arrives before the park is remembered (the permit), so the classic lost-wake-up between "decided
/// to sleep" and "asleep" cannot happen: the decision is made under the scheduler lock and the permit bridges the
/// gap after it is released.
/// </remarks>
internal sealed class Parker
{
    private readonly object _lock = new();
    private bool _permit; // guarded by _lock

    /// <summary>Sleeps until unparked or until <paramref name="deadline"/> (Clock ticks; Never = no deadline). True if unparked.</summary>
    public bool Park(long deadline)
    {
        lock (_lock)
        {
            while (!_permit)
            {
                int ms = Clock.MillisecondsUntil(deadline, Clock.Now);
                if (ms == 0) return false;
                if (!Monitor.Wait(_lock, ms) && !_permit) return false;
            }
            _permit = false;
            return true;
        }
    }

    public void Unpark()
    {
        lock (_lock)
        {
            _permit = true;
            Monitor.Pulse(_lock);
        }
    }
}
