using Xunit;
using Semaphore = Weft.Sync.Semaphore;

namespace Weft.Tests.Sync;

/// <summary>
/// The ValueTask a Weft.Sync wait returns (Waiter, an IValueTaskSource): its status before it is read, and the one-read
/// rule after. The waits here are cancellable, so each has a fresh waiter of its own (never a pooled one).
/// </summary>
public class WaiterValueTaskTests
{
    private static void WaitUntilCompleted(ValueTask vt) =>
        Assert.True(SpinWait.SpinUntil(() => vt.IsCompleted, TestTimeout.Default), "the wait did not complete");

    /// <summary>A one-token semaphore held by the test, and a cancellable wait for its token, pending.</summary>
    private static (Semaphore Sem, ValueTask Wait) PendingWait(CancellationToken token)
    {
        var sem = new Semaphore(1);
        Assert.True(sem.TryAcquire(1));
        var vt = sem.AcquireAsync(1, token);
        Assert.False(vt.IsCompleted);
        return (sem, vt);
    }

    [Fact]
    public async Task A_granted_wait_reports_success_before_it_is_read_and_refuses_every_use_after_its_one_read()
    {
        using var cts = new CancellationTokenSource();
        var (sem, vt) = PendingWait(cts.Token);
        var early = Assert.Throws<InvalidOperationException>(() => vt.GetAwaiter().GetResult());
        Assert.Contains("before it completed", early.Message);

        sem.Release(1); // the waiter is granted the token
        WaitUntilCompleted(vt);
        Assert.True(vt.IsCompletedSuccessfully);
        Assert.False(vt.IsCanceled);
        await vt;

        // Read once: every later use of the same ValueTask is the misuse it is, not a silent answer.
        Assert.Contains("awaited only once", Assert.Throws<InvalidOperationException>(() => vt.IsCompleted).Message);
        Assert.Contains("awaited only once", Assert.Throws<InvalidOperationException>(() => vt.GetAwaiter().OnCompleted(() => { })).Message);
        Assert.Contains("awaited only once", Assert.Throws<InvalidOperationException>(() => vt.GetAwaiter().GetResult()).Message);

        Assert.Equal(0, sem.Available); // the grant was this wait's, and only once
        sem.Release(1);
        Assert.Equal(1, sem.Available);
    }

    [Fact]
    public async Task A_cancelled_wait_reports_cancelled_before_it_is_read_and_throws_when_read()
    {
        using var cts = new CancellationTokenSource();
        var (sem, vt) = PendingWait(cts.Token);
        cts.Cancel();
        WaitUntilCompleted(vt);
        Assert.True(vt.IsCanceled);
        Assert.False(vt.IsCompletedSuccessfully);
        var e = await Assert.ThrowsAsync<OperationCanceledException>(async () => await vt);
        Assert.Equal(cts.Token, e.CancellationToken);

        sem.Release(1); // the cancelled wait took nothing: the one token comes back whole
        Assert.Equal(1, sem.Available);
        Assert.True(sem.TryAcquire(1));
    }
}
