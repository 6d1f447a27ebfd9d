using System.Reflection;
using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/perm.go</c>, a compile-error test of directional channels. What Go's compiler rejects,
/// Weft rejects by leaving the member or conversion out, so each rejected line becomes a check that it is absent;
/// each line Go accepts is written out and run.
/// </summary>
public sealed class ChanPerm
{
    private static readonly Type Bi = typeof(Chan<int>), Recv = typeof(ReceiveOnlyChan<int>), Send = typeof(SendOnlyChan<int>);

    private static IEnumerable<MethodInfo> Methods(Type t) =>
        t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static);

    // A user-defined conversion (implicit or explicit) from one type to another, declared on either.
    private static bool Converts(Type from, Type to) =>
        Methods(from).Concat(Methods(to)).Any(m =>
            m.Name is "op_Implicit" or "op_Explicit" && m.ReturnType == to && m.GetParameters()[0].ParameterType == from);

    [Fact]
    public async Task perm()
    {
        var c = new Chan<int>(1);
        ReceiveOnlyChan<int> cr = c; // ok
        SendOnlyChan<int> cs = c;    // ok
        Assert.True(Converts(Bi, Recv) && Converts(Bi, Send));

        // c = cr, c = cs, cr = cs, cs = cr: errors.
        Assert.False(Converts(Recv, Bi));
        Assert.False(Converts(Send, Bi));
        Assert.False(Converts(Send, Recv));
        Assert.False(Converts(Recv, Send));
        Assert.False(Recv.IsAssignableTo(Bi) || Send.IsAssignableTo(Bi) || Send.IsAssignableTo(Recv) || Recv.IsAssignableTo(Send));

        c.Send(0);           // ok
        c.Receive();         // ok
        c.Send(0);
        _ = c.Receive(out bool ok); // ok
        Assert.True(ok);

        // cr <- 0: error. <-cr, x, ok = <-cr: ok.
        Assert.DoesNotContain(Methods(Recv), m => m.Name.Contains("Send") || m.Name == "AsChannelWriter");
        c.Send(0);
        cr.Receive();
        c.Send(0);
        _ = cr.Receive(out ok);
        Assert.True(ok);

        // cs <- 0: ok. <-cs, x, ok = <-cs: errors.
        Assert.DoesNotContain(Methods(Send), m => m.Name.Contains("Receive") || m.Name == "AsChannelReader");
        cs.Send(0);
        c.Receive();

        // In a select: c <- 0, <-c, <-cr, cs <- 0 are ok; cr <- 0 and <-cs are errors (no Select overload takes them,
        // and neither converts to a type one does).
        Assert.DoesNotContain(Methods(typeof(Select)), m => m.Name == "Send" && m.GetParameters()[0].ParameterType.GetGenericTypeDefinition() == typeof(ReceiveOnlyChan<>));
        Assert.DoesNotContain(Methods(typeof(Select)), m => m.Name == "Receive" && m.GetParameters()[0].ParameterType.GetGenericTypeDefinition() == typeof(SendOnlyChan<>));
        var sel = new Select();
        var sendC = sel.Send(c, 0);
        var recvC = sel.Receive(c);
        var recvCr = sel.Receive(cr);
        var sendCs = sel.Send(cs, 0);
        int chosen = await sel.WaitAsync().Within(); // the buffer is empty: only a send is ready
        Assert.True(chosen == sendC.Index || chosen == sendCs.Index, $"chose case {chosen}");
        chosen = await sel.WaitAsync().Within(); // the buffer is full: only a receive is ready
        Assert.True(chosen == recvC.Index || chosen == recvCr.Index, $"chose case {chosen}");

        // for range cs: error (a send-only channel cannot be enumerated).
        Assert.False(Send.IsAssignableTo(typeof(IAsyncEnumerable<int>)));
        Assert.DoesNotContain(Methods(Send), m => m.Name == "GetAsyncEnumerator");

        // close(c), close(cs): ok; close(cr): error.
        Assert.DoesNotContain(Methods(Recv), m => m.Name == "Close");
        var other = new Chan<int>();
        other.Close(); // close(c), on a channel of its own: closing one twice panics in Go and throws here
        Assert.True(other.IsClosed);
        cs.Close();
        Assert.True(cr.IsClosed);
    }
}
