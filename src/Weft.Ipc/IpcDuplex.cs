// IpcDuplex<T> — both directions of one connected socket: a sender and a receiver over the same descriptor, which
// is closed when both are done (Streams/StreamConnection.cs).

namespace Weft.Ipc;

/// <summary>One end of a two-way IPC connection: a <see cref="Sender"/> and a <see cref="Receiver"/> over one socket.</summary>
/// <typeparam name="T">The element type.</typeparam>
/// <example><code>
/// var (a, b) = IpcSocketPair.Create(IpcCodec.Unmanaged&lt;int&gt;());
/// await a.Sender.Channel.SendAsync(1);
/// int one = await b.Receiver.Channel.ReceiveAsync();
/// </code></example>
public sealed class IpcDuplex<T> : IDisposable
{
    internal IpcDuplex(IpcSender<T> sender, IpcReceiver<T> receiver)
    {
        Sender = sender;
        Receiver = receiver;
    }

    /// <summary>The sending direction.</summary>
    public IpcSender<T> Sender { get; }

    /// <summary>The receiving direction.</summary>
    public IpcReceiver<T> Receiver { get; }

    /// <summary>Disposes both directions (the sender sends its close frame first).</summary>
    public void Dispose()
    {
        Sender.Dispose();
        Receiver.Dispose();
    }
}
