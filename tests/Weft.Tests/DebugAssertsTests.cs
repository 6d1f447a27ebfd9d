using System.Diagnostics;
using System.Reflection;
using Xunit;

namespace Weft.Tests;

public class DebugAssertsTests
{
    private static bool OptimizerDisabled(Assembly a) => a.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled ?? false;

    [Fact]
    public void Weft_is_built_in_the_same_configuration_as_the_tests()
    {
        // The Debug pass is only worth running if the library under test has its invariant checks compiled in.
        Assert.Equal(OptimizerDisabled(typeof(DebugAssertsTests).Assembly), OptimizerDisabled(typeof(Chan<int>).Assembly));
    }

#if DEBUG
    [Fact]
    public void A_failed_invariant_check_throws_instead_of_ending_the_process()
    {
        using var expected = DebugAsserts.ExpectFailureOnThisThread();
        var e = Assert.Throws<InvariantViolatedException>(() => Debug.Assert(false, "A channel never has both blocked senders and blocked receivers."));
        Assert.Contains("never has both", e.Message);
    }
#endif

    [Fact]
    public async Task A_failed_check_on_a_weft_thread_is_recorded_and_stops_that_thread_instead_of_the_host()
    {
        const string name = "weft-probe";
        using var log = new InvariantLog();
        var listener = new DebugAsserts.ThrowingListener(log);
        var returned = false;
        var probe = new Thread(() =>
        {
            listener.Fail("A wait queue is touched only under its lock.", null);
            returned = true; // never: the listener stops the thread
        }) { IsBackground = true, Name = name };
        probe.Start();

        var recorded = await log.Violated.Within();
        Assert.Contains("only under its lock", recorded.Message);
        Assert.Contains(name, recorded.Message);
        Assert.True(log.ViolatedHandle.WaitOne(0));
        Assert.True(probe.IsAlive);
        Assert.False(probe.Join(TimeSpan.FromMilliseconds(50)));
        Assert.False(Volatile.Read(ref returned));
        var again = Assert.Throws<InvariantViolatedException>(log.ThrowIfViolated);
        Assert.Contains("only under its lock", again.Message);
    }

    [Fact]
    public async Task A_failed_check_on_a_test_thread_throws_and_is_recorded_only_once()
    {
        using var log = new InvariantLog();
        var listener = new DebugAsserts.ThrowingListener(log);
        log.ThrowIfViolated(); // a clean log: nothing to throw
        Assert.False(log.Violated.IsCompleted);

        var first = Assert.Throws<InvariantViolatedException>(() => listener.Fail("first", "detail"));
        Assert.Contains("first detail", first.Message);
        Assert.Throws<InvariantViolatedException>(() => listener.Fail("second", null));
        Assert.Same(first, await log.Violated.Within());
    }

    [Fact]
    public async Task In_a_mutation_run_an_exception_escaping_a_thread_is_recorded_and_stops_that_thread()
    {
        // What WEFT_MUTATION=1 installs as the process's unhandled-exception handler, called here on a probe thread
        // with a log of its own (the run's log would fail every later wait).
        using var log = new InvariantLog();
        var returned = false;
        var probe = new Thread(() =>
        {
            MutationRun.StopThisThread(log, new IndexOutOfRangeException("a mutated commit step"));
            returned = true; // never: the handler stops the thread
        }) { IsBackground = true, Name = "weft-m9" };
        probe.Start();

        var recorded = await log.Violated.Within();
        Assert.Contains("escaped thread weft-m9", recorded.Message);
        Assert.Contains("a mutated commit step", recorded.Message);
        Assert.False(probe.Join(TimeSpan.FromMilliseconds(50)));
        Assert.False(Volatile.Read(ref returned));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("0", false)]
    [InlineData("1", true)]
    public void WEFT_MUTATION_accepts_1_0_or_unset(string? value, bool active) => Assert.Equal(active, MutationRun.Parse(value));

    [Fact]
    public void WEFT_MUTATION_refuses_anything_else_with_the_allowed_values()
    {
        var e = Assert.Throws<InvalidOperationException>(() => MutationRun.Parse("yes"));
        Assert.Contains("'yes'", e.Message);
        Assert.Contains("expected 1", e.Message);
    }
}
