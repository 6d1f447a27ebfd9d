using System.Collections.Concurrent;
using Weft.Testing;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>
/// Tests that read <see cref="Go.NumGoroutine"/>, a process-wide count. Any other test class running at the same
/// time starts and ends goroutines of its own, so these run alone (xUnit runs a non-parallel collection after the
/// parallel ones, one test at a time).
/// </summary>
[CollectionDefinition(nameof(LiveGoroutineCountTests), DisableParallelization = true)]
public sealed class LiveGoroutineCountCollection;

[Collection(nameof(LiveGoroutineCountTests))]
public class LiveGoroutineCountTests
{
    [Fact]
    public async Task NumGoroutineCountsLiveGoroutines()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Goroutines that earlier tests left parked (sleeps, abandoned receives) may still end while this runs,
        // so the count is checked against what this test alone guarantees.
        int finished = 0;
        for (int i = 0; i < 1000; i++)
        {
            Go.Run(async () =>
            {
                await release.Task;
                Interlocked.Increment(ref finished);
            });
        }
        Assert.True(Go.NumGoroutine >= 1000, $"NumGoroutine={Go.NumGoroutine}, but 1000 are parked on one task");
        int whileParked = Go.NumGoroutine;
        release.SetResult();
        await GoroutineTests.Eventually(() => Volatile.Read(ref finished) == 1000 && Go.NumGoroutine <= whileParked - 1000);
    }

    [Fact]
    public async Task AnAsyncLambdaPicksTheTaskOverloadAndIsCountedUntilItsEnd()
    {
        var order = new ConcurrentQueue<string>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int before = Go.NumGoroutine;
        Go.Run(async () =>
        {
            order.Enqueue("start");
            await release.Task;
            order.Enqueue("after await");
            done.SetResult();
        });
        await GoroutineTests.Eventually(() => order.Count == 1);
        // Parked on a Task, the goroutine is still live: the Task overload awaited past the first await.
        Assert.True(Go.NumGoroutine >= 1);
        release.SetResult();
        await done.Task.Within();
        Assert.Equal(new[] { "start", "after await" }, order);
        await GoroutineTests.Eventually(() => Go.NumGoroutine <= before);
    }

    [Fact]
    public async Task BubbleGoroutinesLeaveNoLiveGoroutinesBehind()
    {
        int before = Go.NumGoroutine;
        await Bubble.Run(async () =>
        {
            for (int i = 0; i < 100; i++) Go.Run(async () => await Go.Sleep(TimeSpan.FromSeconds(i)));
            await Go.Sleep(TimeSpan.FromMinutes(10));
        }).Within();
        Assert.True(Go.NumGoroutine <= before, $"{Go.NumGoroutine} live after, {before} before");
    }
}
