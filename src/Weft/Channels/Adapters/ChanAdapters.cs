// ChanReader / ChanWriter — a Chan<T> seen through System.Threading.Channels' abstract reader and writer, so code
// written against them (ASP.NET Core and SignalR streaming, pipelines, libraries that take a ChannelReader<T>) can
// consume or feed a Weft channel, and a goroutine can sit on the other end.
//
// The mapping keeps each side's rules: TryRead/TryWrite are Go's non-blocking receive/send; ReadAsync/WriteAsync are
// the channel's receive/send, failing with System.Threading.Channels.ChannelClosedException once completed (Weft's own
// API returns default/ok=false, Go's rule); WaitToReadAsync/WaitToWriteAsync wait for readiness without taking or
// giving anything (Chan.Ready.cs), so an unbuffered channel stays a rendezvous: a sender completes only when somebody
// actually reads. Complete(error) is Close, and the error faults Completion, the waits and the reads, as in the BCL.
// Internal: Chan<T>.AsChannelReader/AsChannelWriter return the BCL's base types, which is all a caller needs; the
// mapping is documented on those two methods.

using System.Threading.Channels;
using Weft.Channels;

namespace Weft;

/// <summary>
/// A <see cref="Chan{T}"/> as a <see cref="ChannelReader{T}"/> (from <see cref="Chan{T}.AsChannelReader"/>).
/// <see cref="TryRead"/> is <see cref="Chan{T}.TryReceive(out T)"/>; <see cref="ReadAsync"/> receives and throws
/// <see cref="System.Threading.Channels.ChannelClosedException"/> once the channel is closed and drained;
/// <see cref="WaitToReadAsync"/> waits until a receive could proceed without taking the value; <see cref="Completion"/>
/// completes once the channel is closed and drained. Cancellation is exact, as for the channel: a cancelled read or
/// wait consumed nothing.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <example><code>
/// var ch = new Chan&lt;int&gt;(16);
/// Go.Run(async () =&gt; { for (int i = 0; i &lt; 3; i++) await ch.SendAsync(i); ch.Close(); });
/// await foreach (int v in ch.AsChannelReader().ReadAllAsync()) Console.WriteLine(v);
/// </code></example>
internal sealed class ChanReader<T> : ChannelReader<T>
{
    private readonly Chan<T> _channel;

    internal ChanReader(Chan<T> channel) => _channel = channel;

    /// <summary>Completes once the channel is closed and every buffered value was received; faulted with the writer's error, if it completed with one.</summary>
    public override Task Completion => _channel.Completion;

    /// <summary>True: <see cref="Count"/> is the channel's <see cref="Chan{T}.Len"/>.</summary>
    public override bool CanCount => true;

    /// <summary>The number of values buffered now (always 0 for an unbuffered channel).</summary>
    public override int Count => _channel.Len;

    /// <summary>True: <see cref="TryPeek"/> shows the next value without taking it.</summary>
    public override bool CanPeek => true;

    /// <summary>Receives a value if one is available now (a buffered value, or a parked sender's).</summary>
    /// <param name="item">The value, or <c>default</c>.</param>
    /// <returns>False if no value is available now, or the channel is closed and drained.</returns>
    public override bool TryRead([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T item) => _channel.TryReceive(out item);

    /// <summary>Shows the value the next receive would take, without taking it.</summary>
    /// <param name="item">The value, or <c>default</c>.</param>
    /// <returns>False if no value is available now.</returns>
    public override bool TryPeek([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T item) => _channel.TryPeek(out item);

    /// <summary>Waits until a value can be read, without reading it.</summary>
    /// <param name="cancellationToken">Gives up the wait (then nothing was consumed).</param>
    /// <returns>True when a value is available (another reader may still take it first); false once the channel is closed and drained.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    /// <remarks>Allocates nothing in steady state when <paramref name="cancellationToken"/> cannot be cancelled. If the writer completed with an error, the wait throws it.</remarks>
    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => _channel.WaitToReadAsync(cancellationToken);

    /// <summary>Receives a value, waiting while none is available.</summary>
    /// <param name="cancellationToken">Gives up the read; a cancelled read consumed nothing.</param>
    /// <returns>The value.</returns>
    /// <exception cref="System.Threading.Channels.ChannelClosedException">The channel is closed and drained (inner exception: the writer's error, if any).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before a value arrived.</exception>
    public override ValueTask<T> ReadAsync(CancellationToken cancellationToken = default) => _channel.ReadForAdapterAsync(cancellationToken);
}

/// <summary>
/// A <see cref="Chan{T}"/> as a <see cref="ChannelWriter{T}"/> (from <see cref="Chan{T}.AsChannelWriter"/>).
/// <see cref="TryWrite"/> is Go's non-blocking send (false when it would wait, or the channel is closed);
/// <see cref="WriteAsync"/> sends and throws <see cref="System.Threading.Channels.ChannelClosedException"/> on a
/// closed channel; <see cref="WaitToWriteAsync"/> waits until a send could proceed; <see cref="TryComplete"/> closes
/// the channel (Weft receivers then see ok = false; adapter readers see the error, if one is given).
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <example><code>
/// ChannelWriter&lt;string&gt; w = lines.AsChannelWriter();
/// await w.WriteAsync("hello");
/// w.Complete();
/// </code></example>
internal sealed class ChanWriter<T> : ChannelWriter<T>
{
    private readonly Chan<T> _channel;

    internal ChanWriter(Chan<T> channel) => _channel = channel;

    /// <summary>Sends if a receiver or buffer space can take the value now.</summary>
    /// <param name="item">The value.</param>
    /// <returns>False if the send would have to wait, or the channel is closed.</returns>
    public override bool TryWrite(T item) => _channel.TrySendStatus(item) == OpStatus.Done;

    /// <summary>Waits until a value can be written (buffer space, or a parked receiver), without writing one.</summary>
    /// <param name="cancellationToken">Gives up the wait.</param>
    /// <returns>True when a write could proceed (another writer may still take the space first); false once the channel is closed.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    /// <remarks>Allocates nothing in steady state when <paramref name="cancellationToken"/> cannot be cancelled. If the channel was completed with an error, the wait throws it.</remarks>
    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => _channel.WaitToWriteAsync(cancellationToken);

    /// <summary>Sends a value, waiting while no receiver or buffer space can take it.</summary>
    /// <param name="item">The value.</param>
    /// <param name="cancellationToken">Gives up the write; a cancelled write delivered nothing.</param>
    /// <returns>A task that completes when the value was taken (unbuffered) or buffered.</returns>
    /// <exception cref="System.Threading.Channels.ChannelClosedException">The channel is closed, or closed while the write waited.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the value was taken.</exception>
    public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default) => _channel.WriteForAdapterAsync(item, cancellationToken);

    /// <summary>Closes the channel, recording <paramref name="error"/> for the adapter's readers.</summary>
    /// <param name="error">Null for a normal completion; otherwise the error that <see cref="ChanReader{T}.Completion"/>, the waits and the reads report.</param>
    /// <returns>False if the channel was already closed.</returns>
    public override bool TryComplete(Exception? error = null) => _channel.TryCloseWith(error);
}
