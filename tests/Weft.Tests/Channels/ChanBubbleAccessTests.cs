using Weft.Testing;
using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// A channel made in a bubble belongs to it: every operation from outside is refused with a clear error and leaves
/// the channel as it was. Each operation here could complete at once, so a missing check shows as a success.
/// </summary>
public sealed class ChanBubbleAccessTests
{
    private static async Task<Chan<int>> MadeInABubble()
    {
        Chan<int>? ch = null;
        await Bubble.Run(() =>
        {
            ch = new Chan<int>(4);
            Assert.True(ch.TrySend(1)); // one value to receive, three free slots to send into
            return Task.CompletedTask;
        }, seed: 3).Within();
        return ch!;
    }

    public static TheoryData<string> Forms() =>
    [
        "SendAsync", "Send", "TrySend", "ReceiveAsync", "ReceiveOkAsync", "Receive", "Receive(out ok)",
        "TryReceive", "TryReceive(out ok)", "Close",
    ];

    [Theory]
    [MemberData(nameof(Forms))]
    public async Task Every_operation_from_outside_its_bubble_is_refused_and_changes_nothing(string form)
    {
        var ch = await MadeInABubble();
        Action op = form switch
        {
            "SendAsync" => () => _ = ch.SendAsync(2),
            "Send" => () => ch.Send(2),
            "TrySend" => () => ch.TrySend(2),
            "ReceiveAsync" => () => _ = ch.ReceiveAsync(),
            "ReceiveOkAsync" => () => _ = ch.ReceiveOkAsync(),
            "Receive" => () => ch.Receive(),
            "Receive(out ok)" => () => ch.Receive(out _),
            "TryReceive" => () => ch.TryReceive(out _),
            "TryReceive(out ok)" => () => ch.TryReceive(out _, out _),
            "Close" => ch.Close,
            _ => throw new ArgumentException(form),
        };
        var e = Assert.Throws<InvalidOperationException>(op);
        Assert.Contains("belongs to a Weft bubble (seed 3)", e.Message);
        Assert.Equal(1, ch.Len);
        Assert.False(ch.IsClosed);
    }
}
