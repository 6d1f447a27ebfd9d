using System.Diagnostics;
using Weft.Runtime;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>A goroutine starts in its spawner's ExecutionContext (AsyncLocal, Activity.Current), as Task.Run does.</summary>
public class ContextFlowTests
{
    private static readonly AsyncLocal<string?> Local = new();

    private static async Task<(string? Before, string? After, Activity? ActivityBefore, Activity? ActivityAfter)> SeenInAGoroutine()
    {
        var seen = new TaskCompletionSource<(string?, string?, Activity?, Activity?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ch = new Chan<int>();
        Go.Run(async () =>
        {
            string? before = Local.Value;
            var activityBefore = Activity.Current;
            await ch.ReceiveAsync();     // parks: resumes later, from another goroutine's step
            await Task.Delay(1);         // a foreign await: resumes through a post
            seen.SetResult((before, Local.Value, activityBefore, Activity.Current));
        });
        await ch.SendAsync(1).AsTask().Within();
        return await seen.Task.Within();
    }

    [Fact]
    public async Task AnAsyncLocalAndActivityCurrent_AreSeenInsideTheGoroutine_BeforeAndAfterItsAwaits()
    {
        Local.Value = "from the spawner";
        using var activity = new Activity("spawner").Start();
        var (before, after, activityBefore, activityAfter) = await SeenInAGoroutine();
        Assert.Equal("from the spawner", before);
        Assert.Equal("from the spawner", after);
        Assert.Same(activity, activityBefore);
        Assert.Same(activity, activityAfter);
    }

    [Fact]
    public async Task WhatAGoroutineSets_StaysInItsOwnFlow()
    {
        Local.Value = "spawner";
        var done = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            Local.Value = "goroutine";
            await Go.Yield();
            done.SetResult(Local.Value);
        });
        Assert.Equal("goroutine", await done.Task.Within());
        Assert.Equal("spawner", Local.Value);
    }

    [Fact]
    public async Task SuppressFlow_StartsOneGoroutineWithoutTheContext()
    {
        Local.Value = "hidden";
        var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (ExecutionContext.SuppressFlow())
        {
            Go.Run(async () =>
            {
                await Go.Yield();
                seen.SetResult(Local.Value);
            });
        }
        Assert.Null(await seen.Task.Within());
    }

    [Fact]
    public async Task TheBubblesRootAndItsGoroutines_StartInTheTestsContext()
    {
        Local.Value = "test";
        string? root = null, child = null;
        await Weft.Testing.Bubble.Run(async bubble =>
        {
            root = Local.Value;
            Go.Run(() => child = Local.Value);
            await bubble.WaitIdleAsync();
        }).Within();
        Assert.Equal("test", root);
        Assert.Equal("test", child);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("1", true)]
    [InlineData(" TRUE ", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("false", false)]
    [InlineData("Off", false)]
    public void TheEnvironmentVariable_IsParsed(string? value, bool expected) =>
        Assert.Equal(expected, RuntimeConfig.FromEnvironment(name => name == ContextFlow.Variable ? value : null).FlowExecutionContext);

    [Theory]
    [InlineData("")]
    [InlineData("yes")]
    [InlineData("2")]
    public void ABadValue_IsAClearError(string value)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => RuntimeConfig.FromEnvironment(name => name == ContextFlow.Variable ? value : null));
        Assert.Contains(ContextFlow.Variable, ex.Message);
        Assert.Contains("expected", ex.Message);
    }
}

/// <summary>Go.FlowExecutionContext is process-wide, so the test that turns it off runs alone.</summary>
[Collection(nameof(LiveGoroutineCountTests))]
public class ContextFlowOffTests
{
    private static readonly AsyncLocal<string?> Local = new();

    [Fact]
    public async Task WithFlowOffProcessWide_AGoroutineSeesNoneOfTheSpawnersValues()
    {
        Local.Value = "spawner";
        bool saved = Go.FlowExecutionContext;
        Go.FlowExecutionContext = false;
        try
        {
            var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(() => seen.SetResult(Local.Value));
            Assert.Null(await seen.Task.Within());
        }
        finally
        {
            Go.FlowExecutionContext = saved;
        }
        var again = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(() => again.SetResult(Local.Value));
        Assert.Equal("spawner", await again.Task.Within());
    }
}
