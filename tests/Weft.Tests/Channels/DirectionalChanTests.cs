using System.Reflection;
using Xunit;

namespace Weft.Tests.Channels;

/// <summary>Go's directional channels: ReceiveOnlyChan (<c>&lt;-chan T</c>) and SendOnlyChan (<c>chan&lt;- T</c>).</summary>
public class DirectionalChanTests
{
    private static ReceiveOnlyChan<int> Generate(int n)
    {
        var ch = new Chan<int>();
        Go.Run(async () =>
        {
            for (int i = 0; i < n; i++) await ch.SendAsync(i);
            ch.Close();
        });
        return ch; // implicit, as Go's chan T -> <-chan T
    }

    private static async Task Produce(SendOnlyChan<int> output, int n)
    {
        for (int i = 0; i < n; i++) await output.SendAsync(i);
        output.Close();
    }

    [Fact]
    public async Task A_generator_returning_a_receive_only_channel_delivers_every_value_in_order()
    {
        var got = await GoTask.Run(async () =>
        {
            var list = new List<int>();
            await foreach (int v in Generate(200)) list.Add(v);
            return list;
        }).Within();
        Assert.Equal(Enumerable.Range(0, 200), got);
    }

    [Fact]
    public async Task A_producer_given_a_send_only_channel_sends_and_closes()
    {
        var ch = new Chan<int>(4);
        var producer = GoTask.Run(() => Produce(ch, 50));
        ReceiveOnlyChan<int> input = ch;
        var got = new List<int>();
        while (true)
        {
            var (v, ok) = await input.ReceiveOkAsync().Within();
            if (!ok) break;
            got.Add(v);
        }
        await producer.Within();
        Assert.Equal(Enumerable.Range(0, 50), got);
        Assert.True(input.IsClosed);
        Assert.True(input.TryReceive(out _, out bool okAfter));
        Assert.False(okAfter);
    }

    [Fact]
    public void Each_direction_exposes_only_its_half_and_cannot_be_turned_back()
    {
        static string[] Names(Type t) => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static).Select(m => m.Name).ToArray();
        var recv = Names(typeof(ReceiveOnlyChan<int>));
        var send = Names(typeof(SendOnlyChan<int>));
        Assert.DoesNotContain(recv, n => n.StartsWith("Send") || n.StartsWith("TrySend") || n == "Close" || n == "AsChannelWriter");
        Assert.DoesNotContain(send, n => n.StartsWith("Receive") || n.StartsWith("TryReceive") || n == "GetAsyncEnumerator" || n == "AsChannelReader");
        // No public way back to the bidirectional channel: no property or conversion yields a Chan<T>.
        foreach (var t in new[] { typeof(ReceiveOnlyChan<int>), typeof(SendOnlyChan<int>) })
        {
            Assert.DoesNotContain(t.GetProperties(BindingFlags.Public | BindingFlags.Instance), p => p.PropertyType == typeof(Chan<int>));
            Assert.DoesNotContain(t.GetMethods(BindingFlags.Public | BindingFlags.Static), m => m.ReturnType == typeof(Chan<int>));
        }
    }

    [Fact]
    public async Task Directional_channels_work_as_select_cases_and_the_default_is_a_nil_channel()
    {
        var ch = new Chan<int>(1);
        ReceiveOnlyChan<int> input = ch;
        SendOnlyChan<int> output = ch;
        var sel = new Select();
        var put = sel.Send(output, 7);
        sel.Receive(default(ReceiveOnlyChan<int>)); // never ready
        sel.Default();
        Assert.Equal(put.Index, await sel.WaitAsync().Within());

        var sel2 = new Select();
        sel2.Send(default(SendOnlyChan<int>), 1); // never ready
        var get = sel2.Receive(input);
        sel2.Default();
        Assert.Equal(get.Index, await sel2.WaitAsync().Within());
        Assert.Equal(7, get.Value);
        Assert.True(get.Ok);

        // Nil cases alone: only the default is ever chosen.
        var sel3 = new Select();
        sel3.Receive(default(ReceiveOnlyChan<int>));
        sel3.Send(default(SendOnlyChan<int>), 1);
        int d3 = sel3.Default();
        Assert.Equal(d3, await sel3.WaitAsync().Within());
    }

    [Fact]
    public void Operations_on_the_default_value_are_a_clear_error_not_a_hang()
    {
        var nilRecv = default(ReceiveOnlyChan<int>);
        var nilSend = default(SendOnlyChan<int>);
        Assert.True(nilRecv.IsNil);
        Assert.True(nilSend.IsNil);
        var e = Assert.Throws<InvalidOperationException>(() => nilRecv.TryReceive(out _));
        Assert.Contains("nil channel", e.Message);
        Assert.Throws<InvalidOperationException>(() => { _ = nilRecv.ReceiveAsync(); });
        Assert.Throws<InvalidOperationException>(() => nilSend.TrySend(1));
        Assert.Throws<InvalidOperationException>(() => nilSend.Close());
        Assert.Throws<InvalidOperationException>(() => { _ = nilSend.Len; });
    }

    [Fact]
    public void Equality_is_the_channel_identity_and_timer_channels_cannot_become_send_only()
    {
        var a = new Chan<int>();
        var b = new Chan<int>();
        ReceiveOnlyChan<int> ra1 = a, ra2 = a, rb = b;
        SendOnlyChan<int> sa1 = a, sa2 = a;
        Assert.True(ra1 == ra2);
        Assert.True(ra1 != rb);
        Assert.Equal(ra1.GetHashCode(), ra2.GetHashCode());
        Assert.True(sa1 == sa2);
        Assert.Equal(default(ReceiveOnlyChan<int>), new ReceiveOnlyChan<int>(null));
        ReceiveOnlyChan<DateTime> timer = Go.After(TimeSpan.FromHours(1)); // fine: a timer channel is receive-only
        Assert.False(timer.IsNil);
        // SendOnlyChan<DateTime> s = Go.After(...) does not compile: TimerTests.A_timer_channel_is_receive_only.
    }
}
