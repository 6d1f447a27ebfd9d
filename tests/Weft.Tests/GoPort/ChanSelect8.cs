using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/select8.go</c>, which tests <c>break</c> inside one-, two- and three-case selects (a
/// gccgo bug). C# has no select statement to break out of; what carries over is that each of those selects picks a
/// case allowed to run, and only it.
/// </summary>
public sealed class ChanSelect8
{
    [Fact]
    public async Task select8()
    {
        await ChanProgram.Run(async p =>
        {
            var ch = new Chan<int>();
            p.Go(async () =>
            {
                while (true) await ch.SendAsync(5, p.Stop);
            });

            var one = new Select();
            var r1 = one.Receive(ch);
            Assert.Equal(r1.Index, await one.WaitAsync());
            Assert.Equal(5, r1.Value);

            var onlyDefault = new Select();
            int d2 = onlyDefault.Default();
            Assert.Equal(d2, await onlyDefault.WaitAsync());

            var two = new Select();
            var r3 = two.Receive(ch);
            int d3 = two.Default();
            int chosen = await two.WaitAsync();
            Assert.True(chosen == d3 || (chosen == r3.Index && r3.Value == 5), $"chose {chosen}");

            var three = new Select();
            var r4 = three.Receive(ch);
            var s4 = three.Send(ch, 10); // unreachable: nobody receives on ch
            int d4 = three.Default();
            chosen = await three.WaitAsync();
            Assert.NotEqual(s4.Index, chosen);
            Assert.True(chosen == d4 || (chosen == r4.Index && r4.Value == 5), $"chose {chosen}");
        });
    }
}
