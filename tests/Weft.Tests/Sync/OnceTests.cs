using Weft.Sync;
using Xunit;

namespace Weft.Tests.Sync;

public class OnceTests
{
    [Fact]
    public async Task RunsOnce_ForConcurrentCallers()
    {
        var once = new Once();
        int runs = 0;
        var wg = new WaitGroup();
        for (int i = 0; i < 50; i++)
        {
            bool async = i % 2 == 0;
            wg.Go(async () =>
            {
                if (async) await once.DoAsync(async () => { await Go.Yield(); Interlocked.Increment(ref runs); });
                else once.Do(() => Interlocked.Increment(ref runs));
                Assert.True(once.IsDone);
            });
        }
        await wg.WaitAsync().Within();
        Assert.Equal(1, runs);
    }

    [Fact]
    public void Once_Throws_EveryCallRethrows()
    {
        var once = new Once();
        int runs = 0;
        var e1 = Assert.Throws<InvalidOperationException>(() => once.Do(() => { runs++; throw new InvalidOperationException("boom"); }));
        var e2 = Assert.Throws<InvalidOperationException>(() => once.Do(() => runs++));
        Assert.Same(e1, e2);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task OnceValue_ComputesOnce_AndRethrows()
    {
        int runs = 0;
        var v = new OnceValue<int>(() => Interlocked.Increment(ref runs) * 42);
        Assert.Equal(42, v.Value);
        Assert.Equal(42, await v.GetAsync().AsTask().Within());
        Assert.Equal(1, runs);

        var bad = new OnceValue<string>(() => { runs++; throw new FormatException("bad"); });
        Assert.Throws<FormatException>(() => bad.Value);
        Assert.Throws<FormatException>(() => bad.Value);
        await Assert.ThrowsAsync<FormatException>(() => bad.GetAsync().AsTask().Within());
        Assert.Equal(2, runs);
    }
}
