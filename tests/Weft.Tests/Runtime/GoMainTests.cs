using Weft.Testing;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>Go.Main's argument checks, in process (the runs themselves are in DeadlockProcessTests: one per process).</summary>
public class GoMainTests
{
    [Fact]
    public void ANullMainIsRejected()
    {
        Assert.Throws<ArgumentNullException>(() => Go.Main((Func<Task>)null!));
        Assert.Throws<ArgumentNullException>(() => Go.Main((Func<Task<int>>)null!));
        Assert.Throws<ArgumentNullException>(() => { _ = Go.RunMain((Func<Task>)null!); });
        Assert.Throws<ArgumentNullException>(() => { _ = Go.RunMain((Func<Task<int>>)null!); });
    }

    [Fact]
    public async Task GoMainFromAGoroutineIsAClearError()
    {
        var result = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(() =>
        {
            try
            {
                Go.Main(() => Task.CompletedTask);
                result.SetResult(null);
            }
            catch (Exception ex)
            {
                result.SetResult(ex);
            }
        });
        var error = await result.Task.Within();
        var ioe = Assert.IsType<InvalidOperationException>(error);
        Assert.Contains("not from a goroutine or a bubble", ioe.Message);
    }

    [Fact]
    public async Task RunMainFromABubbleIsAClearError()
    {
        await Bubble.Run(bubble =>
        {
            var ioe = Assert.Throws<InvalidOperationException>(() => { _ = Go.RunMain(() => Task.CompletedTask); });
            Assert.Contains("not from a goroutine or a bubble", ioe.Message);
            return Task.CompletedTask;
        }).Within();
    }
}
