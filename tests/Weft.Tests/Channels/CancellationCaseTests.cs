using Xunit;

namespace Weft.Tests.Channels;

/// <summary>Select's cancellation case (Go's <c>case &lt;-ctx.Done():</c>).</summary>
public class CancellationCaseTests
{
    [Fact]
    public async Task ATokenCancelledWhileTheSelectWaits_WinsWithItsIndex()
    {
        using var cts = new CancellationTokenSource();
        var ch = new Chan<int>();
        var result = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationCase? stop = null;
        Go.Run(async () =>
        {
            var sel = new Select();
            sel.Receive(ch);
            stop = sel.Cancellation(cts.Token);
            result.SetResult(await sel.WaitAsync());
        });
        await Task.Delay(20);
        Assert.False(result.Task.IsCompleted);
        cts.Cancel();
        Assert.Equal(1, await result.Task.Within());
        Assert.Equal(1, stop!.Index);
        Assert.False(ch.TrySend(1), "the losing receive case left its channel");
    }

    [Fact]
    public async Task ATokenAlreadyCancelled_CompetesWithTheOtherReadyCases()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var ch = new Chan<int>(1);
        var wins = new int[2];
        await GoTask.Run(async () =>
        {
            var sel = new Select();
            sel.Receive(ch);
            sel.Cancellation(cts.Token);
            for (int i = 0; i < 400; i++)
            {
                ch.TrySend(i);
                wins[await sel.WaitAsync()]++;
            }
        }).Within();
        Assert.InRange(wins[0], 50, 350); // uniform choice among ready cases: each wins about half the time
        Assert.InRange(wins[1], 50, 350);
    }

    [Fact]
    public async Task ATokenThatCannotBeCancelled_IsNeverReady_AndTheTokenCanChangeBetweenWaits()
    {
        var sel = new Select();
        var stop = sel.Cancellation(CancellationToken.None);
        int none = sel.Default();
        Assert.Equal(none, await sel.WaitAsync().AsTask().Within());
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        stop.Token = cts.Token;
        Assert.Equal(stop.Index, await sel.WaitAsync().AsTask().Within());
    }

    [Fact]
    public void TheBlockingWait_IsEndedByTheToken_AndAValueStillWins()
    {
        using var cts = new CancellationTokenSource();
        var ch = new Chan<int>();
        var sel = new Select();
        var value = sel.Receive(ch);
        var stop = sel.Cancellation(cts.Token);
        var sender = new Thread(() => ch.Send(7)) { IsBackground = true };
        sender.Start();
        Assert.Equal(value.Index, TestTimeout.Blocking(() => sel.Wait())); // bounded: a select that never wakes fails here
        Assert.Equal(7, value.Value);
        Assert.True(sender.Join(TestTimeout.Default));
        var canceller = new Thread(() => { Thread.Sleep(20); cts.Cancel(); }) { IsBackground = true };
        canceller.Start();
        Assert.Equal(stop.Index, TestTimeout.Blocking(() => sel.Wait()));
        Assert.True(canceller.Join(TestTimeout.Default));
    }

    [Fact]
    public void ABlockingLoop_WithACancellationCase_AllocatesNothingInSteadyState()
    {
        using var cts = new CancellationTokenSource();
        var ch = new Chan<int>();
        var sel = new Select();
        var value = sel.Receive(ch);
        sel.Cancellation(cts.Token);
        const int rounds = 2000;
        var sender = new Thread(() => { for (int i = 0; i < rounds; i++) ch.Send(i); }) { IsBackground = true };
        sender.Start();
        var (wrong, allocated) = TestTimeout.Blocking(() =>
        {
            int wrong = 0; // counted, not asserted, inside the loop: xUnit's Assert.Equal allocates a comparer per call
            for (int i = 0; i < 100; i++) if (Receive() != i) wrong++; // warm-up: registration nodes, parker, JIT
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 100; i < rounds; i++) if (Receive() != i) wrong++;
            return (wrong, GC.GetAllocatedBytesForCurrentThread() - before);
        });
        Assert.True(sender.Join(TestTimeout.Default));
        Assert.Equal(0, wrong);
        // Nothing per wait: a one-time allocation (a lock inflated the first time a wait outlasted its spin) may remain.
        Assert.True(allocated < 256, $"{allocated} bytes allocated by {rounds - 100} blocking waits");

        int Receive() => sel.Wait() == value.Index ? value.Value : -1;
    }
}
