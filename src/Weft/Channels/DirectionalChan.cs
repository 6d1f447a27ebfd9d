// ReceiveOnlyChan<T> and SendOnlyChan<T> — Go's directional channel types (`<-chan T`, `chan<- T`).
//
// Go APIs hand out a channel with one direction taken away: a generator returns `<-chan T`, so its callers cannot
// send on it or close it; a worker takes `chan<- T`, so it cannot steal the results. The compiler enforces it, and a
// `chan T` converts implicitly to either. Here: two readonly structs around the Chan<T>, each exposing only its half
// (C# cannot spell `<-chan`), with an implicit conversion from Chan<T> and none back, as in Go. Structs, so the
// direction costs no allocation and every call forwards to the channel through an inlinable wrapper.
//
// The default value of either struct is Go's nil channel: a select case on it is never ready. Any other operation on
// it throws InvalidOperationException rather than blocking forever (which is what Go does, and what a .NET user would
// take for a hang). Equality is the channel's identity, as Go's channel comparison.
// Left as it is: a select case handle's Channel property returns the channel itself (so setting it to null disables
// the case, Go's idiom), which hands the bidirectional channel back to whoever holds the case.

using System.Runtime.CompilerServices;

namespace Weft;

/// <summary>
/// A channel that can only be received from (Go's <c>&lt;-chan T</c>): hand it out so callers cannot send on the
/// channel or close it. Converts implicitly from <see cref="Chan{T}"/>; there is no conversion back.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <remarks>The default value is Go's nil channel: never ready in a select; every other operation throws <see cref="InvalidOperationException"/>.</remarks>
/// <example><code>
/// static ReceiveOnlyChan&lt;int&gt; Count(int n)
/// {
///     var ch = new Chan&lt;int&gt;();
///     Go.Run(async () =&gt; { for (int i = 0; i &lt; n; i++) await ch.SendAsync(i); ch.Close(); });
///     return ch;
/// }
/// await foreach (int i in Count(3)) Console.WriteLine(i);
/// </code></example>
public readonly struct ReceiveOnlyChan<T> : IEquatable<ReceiveOnlyChan<T>>, IAsyncEnumerable<T>
{
    private readonly Chan<T>? _channel;

    /// <summary>Wraps <paramref name="channel"/> (null: Go's nil channel).</summary>
    /// <param name="channel">The channel to receive from.</param>
    public ReceiveOnlyChan(Chan<T>? channel) => _channel = channel;

    /// <summary>Go's implicit conversion of a bidirectional channel to a receive-only one.</summary>
    /// <param name="channel">The channel.</param>
    public static implicit operator ReceiveOnlyChan<T>(Chan<T>? channel) => new(channel);

    internal Chan<T>? Channel => _channel;

    private Chan<T> Ch
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _channel ?? throw NilChannel();
    }

    internal static InvalidOperationException NilChannel() =>
        new("This directional channel is the default (Go's nil channel): it has no channel to use. Only a select case on it is allowed (never ready).");

    /// <summary>True for the default value (Go's nil channel).</summary>
    public bool IsNil => _channel is null;

    /// <inheritdoc cref="Chan{T}.Len"/>
    public int Len => Ch.Len;

    /// <inheritdoc cref="Chan{T}.Capacity"/>
    public int Capacity => Ch.Capacity;

    /// <inheritdoc cref="Chan{T}.IsClosed"/>
    public bool IsClosed => Ch.IsClosed;

    /// <inheritdoc cref="Chan{T}.ReceiveAsync"/>
    public ValueTask<T?> ReceiveAsync(CancellationToken cancellationToken = default) => Ch.ReceiveAsync(cancellationToken);

    /// <inheritdoc cref="Chan{T}.ReceiveOkAsync"/>
    public ValueTask<(T? Value, bool Ok)> ReceiveOkAsync(CancellationToken cancellationToken = default) => Ch.ReceiveOkAsync(cancellationToken);

    /// <inheritdoc cref="Chan{T}.Receive(CancellationToken)"/>
    public T? Receive(CancellationToken cancellationToken = default) => Ch.Receive(cancellationToken);

    /// <inheritdoc cref="Chan{T}.Receive(out bool, CancellationToken)"/>
    public T? Receive(out bool ok, CancellationToken cancellationToken = default) => Ch.Receive(out ok, cancellationToken);

    /// <inheritdoc cref="Chan{T}.TryReceive(out T)"/>
    public bool TryReceive([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value) => Ch.TryReceive(out value);

    /// <inheritdoc cref="Chan{T}.TryReceive(out T, out bool)"/>
    public bool TryReceive(out T? value, out bool ok) => Ch.TryReceive(out value, out ok);

    /// <inheritdoc cref="Chan{T}.GetAsyncEnumerator"/>
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) => Ch.GetAsyncEnumerator(cancellationToken);

    /// <inheritdoc cref="Chan{T}.AsChannelReader"/>
    public System.Threading.Channels.ChannelReader<T> AsChannelReader() => Ch.AsChannelReader();

    /// <summary>True if both wrap the same channel (Go's channel comparison), or both are nil.</summary>
    /// <param name="other">The other channel.</param>
    /// <returns>Whether they are the same channel.</returns>
    public bool Equals(ReceiveOnlyChan<T> other) => ReferenceEquals(_channel, other._channel);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ReceiveOnlyChan<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => RuntimeHelpers.GetHashCode(_channel);

    /// <summary>Same channel.</summary>
    /// <param name="left">One channel.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are the same channel.</returns>
    public static bool operator ==(ReceiveOnlyChan<T> left, ReceiveOnlyChan<T> right) => left.Equals(right);

    /// <summary>Not the same channel.</summary>
    /// <param name="left">One channel.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(ReceiveOnlyChan<T> left, ReceiveOnlyChan<T> right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => _channel is null ? $"<-Chan<{typeof(T).Name}>(nil)" : "<-" + _channel;
}

/// <summary>
/// A channel that can only be sent to, and closed (Go's <c>chan&lt;- T</c>): hand it to producers so they cannot
/// receive the values. Converts implicitly from <see cref="Chan{T}"/>; there is no conversion back.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <remarks>The default value is Go's nil channel: never ready in a select; every other operation throws <see cref="InvalidOperationException"/>.</remarks>
/// <example><code>
/// static async Task Produce(SendOnlyChan&lt;int&gt; output)
/// {
///     for (int i = 0; i &lt; 3; i++) await output.SendAsync(i);
///     output.Close();
/// }
/// </code></example>
public readonly struct SendOnlyChan<T> : IEquatable<SendOnlyChan<T>>
{
    private readonly Chan<T>? _channel;

    /// <summary>Wraps <paramref name="channel"/> (null: Go's nil channel).</summary>
    /// <param name="channel">The channel to send to.</param>
    /// <exception cref="InvalidOperationException"><paramref name="channel"/> is a receive-only timer channel.</exception>
    public SendOnlyChan(Chan<T>? channel)
    {
        if (channel is { IsReceiveOnly: true }) Weft.Channels.ThrowHelper.ReceiveOnly();
        _channel = channel;
    }

    /// <summary>Go's implicit conversion of a bidirectional channel to a send-only one.</summary>
    /// <param name="channel">The channel.</param>
    /// <exception cref="InvalidOperationException"><paramref name="channel"/> is a receive-only timer channel.</exception>
    public static implicit operator SendOnlyChan<T>(Chan<T>? channel) => new(channel);

    internal Chan<T>? Channel => _channel;

    private Chan<T> Ch
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _channel ?? throw ReceiveOnlyChan<T>.NilChannel();
    }

    /// <summary>True for the default value (Go's nil channel).</summary>
    public bool IsNil => _channel is null;

    /// <inheritdoc cref="Chan{T}.Len"/>
    public int Len => Ch.Len;

    /// <inheritdoc cref="Chan{T}.Capacity"/>
    public int Capacity => Ch.Capacity;

    /// <inheritdoc cref="Chan{T}.IsClosed"/>
    public bool IsClosed => Ch.IsClosed;

    /// <inheritdoc cref="Chan{T}.SendAsync"/>
    public ValueTask SendAsync(T value, CancellationToken cancellationToken = default) => Ch.SendAsync(value, cancellationToken);

    /// <inheritdoc cref="Chan{T}.Send"/>
    public void Send(T value, CancellationToken cancellationToken = default) => Ch.Send(value, cancellationToken);

    /// <inheritdoc cref="Chan{T}.TrySend"/>
    public bool TrySend(T value) => Ch.TrySend(value);

    /// <inheritdoc cref="Chan{T}.Close"/>
    public void Close() => Ch.Close();

    /// <inheritdoc cref="Chan{T}.AsChannelWriter"/>
    public System.Threading.Channels.ChannelWriter<T> AsChannelWriter() => Ch.AsChannelWriter();

    /// <summary>True if both wrap the same channel (Go's channel comparison), or both are nil.</summary>
    /// <param name="other">The other channel.</param>
    /// <returns>Whether they are the same channel.</returns>
    public bool Equals(SendOnlyChan<T> other) => ReferenceEquals(_channel, other._channel);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SendOnlyChan<T> other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => RuntimeHelpers.GetHashCode(_channel);

    /// <summary>Same channel.</summary>
    /// <param name="left">One channel.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are the same channel.</returns>
    public static bool operator ==(SendOnlyChan<T> left, SendOnlyChan<T> right) => left.Equals(right);

    /// <summary>Not the same channel.</summary>
    /// <param name="left">One channel.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(SendOnlyChan<T> left, SendOnlyChan<T> right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => _channel is null ? $"Chan<{typeof(T).Name}><-(nil)" : _channel + "<-";
}
