using Xunit;
namespace Weft.Tests.Threading;

/// <summary>Bounded waits for tests: each fails the test after <see cref="Limit"/> instead of hanging.</summary>
internal static class Wait
{
    public static readonly TimeSpan Limit = TestTimeout.AtMost(TimeSpan.FromSeconds(10));

    /// <summary>Waits for a condition on a metric (not for a fixed time); fails after <see cref="Limit"/>.</summary>
    public static void Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            DebugAsserts.ThrowIfViolated();
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out after {Limit.TotalSeconds} s waiting until {what}.");
            Thread.Sleep(1);
        }
    }

    public static void For(ManualResetEventSlim e, string what) =>
        Assert.True(e.Wait(Limit), $"Timed out waiting for {what}.");

    public static void For(CountdownEvent e, string what) =>
        Assert.True(e.Wait(Limit), $"Timed out waiting for {what}.");

    public static void For(Task t, string what) =>
        Assert.True(((IAsyncResult)t).AsyncWaitHandle.WaitOne(Limit), $"Timed out waiting for {what}.");
}
