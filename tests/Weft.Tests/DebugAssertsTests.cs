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
        var e = Assert.Throws<InvariantViolatedException>(() => Debug.Assert(false, "A channel never has both blocked senders and blocked receivers."));
        Assert.Contains("never has both", e.Message);
    }
#endif
}
