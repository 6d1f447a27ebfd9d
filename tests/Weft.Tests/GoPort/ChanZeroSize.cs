using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/zerosize.go</c>: channels of an empty element type, unbuffered and buffered. .NET has no
/// zero-sized type (an empty struct takes a byte, and there is no <c>[0]byte</c>); <see cref="ValueTuple"/>, .NET's
/// unit type, is the nearest to Go's <c>struct{}</c>, the usual element of a signal channel.
/// </summary>
public sealed class ChanZeroSize
{
    private readonly struct Empty;

    [Fact]
    public async Task zerosize()
    {
        _ = new Chan<Empty>();
        _ = new Chan<Empty>(1);
        _ = new Chan<ValueTuple>();
        var buffered = new Chan<ValueTuple>(1);
        // Go only makes the channels; using one checks they work, not only that they can be made.
        await buffered.SendAsync(default).Within();
        Assert.Equal(1, buffered.Len);
        var (_, ok) = await buffered.ReceiveOkAsync().Within();
        Assert.True(ok);
    }
}
