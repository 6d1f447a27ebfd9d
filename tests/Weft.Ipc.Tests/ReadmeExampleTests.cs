using Weft.Tests;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>The README's processes example, run as written, so what a user copies works.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public async Task TheProcessesExample()
    {
        var printed = new List<long>();
        async Task Example()
        {
            var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged<long>());
            using (sender)
            using (receiver)
            {
                var local = new Chan<long>();
                await sender.Channel.SendAsync(42);

                var sel = new Select();
                var fromPipe = sel.Receive(receiver.Channel);
                var fromLocal = sel.Receive(local);
                if (await sel.WaitAsync() == fromPipe.Index) printed.Add(fromPipe.Value);
                Assert.NotEqual(fromPipe.Index, fromLocal.Index);
            }
        }
        await Example().Within();
        Assert.Equal([42L], printed);
    }
}
