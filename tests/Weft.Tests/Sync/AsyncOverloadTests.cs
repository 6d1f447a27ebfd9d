using System.Runtime.CompilerServices;
using Weft.Sync;
using Xunit;

namespace Weft.Tests.Sync;

/// <summary>
/// The ValueTask and token overloads of Go.Run, WaitGroup.Go and ErrGroup.Go run the work to completion and keep its
/// exception, and WaitGroup.Go/ErrGroup.Go name the caller's line as the goroutine's origin. Overload choice itself is
/// pinned at compile level in Weft.Analyzers.Tests.
/// </summary>
public class AsyncOverloadTests
{
    private static int Here([CallerLineNumber] int line = 0) => line;

    private static string ThisFile([CallerFilePath] string file = "") => file;

    [Fact]
    public async Task Go_Run_of_a_ValueTask_lambda_reports_its_exception()
    {
        var closed = new Chan<int>();
        closed.Close();
        var seen = new TaskCompletionSource<GoroutineExceptionEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        int line = 0;
        EventHandler<GoroutineExceptionEventArgs> handler = (_, e) =>
        {
            if (e.StartedAt == $"{ThisFile()}:{Volatile.Read(ref line)}") seen.TrySetResult(e);
        };
        Go.UnhandledException += handler;
        try
        {
            Volatile.Write(ref line, Here()); Go.Run(() => closed.SendAsync(1));
            var e = await seen.Task.Within();
            Assert.IsType<ChannelClosedException>(e.Exception);
        }
        finally
        {
            Go.UnhandledException -= handler;
        }
    }

    [Fact]
    public async Task WaitGroup_Go_of_a_ValueTask_lambda_is_Done_only_when_the_task_completes()
    {
        var wg = new WaitGroup();
        var ch = new Chan<int>();
        wg.Go(() => ch.SendAsync(5));
        var waiting = wg.WaitAsync();
        Assert.Equal(1, wg.Count); // an unbuffered send cannot complete before the receive below
        Assert.Equal(5, await ch.ReceiveAsync().Within());
        await waiting.Within();
        Assert.Equal(0, wg.Count);

        int ran = 0;
        wg.Go(() => { Interlocked.Increment(ref ran); });
        await wg.WaitAsync().Within();
        Assert.Equal(1, ran);
    }

    [Fact]
    public async Task ErrGroup_Go_passes_the_groups_token_and_keeps_a_ValueTask_exception()
    {
        var g = new ErrGroup();
        var tokens = new Chan<CancellationToken>(4);
        var closed = new Chan<int>();
        closed.Close();
        g.Go(async token =>
        {
            await tokens.SendAsync(token);
            await Go.Sleep(Timeout.InfiniteTimeSpan, token); // ends when the failure below cancels the group
        });
        await g.GoAsync(token => tokens.SendAsync(token));
        Assert.True(g.TryGo(async token => await tokens.SendAsync(token)));
        Assert.True(g.TryGo(token => tokens.SendAsync(token)));
        for (int i = 0; i < 4; i++) Assert.Equal(g.Token, await tokens.ReceiveAsync().Within());
        g.Go(() => closed.SendAsync(1));
        await Assert.ThrowsAsync<ChannelClosedException>(() => g.WaitAsync().Within());
        Assert.IsType<ChannelClosedException>(g.Cause);
    }

    [Fact]
    public async Task WaitGroup_Go_and_ErrGroup_Go_name_the_callers_line_in_the_dump()
    {
        using var stop = new CancellationTokenSource();
        var wg = new WaitGroup();
        var g = new ErrGroup(stop.Token);
        int wgLine = Here(); wg.Go(() => Go.Sleep(Timeout.InfiniteTimeSpan, stop.Token));
        int gLine = Here(); g.Go(async token => await Go.Sleep(Timeout.InfiniteTimeSpan, token));
        string file = ThisFile();
        await Runtime.GoroutineTests.Eventually(() =>
        {
            string dump = Go.Dump();
            return dump.Contains($"{file}:{wgLine}", StringComparison.Ordinal) && dump.Contains($"{file}:{gLine}", StringComparison.Ordinal);
        });
        stop.Cancel();
        await wg.WaitAsync().Within();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => g.WaitAsync().Within());
    }
}
