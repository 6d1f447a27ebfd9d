using System.Diagnostics.CodeAnalysis;

namespace Weft.Channels;

/// <summary>Throws from small non-inlined helpers so the hot channel methods stay small and inlinable (STYLE 11).</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ChannelClosed() => throw new ChannelClosedException("Send on a closed channel.");

    /// <summary>What System.Threading.Channels throws for a read or write on a completed channel, with the completion's error inside.</summary>
    [DoesNotReturn]
    public static void AdapterClosed<T>(Chan<T> channel) => throw AdapterClosedException(channel);

    public static Exception AdapterClosedException<T>(Chan<T> channel) =>
        channel.CloseError is { } error
            ? new System.Threading.Channels.ChannelClosedException(error)
            : new System.Threading.Channels.ChannelClosedException();

    [DoesNotReturn]
    public static void ClosedTwice() => throw new ChannelClosedException("Close of a closed channel.");

    [DoesNotReturn]
    public static void ReceiveOnly() => throw new InvalidOperationException("This channel is receive-only: a timer or ticker channel is written only by its timer, an IPC receive endpoint only by its peer (dispose the endpoint to release it).");

    [DoesNotReturn]
    public static void StaleValueTask() => throw new InvalidOperationException("This ValueTask from a Weft channel was already awaited; a ValueTask may be awaited only once.");

    [DoesNotReturn]
    public static void NotCompleted() => throw new InvalidOperationException("A Weft channel ValueTask was read before it completed; await it (or call AsTask()) instead of blocking on it.");

    [DoesNotReturn]
    public static void BadCapacity(int capacity) =>
        throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
            $"A channel's capacity must be zero (unbuffered) or positive (buffered), and at most Array.MaxLength ({Array.MaxLength}); it was {capacity}.");

    [SuppressMessage("Usage", "CA2201", Justification = "Rethrown as the runtime's own OutOfMemoryException, with the channel's capacity in the message and the original as the inner exception.")]
    public static OutOfMemoryException RingTooLarge(Type element, int capacity, OutOfMemoryException inner) =>
        new($"A Chan<{element.Name}> with capacity {capacity} needs a buffer of {capacity} elements, which could not be allocated; "
            + "use a smaller capacity.", inner);
}
