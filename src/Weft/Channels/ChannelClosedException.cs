namespace Weft;

/// <summary>
/// Thrown by a send on a closed channel, and by closing a channel twice: the two operations on which Go panics
/// ("send on closed channel", "close of closed channel"). A receive never throws it: on a closed and drained channel
/// a receive returns the default value with ok = false.
/// </summary>
/// <example><code>
/// ch.Close();
/// try { await ch.SendAsync(1); } catch (ChannelClosedException) { /* a programming error, as in Go */ }
/// </code></example>
public sealed class ChannelClosedException : InvalidOperationException
{
    /// <summary>Creates the exception with the default message.</summary>
    public ChannelClosedException() : base("The channel is closed.") { }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">What went wrong.</param>
    public ChannelClosedException(string message) : base(message) { }

    /// <summary>Creates the exception with <paramref name="message"/> and an inner exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ChannelClosedException(string message, Exception innerException) : base(message, innerException) { }
}
