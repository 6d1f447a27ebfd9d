// PeerLostException — the other end of an IPC endpoint went away without saying goodbye: end of file (or a reset)
// with no close frame before it. A peer that closes its endpoint sends a close frame first, so this is a crash, a
// kill, or a peer that is not speaking Weft's framing. IpcFraming.cs writes the exact rule down.

namespace Weft.Ipc;

/// <summary>
/// The peer of an IPC endpoint was lost: the stream ended (end of file, or a connection reset) without a close
/// frame, for example because the peer process crashed or was killed. The receive channel is then closed
/// (receives return <c>ok = false</c> once drained) and its endpoint's <c>Error</c> holds this exception.
/// </summary>
/// <example><code>
/// var (v, ok) = await endpoint.Channel.ReceiveOkAsync();
/// if (!ok &amp;&amp; endpoint.Error is PeerLostException lost) Console.Error.WriteLine(lost.Message);
/// </code></example>
public sealed class PeerLostException : IOException
{
    /// <summary>Creates the exception with <paramref name="message"/>, which says which endpoint lost its peer and how.</summary>
    /// <param name="message">The message.</param>
    public PeerLostException(string message)
        : base(message)
    {
    }
}
