// IpcProtocolException — the bytes on an IPC stream are not what Weft's framing allows (Framing/FrameFormat.cs):
// a hello that does not match, a frame longer than the maximum, an unknown frame kind, a payload the codec cannot
// decode, or an error frame from the peer. The endpoint that saw it is closed with it as its Error.

namespace Weft.Ipc;

/// <summary>
/// An IPC stream broke Weft's framing: a hello frame that does not match (another codec, version or maximum frame
/// size: the message names both sides), a frame longer than the maximum, an unknown frame kind, a payload the codec
/// cannot decode, or an error frame sent by the peer. The endpoint is closed, and this is its <c>Error</c>.
/// </summary>
/// <example><code>
/// var (v, ok) = await receiver.Channel.ReceiveOkAsync();
/// if (!ok &amp;&amp; receiver.Error is IpcProtocolException e) Console.Error.WriteLine("bad peer: " + e.Message);
/// </code></example>
public sealed class IpcProtocolException : IOException
{
    /// <summary>Creates the exception with <paramref name="message"/>, which says what was wrong and what is allowed.</summary>
    /// <param name="message">The message.</param>
    public IpcProtocolException(string message)
        : base(message)
    {
    }
}
