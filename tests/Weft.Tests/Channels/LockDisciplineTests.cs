using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// STYLE 9: no continuation runs under a channel lock. The waiter below resumes through a SynchronizationContext
/// that runs callbacks inline, in the waker's thread; its continuation then needs the same channel from another
/// thread. If the waker still held the channel's lock, that thread could never finish: the Join would time out.
/// </summary>
public sealed class LockDisciplineTests
{
    private sealed class InlineContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => d(state);
    }

    private static bool OtherThreadUses(Chan<int> ch)
    {
        var t = new Thread(() => ch.TryReceive(out _)) { IsBackground = true };
        t.Start();
        return t.Join(TimeSpan.FromSeconds(10));
    }

    private static void ParkWithInlineContext(Action park)
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new InlineContext());
        try { park(); }
        finally { SynchronizationContext.SetSynchronizationContext(previous); }
    }

    [Fact]
    public void A_hand_off_wakes_the_receiver_after_releasing_the_lock()
    {
        var ch = new Chan<int>();
        bool? joined = null;
        ParkWithInlineContext(() => ch.ReceiveAsync().GetAwaiter().OnCompleted(() => joined = OtherThreadUses(ch)));
        Assert.True(ch.TrySend(1));
        Assert.True(joined);
    }

    [Fact]
    public void Close_wakes_waiters_after_releasing_the_lock()
    {
        var ch = new Chan<int>();
        bool? joined = null;
        ParkWithInlineContext(() => ch.ReceiveAsync().GetAwaiter().OnCompleted(() => joined = OtherThreadUses(ch)));
        ch.Close();
        Assert.True(joined);
    }

    [Fact]
    public void A_select_is_woken_after_the_completer_releases_the_lock()
    {
        var ch = new Chan<int>();
        var other = new Chan<int>();
        var sel = new Select();
        sel.Receive(ch);
        sel.Receive(other);
        bool? joined = null;
        ParkWithInlineContext(() => sel.WaitAsync().GetAwaiter().OnCompleted(() => joined = OtherThreadUses(ch) && OtherThreadUses(other)));
        Assert.True(ch.TrySend(1));
        Assert.True(joined);
    }
}
