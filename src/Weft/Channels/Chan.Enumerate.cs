// Chan<T> as IAsyncEnumerable: `await foreach` receives until the channel is closed and drained.

using System.Runtime.CompilerServices;

namespace Weft;

public sealed partial class Chan<T> : IAsyncEnumerable<T>
{
    /// <summary>Receives values until the channel is closed and drained (Go's <c>for v := range ch</c>).</summary>
    /// <param name="cancellationToken">Ends the enumeration with <see cref="OperationCanceledException"/>; no value is lost.</param>
    /// <returns>The enumerator.</returns>
    /// <example><code>await foreach (var v in ch) Console.WriteLine(v);</code></example>
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) => new Enumerator(this, cancellationToken);

    private sealed class Enumerator(Chan<T> channel, CancellationToken token) : IAsyncEnumerator<T>
    {
        public T Current { get; private set; } = default!;

        public ValueTask<bool> MoveNextAsync()
        {
            if (channel.IsTransport && !token.CanBeCanceled)
            {
                // An IPC endpoint: a try here would ask the kernel, and the receive would ask again before it parks,
                // one read(2) that finds EAGAIN per value more than needed. The receive alone asks once, or not at
                // all when a goroutine commits its park after a drain (Chan.Transport.cs, TryReceiveBeforeParkLocked).
                // Only without a token: with one, a token cancelled at the call would win over a ready value, where
                // the try lets the value win.
                var receive = channel.ReceiveOkAsync();
                if (!receive.IsCompletedSuccessfully) return Slow(receive);
                var (value, received) = receive.Result;
                Current = value!;
                return new ValueTask<bool>(received);
            }
            if (channel.TryReceive(out var v, out bool ok))
            {
                Current = v!; // default only when ok is false, and then MoveNextAsync returns false
                return new ValueTask<bool>(ok);
            }
            return Slow(channel.ReceiveOkAsync(token));
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> Slow(ValueTask<(T? Value, bool Ok)> receive)
        {
            var (v, ok) = await receive;
            Current = v!;
            return ok;
        }

        public ValueTask DisposeAsync() => default;
    }
}
