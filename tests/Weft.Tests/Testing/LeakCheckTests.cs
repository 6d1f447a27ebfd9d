using Weft.Testing;
using Xunit;

namespace Weft.Tests.Testing;

public class LeakCheckTests
{
    [Fact]
    public async Task ALeakedGoroutineFailsTheCheckWithItsDump()
    {
        var forever = new Chan<int>();
        var leaks = LeakCheck.Start(TimeSpan.FromMilliseconds(50));
        Go.Run(async () => await forever.ReceiveAsync());
        var ex = await Assert.ThrowsAsync<GoroutineLeakException>(() => leaks.VerifyAsync()).Within();
        Assert.Single(ex.Leaked);
        Assert.Contains("chan receive", ex.Leaked[0]);
        Assert.Contains(nameof(LeakCheckTests) + ".cs:", ex.Leaked[0]);
        forever.Close();
    }

    [Fact]
    public async Task GoroutinesThatFinishWithinTheGracePeriodPassAndOlderOnesAreIgnored()
    {
        var older = new Chan<int>();
        Go.Run(async () => await older.ReceiveAsync()); // alive before the check starts
        await using (var leaks = LeakCheck.Start())
        {
            var done = new Chan<int>();
            for (int i = 0; i < 10; i++) Go.Run(async () => await done.ReceiveAsync());
            done.Close(); // they finish shortly after; DisposeAsync waits for them
        }
        older.Close();
    }
}
