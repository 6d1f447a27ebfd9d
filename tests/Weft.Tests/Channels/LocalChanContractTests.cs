using Xunit;

namespace Weft.Tests.Channels;

// The local flavours of the channel contract (ChanContractTests.cs): each gives the same channel as both sides.
// The IPC flavours are in tests/Weft.Ipc.Tests/TransportContractTests.cs.

public sealed class UnbufferedChanTests : ChanContractTests
{
    protected override Ends Make() => Ends.Local(new Chan<int>(0));

    protected override bool Rendezvous => true;

    [Fact]
    public void Unbuffered_send_with_no_receiver_is_not_ready()
    {
        var ch = Make().Tx;
        Assert.False(ch.TrySend(1));
        Assert.Equal(0, ch.Capacity);
        Assert.Equal(0, ch.Len);
    }
}

public sealed class BufferedOneChanTests : ChanContractTests
{
    protected override Ends Make() => Ends.Local(new Chan<int>(1));
}

public sealed class BufferedChanTests : ChanContractTests
{
    protected override Ends Make() => Ends.Local(new Chan<int>(16));

    [Fact]
    public async Task Buffered_values_are_still_received_after_close()
    {
        var ch = Make().Tx;
        for (int i = 0; i < 5; i++) Assert.True(ch.TrySend(i));
        Assert.Equal(5, ch.Len);
        Assert.Equal(16, ch.Capacity);
        ch.Close();
        for (int i = 0; i < 5; i++) Assert.Equal((i, true), await ch.ReceiveOkAsync().Within());
        Assert.Equal((0, false), await ch.ReceiveOkAsync().Within());
    }
}

public sealed class ChanConstructionTests
{
    [Fact]
    public void Negative_capacity_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Chan<int>(-1));
        Assert.Equal("capacity", e.ParamName);
    }

    [Fact]
    public void A_capacity_beyond_the_largest_array_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Chan<int>(int.MaxValue));
        Assert.Equal("capacity", e.ParamName);
        Assert.Contains(int.MaxValue.ToString(), e.Message);
        Assert.Contains(Array.MaxLength.ToString(), e.Message);
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Size = 1 << 15)]
    private struct Huge { }

    [Fact]
    public void A_buffer_too_large_to_allocate_is_an_error_naming_the_capacity()
    {
        // 2^31 slots of 32 KB: more than any address space. The runtime's bare OutOfMemoryException is wrapped in
        // one that says which channel could not be made.
        var e = Assert.Throws<OutOfMemoryException>(() => new Chan<Huge>(Array.MaxLength));
        Assert.Contains(Array.MaxLength.ToString(), e.Message);
        Assert.Contains("Huge", e.Message);
        Assert.NotNull(e.InnerException);
    }

    [Fact]
    public void A_buffered_sender_blocks_only_when_the_buffer_is_full()
    {
        var ch = new Chan<int>(3);
        Assert.True(ch.TrySend(1));
        Assert.True(ch.TrySend(2));
        Assert.True(ch.TrySend(3));
        Assert.False(ch.TrySend(4));
        Assert.Equal(3, ch.Len);
    }
}
