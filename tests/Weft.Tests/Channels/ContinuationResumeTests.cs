using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// Where a Weft awaitable's continuation resumes and in which ExecutionContext, for each way of awaiting it: the
/// ThreadPool, a SynchronizationContext, a goroutine, each with and without a flowed ExecutionContext
/// (OnCompleted flows it, UnsafeOnCompleted does not). Continuation keeps the scheduler and the flowed context in
/// one field, so each combination is pinned here.
/// </summary>
public class ContinuationResumeTests
{
    private static readonly AsyncLocal<string?> Local = new();

    private sealed class CountingContext : SynchronizationContext
    {
        public int Posts;

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref Posts);
            ThreadPool.QueueUserWorkItem(_ =>
            {
                SetSynchronizationContext(this);
                d(state);
            });
        }
    }

    private static async Task<(string? Seen, SynchronizationContext? Context)> Park(bool flow, SynchronizationContext? context, string value)
    {
        var ch = new Chan<int>();
        var seen = new TaskCompletionSource<(string?, SynchronizationContext?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(context);
            Local.Value = value;
            var awaiter = ch.ReceiveAsync().GetAwaiter();
            Action resume = () => seen.TrySetResult((Local.Value, SynchronizationContext.Current));
            if (flow) awaiter.OnCompleted(resume);
            else awaiter.UnsafeOnCompleted(resume);
            Local.Value = null;
        });
        t.Start();
        Assert.True(t.Join(TestTimeout.Default), "the parking thread did not finish");
        await ch.SendAsync(1).AsTask().Within();
        return await seen.Task.Within();
    }

    [Fact]
    public async Task OnCompletedOnAPlainThread_FlowsTheContextToTheThreadPool()
    {
        var (seen, _) = await Park(flow: true, context: null, "pool-flowed");
        Assert.Equal("pool-flowed", seen);
    }

    [Fact]
    public async Task UnsafeOnCompletedOnAPlainThread_FlowsNothing()
    {
        var (seen, _) = await Park(flow: false, context: null, "pool-unflowed");
        Assert.Null(seen);
    }

    [Fact]
    public async Task OnCompletedUnderASynchronizationContext_PostsThereWithTheFlowedContext()
    {
        var sc = new CountingContext();
        var (seen, ran) = await Park(flow: true, sc, "sc-flowed");
        Assert.Equal("sc-flowed", seen);
        Assert.Same(sc, ran);
        Assert.Equal(1, Volatile.Read(ref sc.Posts));
    }

    [Fact]
    public async Task UnsafeOnCompletedUnderASynchronizationContext_PostsThereWithoutIt()
    {
        var sc = new CountingContext();
        var (seen, ran) = await Park(flow: false, sc, "sc-unflowed");
        Assert.Null(seen);
        Assert.Same(sc, ran);
        Assert.Equal(1, Volatile.Read(ref sc.Posts));
    }

    [Fact]
    public async Task OnCompletedInsideAGoroutine_ResumesOnThatGoroutineWithTheFlowedContext()
    {
        var ch = new Chan<int>();
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new TaskCompletionSource<(string?, bool)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new Chan<int>(1);
        Go.Run(async () =>
        {
            var self = SynchronizationContext.Current;
            Local.Value = "goroutine-flowed";
            ch.ReceiveAsync().AsTask().GetAwaiter(); // a first, ordinary wait of this step is queued and not parked on
            ch.ReceiveAsync().GetAwaiter().OnCompleted(() =>
                seen.TrySetResult((Local.Value, ReferenceEquals(SynchronizationContext.Current, self))));
            Local.Value = null;
            parked.SetResult();
            await done.ReceiveAsync();
        });
        await parked.Task.Within();
        await ch.SendAsync(1).AsTask().Within();
        await ch.SendAsync(2).AsTask().Within();
        var (value, onItsGoroutine) = await seen.Task.Within();
        Assert.Equal("goroutine-flowed", value);
        Assert.True(onItsGoroutine, "the continuation ran outside the goroutine that awaited");
        await done.SendAsync(0).AsTask().Within();
    }
}
