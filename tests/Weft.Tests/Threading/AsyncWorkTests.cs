using Xunit;
using Weft.Threading;

namespace Weft.Tests.Threading;

/// <summary>
/// Async work handed to a <see cref="ThreadPoolExecutor"/> runs to completion on its worker: Submit's task carries
/// the async result and exception (not a task of a task), and Execute's async work holds its thread until it ends, so
/// termination waits for it. Which overload a lambda binds to is pinned at compile level in Weft.Analyzers.Tests.
/// </summary>
public sealed class AsyncWorkTests : PoolTestBase
{
    private ThreadPoolExecutor OneThread(RejectionPolicy? policy = null, int queue = int.MaxValue) =>
        Pool(new() { CorePoolSize = 1, MaximumPoolSize = 1, QueueCapacity = queue, RejectionPolicy = policy ?? RejectionPolicy.Abort });

    [Fact]
    public async Task Submit_of_an_async_lambda_gives_its_result()
    {
        var pool = OneThread();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<int> result = pool.Submit(async () => { await gate.Task; return 1; });
        gate.SetResult();
        Assert.Equal(1, await result.Within());
    }

    [Fact]
    public async Task Submit_of_an_async_lambda_completes_with_the_work_and_carries_its_exception()
    {
        var pool = OneThread();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task done = pool.Submit(async () =>
        {
            await gate.Task;
            throw new InvalidOperationException("after the await");
        });
        Task<int> valueDone = pool.Submit(async ValueTask<int> () => { await gate.Task; throw new TimeoutException("value"); });
        gate.SetResult();
        // Were the lambda's task dropped (Task<Task>), `done` would succeed before the work ended and never throw.
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => done.Within());
        Assert.Equal("after the await", e.Message);
        await Assert.ThrowsAsync<TimeoutException>(() => valueDone.Within());
    }

    [Fact]
    public async Task A_ValueTask_lambda_is_awaited_by_Submit_and_Execute()
    {
        var pool = OneThread();
        var ch = new Chan<int>();
        Task sent = pool.Submit(() => ch.SendAsync(7));
        Assert.Equal(7, await ch.ReceiveAsync().Within());
        await sent.Within();

        var closed = new Chan<int>();
        closed.Close();
        await Assert.ThrowsAsync<ChannelClosedException>(() => pool.Submit(() => closed.SendAsync(1)).Within());
    }

    [Fact]
    public async Task Execute_of_async_work_holds_its_thread_until_the_work_ends()
    {
        var errors = new List<Exception?>();
        var pool = Pool(new()
        {
            CorePoolSize = 1,
            MaximumPoolSize = 1,
            AfterExecute = (_, e) => { lock (errors) errors.Add(e); },
        });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool ended = false;
        pool.Execute(async () =>
        {
            started.SetResult();
            await gate.Task;
            ended = true;
            throw new InvalidOperationException("async failure");
        });
        await started.Task.Within();
        pool.Shutdown();
        // An async void binding would have freed the thread at the await and let the pool terminate.
        Assert.False(pool.AwaitTermination(TimeSpan.FromMilliseconds(100)));
        Assert.Equal(1, pool.ActiveCount);
        gate.SetResult();
        Assert.True(await pool.AwaitTerminationAsync(TestTimeout.Default));
        Assert.True(ended);
        lock (errors) Assert.Equal("async failure", Assert.IsType<InvalidOperationException>(Assert.Single(errors)).Message);
    }

    [Fact]
    public async Task CallerRuns_and_ShutdownNow_rethrow_an_async_Execute_tasks_exception()
    {
        var pool = OneThread(RejectionPolicy.CallerRuns, queue: 1);
        var blocker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pool.Execute(async () => { started.SetResult(); await blocker.Task; });
        await started.Task.Within();
        pool.Execute(async () => { await Task.Yield(); throw new InvalidOperationException("queued"); }); // fills the queue
        // The queue is full: CallerRuns runs this one here, to completion, and its exception reaches the caller.
        var e = Assert.Throws<InvalidOperationException>(() => pool.Execute(async () => { await Task.Yield(); throw new InvalidOperationException("caller runs"); }));
        Assert.Equal("caller runs", e.Message);
        var neverStarted = Assert.Single(pool.ShutdownNow());
        Assert.Equal("queued", Assert.Throws<InvalidOperationException>(neverStarted).Message);
        blocker.SetResult();
    }

    [Fact]
    public async Task A_scheduled_async_run_ends_with_its_task_and_faults_the_schedule_with_its_exception()
    {
        using var timers = new ScheduledExecutor();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var schedule = timers.Schedule(async () =>
        {
            await gate.Task;
            throw new InvalidOperationException("scheduled");
        }, TimeSpan.Zero);
        var valueSchedule = timers.Schedule(() => new ValueTask(gate.Task), TimeSpan.Zero);
        Assert.False(schedule.Completion.IsCompleted);
        gate.SetResult();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => schedule.Completion.Within());
        Assert.Equal("scheduled", e.Message);
        await valueSchedule.Completion.Within();
        Assert.Equal(1, valueSchedule.RunCount);
    }
}
