using System.Runtime.CompilerServices;
using Weft.Runtime;

namespace Weft;

/// <summary>The awaitable returned by <see cref="Go.Yield"/>. Allocates nothing.</summary>
public readonly struct YieldAwaitable
{
    /// <summary>Gets the awaiter.</summary>
    /// <returns>The awaiter.</returns>
    public Awaiter GetAwaiter() => default;

    /// <summary>The awaiter of <see cref="YieldAwaitable"/>.</summary>
    public readonly struct Awaiter : ICriticalNotifyCompletion
    {
        private static readonly Action<object?> s_invoke = static a => ((Action)a!).Invoke();

        /// <summary>Always false: yielding always suspends.</summary>
        public bool IsCompleted => false;

        /// <summary>Ends the await.</summary>
        public void GetResult() { }

        /// <summary>Schedules the continuation at the back of the global run queue (or, outside a goroutine, on the ThreadPool).</summary>
        /// <param name="continuation">The continuation.</param>
        public void OnCompleted(Action continuation) => Schedule(continuation, flowContext: true);

        /// <summary>Like <see cref="OnCompleted"/>, without flowing the ExecutionContext.</summary>
        /// <param name="continuation">The continuation.</param>
        public void UnsafeOnCompleted(Action continuation) => Schedule(continuation, flowContext: false);

        // Kept out of Schedule: a closure's captures would otherwise be allocated on every call, flowing or not.
        private static Action FlowingContext(Action continuation)
        {
            if (ExecutionContext.Capture() is not { } ec) return continuation;
            return () => ExecutionContext.Run(ec, static c => ((Action)c!).Invoke(), continuation);
        }

        private static void Schedule(Action continuation, bool flowContext)
        {
            ArgumentNullException.ThrowIfNull(continuation);
            if (Goroutine.Current is { } g)
            {
                g.NoteParking(WaitReason.Yield);
                if (flowContext) continuation = FlowingContext(continuation);
                g.ResumeYield(s_invoke, continuation);
                return;
            }
            var sc = SynchronizationContext.Current;
            if (sc is not null && sc.GetType() != typeof(SynchronizationContext))
            {
                sc.Post(static c => ((Action)c!).Invoke(), continuation);
            }
            else if (flowContext)
            {
                ThreadPool.QueueUserWorkItem(s_invoke, continuation, preferLocal: false);
            }
            else
            {
                ThreadPool.UnsafeQueueUserWorkItem(s_invoke, continuation, preferLocal: false);
            }
        }
    }
}
