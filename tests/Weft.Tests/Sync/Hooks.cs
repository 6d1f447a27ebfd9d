using Weft.Sync;

namespace Weft.Tests.Sync;

/// <summary>Installs a <see cref="SyncTestHook"/> for one primitive and one window, for the length of a using block.</summary>
internal static class Hooks
{
    public static IDisposable At(object primitive, SyncTestHook.Window window, Action action)
    {
        SyncTestHook.At = (o, w) =>
        {
            if (ReferenceEquals(o, primitive) && w == window) action();
        };
        return new Remove();
    }

    private sealed class Remove : IDisposable
    {
        public void Dispose() => SyncTestHook.At = null;
    }

    /// <summary>Runs <paramref name="a"/> on a dedicated thread (a blocking form under test).</summary>
    public static Task OnThread(Action a) => Task.Factory.StartNew(a, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Polls <paramref name="condition"/> (a state another thread reaches) until it holds, or fails after the default timeout.</summary>
    public static void SpinUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestTimeout.Default;
        while (!condition())
        {
            DebugAsserts.ThrowIfViolated();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Never reached: {what}.");
            Thread.Sleep(1);
        }
    }
}

/// <summary>
/// A synchronization context that keeps what is posted to it until the test runs it. A waiter started under it
/// (<see cref="Start"/>) is woken as usual, but its continuation only runs in <see cref="RunAll"/>: until then it is
/// a woken waiter that has not run yet, holding whatever the waker gave it (a mutex's Woken bit, say), for as long
/// as the test needs a state that otherwise lasts a few microseconds.
/// </summary>
internal sealed class HeldContext : SynchronizationContext
{
    private readonly Queue<(SendOrPostCallback Callback, object? State)> _posts = new();

    /// <summary>Posts not run yet: a woken waiter's continuation is one.</summary>
    public int Pending { get { lock (_posts) return _posts.Count; } }

    public override void Post(SendOrPostCallback d, object? state)
    {
        lock (_posts) _posts.Enqueue((d, state));
    }

    public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException();

    /// <summary>Runs <paramref name="body"/> up to its first pending await with this context current, so its awaits resume here.</summary>
    public Task Start(Func<Task> body)
    {
        var previous = Current;
        SetSynchronizationContext(this);
        try { return body(); }
        finally { SetSynchronizationContext(previous); }
    }

    /// <summary>Runs the held posts, and those they post in turn, on the calling thread, until none is left.</summary>
    public void RunAll()
    {
        var previous = Current;
        SetSynchronizationContext(this);
        try
        {
            while (true)
            {
                (SendOrPostCallback Callback, object? State) next;
                lock (_posts)
                {
                    if (_posts.Count == 0) return;
                    next = _posts.Dequeue();
                }
                next.Callback(next.State);
            }
        }
        finally { SetSynchronizationContext(previous); }
    }
}
