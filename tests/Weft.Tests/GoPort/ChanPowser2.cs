using Xunit;
using static Weft.Tests.GoPort.ChanPowser1;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/powser2.go</c>: powser1's power series over channels of an interface (Go's
/// <c>chan item</c> holding <c>*rat</c>), so every coefficient is a reference behind an interface and equality goes
/// through the interface. The series code is <see cref="ChanPowser1.PowerSeries{T}"/>.
/// </summary>
public sealed class ChanPowser2
{
    private interface IItem
    {
        bool Eq(IItem c);
    }

    private sealed class RatRef(Rat value) : IItem
    {
        public Rat Value { get; } = value;

        public bool Eq(IItem c) => Value == ((RatRef)c).Value;
    }

    [Fact]
    public async Task powser2()
    {
        await ChanProgram.Run(p => new PowerSeries<IItem>(p, r => new RatRef(r), i => ((RatRef)i).Value, (x, y) => x.Eq(y)).RunChecks());
    }
}
