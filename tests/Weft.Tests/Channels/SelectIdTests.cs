using Weft.Channels;
using Weft.Sync;
using Xunit;

namespace Weft.Tests.Channels;

public class SelectIdTests
{
    private struct A { public int V; }
    private struct B { public int V; }

    [Fact]
    public void Channels_of_different_element_types_never_share_a_select_id()
    {
        // A select locks each distinct id once: two channels with one id would leave one of them unlocked.
        var ids = new HashSet<long>();
        for (int i = 0; i < 100; i++)
        {
            Assert.True(ids.Add(((ISelectable<A>)new Chan<A>()).SelectId), "A Chan<A> got an id another channel has.");
            Assert.True(ids.Add(((ISelectable<B>)new Chan<B>(1)).SelectId), "A Chan<B> got an id another channel has.");
            Assert.True(ids.Add(((ISelectable<int>)new Chan<int>()).SelectId), "A Chan<int> got an id another channel has.");
        }
    }

    [Fact]
    public async Task A_select_over_two_element_types_locks_both_and_loses_nothing()
    {
        const int n = 20_000;
        var a = new Chan<A>();
        var b = new Chan<B>();
        var got = new int[2];
        var senders = new WaitGroup();
        senders.Go(async () => { for (int i = 0; i < n; i++) await a.SendAsync(new A { V = i }); });
        senders.Go(async () => { for (int i = 0; i < n; i++) await b.SendAsync(new B { V = i }); });
        var sel = new Select();
        var ra = sel.Receive(a);
        var rb = sel.Receive(b);
        await GoTask.Run(async () =>
        {
            int nextA = 0, nextB = 0;
            for (int i = 0; i < 2 * n; i++)
            {
                int k = await sel.WaitAsync();
                if (k == ra.Index) Assert.Equal(nextA++, ra.Value.V);
                else Assert.Equal(nextB++, rb.Value.V);
            }
            got[0] = nextA; got[1] = nextB;
        }).Within();
        await senders.WaitAsync().AsTask().Within();
        Assert.Equal([n, n], got);
    }
}
