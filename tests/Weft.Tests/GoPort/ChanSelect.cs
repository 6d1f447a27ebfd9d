using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/select.go</c>: send cases on buffered channels, a case switched off by setting its channel
/// to nil once it has run, and a default that ends the loop when nothing is left ready.
/// </summary>
public sealed class ChanSelect
{
    private uint _counter;
    private int _shift;

    private uint GetValue()
    {
        _counter++;
        return 1u << _shift;
    }

    // Go evaluates every send operand on entry to the select, nil channels included; here each case's value is set
    // before each wait, so GetValue runs twice per select, as in Go.
    private async Task<int> Send(Chan<uint>? a, Chan<uint>? b)
    {
        int i = 0;
        var sel = new Select();
        var ca = sel.Send(a, 0u);
        var cb = sel.Send(b, 0u);
        int dflt = sel.Default();
        while (true)
        {
            ca.Value = GetValue();
            cb.Value = GetValue();
            int chosen = await sel.WaitAsync();
            if (chosen == dflt) break;
            i++;
            if (chosen == ca.Index) ca.Channel = null;
            else cb.Channel = null;
            _shift++;
        }
        return i;
    }

    [Fact]
    public async Task select()
    {
        await ChanProgram.Run(async _ =>
        {
            var a = new Chan<uint>(1);
            var b = new Chan<uint>(1);
            Assert.Equal(2, await Send(a, b));
            uint av = await a.ReceiveAsync(), bv = await b.ReceiveAsync();
            Assert.True((av | bv) == 3, $"bad values {av} {bv}");
            Assert.Equal(1, await Send(a, null));
            Assert.Equal(10u, _counter);
        });
    }
}
